#!/bin/bash
# A seer sweep as a Slurm job array: one array task per shard.
#
#   sbatch --array=0-7 docs/examples/slurm-sweep.sh docs/examples/sweep-real.json /shared/sweeps/syco
#
# Every task runs `seer sweep --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`
# into its own directory on the shared filesystem (two processes never share
# one sweep directory: seer refuses that with a lock).  A task that dies (node
# failure, time limit, scancel) is simply run again with the same command: it
# resumes its shard.  When every task is done, combine the shards:
#
#   seer merge /shared/sweeps/syco/shard-* --out /shared/sweeps/syco/merged
#
# or let Slurm do it with a dependent job:
#
#   jid=$(sbatch --parsable --array=0-7 docs/examples/slurm-sweep.sh FILE DIR)
#   sbatch --dependency=afterok:$jid --wrap "seer merge DIR/shard-* --out DIR/merged"
#
#SBATCH --job-name=seer-sweep
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=24:00:00
#SBATCH --output=seer-sweep-%A_%a.log
#SBATCH --requeue
set -euo pipefail

SWEEP_FILE=${1:?usage: slurm-sweep.sh SWEEP_FILE OUT_ROOT}
OUT_ROOT=${2:?usage: slurm-sweep.sh SWEEP_FILE OUT_ROOT}
SEER=${SEER:-seer}

: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=0-(N-1)}"
: "${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array=0-(N-1)}"

# Keys: an env file readable only by you (never put keys in the sweep file).
if [ -f "$HOME/.config/seer/env" ]; then
    set -a; . "$HOME/.config/seer/env"; set +a
fi

mkdir -p "$OUT_ROOT"
shard="$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT"
out="$OUT_ROOT/shard-$SLURM_ARRAY_TASK_ID"

# Exit status: 0 done, 1 some samples failed or remain (run again to resume),
# 2 the sweep or the directory was refused, 128+N interrupted (resumable).
status=0
"$SEER" sweep "$SWEEP_FILE" --out "$out" --shard "$shard" --workers "${SLURM_CPUS_PER_TASK:-4}" -q || status=$?
echo "seer sweep shard $shard -> $out: exit $status"
exit "$status"

/*
 * cmd_archive.c - `seer archive` and `seer verify`: pack a run directory
 * with a SHA-256 manifest, and check (optionally unpack) such an archive.
 *
 *   seer archive OUT [-o FILE]     FILE defaults to OUT.tar.zst (.tar.gz
 *                                  where libarchive lacks zstd); the format
 *                                  follows FILE's extension (.tar.zst,
 *                                  .tar.gz, .zip); an existing directory
 *                                  gets DIR/NAME.tar.zst
 *   seer verify FILE [-x DIR]      recompute every checksum; with -x,
 *                                  extract into DIR when all is well
 *
 * Exit statuses: 0 all good, 1 a failure or any problem found by verify,
 * 2 usage error.
 *
 * DESIGN
 *
 * Both commands run on the main thread and do their work synchronously
 * through transcripts/archive.h; they only turn flags into calls and
 * results into lines and exit statuses.  Problems go to stdout (they are
 * the command's answer), errors to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "transcripts/archive.h"

/* Declared here and in main.c's command table (cli.h lists the original
 * commands). */
int seer_cmd_archive(int argc, char **argv);
int seer_cmd_verify(int argc, char **argv);

static const char archive_usage[] = "seer archive OUT [-o FILE]\n\n"
                                    "Packs every file of the run directory OUT with a "
                                    "MANIFEST.sha256.\nFILE's extension picks the format: "
                                    ".tar.zst (default), .tar.gz, .zip.\nIf FILE is an "
                                    "existing directory, the archive goes inside it.";

int seer_cmd_archive(int argc, char **argv)
{
    const char *out = NULL;
    const seer_cli_opt opts[] = {
        {"output", 'o', SEER_CLI_STR, &out, "FILE", "archive to write (default OUT.tar.zst)", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = seer_cli_parse("archive", archive_usage, opts, argc, argv, pos, 1, &npos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc != 0) return rc;
    if (npos != 1) return seer_cli_usage_error("archive", "expected the run directory OUT");
    char *def = NULL;
    if (!out || !*out) {
        /* OUT.tar.zst beside OUT (OUT.tar.gz where libarchive has no
         * zstd), without OUT's trailing slashes */
        size_t n = strlen(pos[0]);
        while (n > 1 && pos[0][n - 1] == '/')
            n--;
        if (!seer_archive_zstd_ok())
            printf("note: this libarchive cannot write zstd, so the archive is .tar.gz\n");
        if (asprintf(&def, "%.*s%s", (int)n, pos[0],
                     seer_archive_zstd_ok() ? ".tar.zst" : ".tar.gz") < 0) {
            fprintf(stderr, "seer archive: out of memory\n");
            return SEER_EXIT_FAIL;
        }
        out = def;
    }
    seer_error err;
    seer_error_clear(&err);
    seer_archive_stats st;
    char *written = NULL;
    seer_err e = seer_archive_create(pos[0], out, &written, &st, &err);
    free(def);
    if (e != SEER_OK) {
        fprintf(stderr, "seer archive: %s\n", err.msg[0] ? err.msg : seer_strerror(e));
        return SEER_EXIT_FAIL;
    }
    printf("wrote %s: %zu files, %llu bytes, plus %s\n", written, st.files,
           (unsigned long long)st.bytes, SEER_MANIFEST_NAME);
    if (st.zstd_fallback)
        printf("note: this libarchive cannot write zstd, so the archive is .tar.gz\n");
    if (st.skipped)
        printf("left out %zu entries that are not regular files (symlinks, sockets)\n", st.skipped);
    free(written);
    return SEER_EXIT_OK;
}

static const char verify_usage[] = "seer verify FILE [-x DIR]\n\n"
                                   "Checks every file of a seer archive against its "
                                   "MANIFEST.sha256;\nwith -x, extracts it into DIR if "
                                   "nothing is wrong.";

int seer_cmd_verify(int argc, char **argv)
{
    const char *dest = NULL;
    const seer_cli_opt opts[] = {
        {"extract", 'x', SEER_CLI_STR, &dest, "DIR", "extract into DIR after a clean check", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = seer_cli_parse("verify", verify_usage, opts, argc, argv, pos, 1, &npos);
    if (rc == 1) return SEER_EXIT_OK;
    if (rc != 0) return rc;
    if (npos != 1) return seer_cli_usage_error("verify", "expected the archive FILE");
    seer_error err;
    seer_error_clear(&err);
    seer_verify_report rep;
    seer_err e = seer_archive_verify(pos[0], &rep, &err);
    if (e != SEER_OK) {
        fprintf(stderr, "seer verify: %s\n", err.msg[0] ? err.msg : seer_strerror(e));
        return SEER_EXIT_FAIL;
    }
    for (size_t i = 0; i < rep.n_problems; i++)
        printf("%s\n", rep.problems[i]);
    int ok = seer_verify_report_ok(&rep);
    if (ok)
        printf("%s: OK, %zu files match %s\n", pos[0], rep.checked, SEER_MANIFEST_NAME);
    else
        printf("%s: FAILED: %zu missing, %zu not in manifest, %zu mismatched, %zu unsafe, "
               "%zu malformed (%zu files match)\n",
               pos[0], rep.missing, rep.extra, rep.mismatched, rep.unsafe, rep.malformed,
               rep.checked);
    seer_verify_report_free(&rep);
    if (!ok) return SEER_EXIT_FAIL;
    if (dest) {
        e = seer_archive_extract(pos[0], dest, &err);
        if (e != SEER_OK) {
            fprintf(stderr, "seer verify: %s\n", err.msg[0] ? err.msg : seer_strerror(e));
            return SEER_EXIT_FAIL;
        }
        printf("extracted into %s\n", dest);
    }
    return SEER_EXIT_OK;
}

"""Test interface file for seer's expose server (tests/test_sandbox.c)."""
import os
from typing import List, Optional, Literal, Dict


@expose
def add(a: int, b: int = 2) -> int:
    """Adds two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    print("this print must not reach the protocol stream")
    return a + b


@expose(name="describe_model", description="Says where a model lives.")
def model_info(model: str) -> dict:
    return {"path": get_model_path(model)}


@expose
def shapes(names: List[str], scale: float, mode: Literal["fast", "slow"] = "fast",
           note: Optional[str] = None, table: Dict[str, int] = None, flag: bool = False):
    """Exercises schema generation."""
    return {"n": len(names), "mode": mode}


@expose
def fail(message: str):
    """Always raises."""
    raise ValueError(message)


@expose
def env(name: str) -> Optional[str]:
    """Reads an environment variable inside the sandbox."""
    return os.environ.get(name)


@expose
def read(path: str) -> str:
    """Reads a file."""
    with open(path) as f:
        return f.read()


@expose
def write(path: str, text: str) -> int:
    """Writes a file."""
    with open(path, "w") as f:
        return f.write(text)


@expose
def connect(host: str, port: int) -> str:
    """Tries a TCP connection; returns 'connected' or the error."""
    import socket
    try:
        s = socket.create_connection((host, port), timeout=3)
        s.close()
        return "connected"
    except OSError as e:
        return f"refused: {e}"


@expose
def allocate(mb: int) -> int:
    """Allocates mb megabytes."""
    block = bytearray(mb * 1024 * 1024)
    return len(block)


@expose
def spawn(n: int) -> int:
    """Starts n sleeping processes; returns how many started."""
    import subprocess
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen(["sleep", "5"]))
    except OSError:
        pass
    started = len(procs)
    for p in procs:
        p.kill()
        p.wait()
    return started


@expose
def hang(seconds: float = 3600) -> str:
    """Sleeps (a hung server)."""
    import time
    time.sleep(seconds)
    return "woke"


@expose
def crash(code: int = 3) -> str:
    """Exits the whole server mid-call."""
    os._exit(code)


@expose
def pid() -> int:
    """The server's process id (changes after a restart)."""
    return os.getpid()


@expose
def daemon(seconds: int) -> int:
    """Starts a detached background process (its own session) that would
    outlive this server if the sandbox did not kill the whole tree."""
    import subprocess
    p = subprocess.Popen(["sleep", str(seconds)], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    return p.pid


@expose
def spin(seconds: float) -> str:
    """Burns CPU for the given wall time."""
    import time
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return "spun"


@expose
def stray(text: str) -> str:
    """Writes straight to file descriptor 1 (as a C library or a child
    process might) and then answers normally."""
    import subprocess
    os.write(1, b"raw bytes on fd 1\n")
    subprocess.run(["echo", "child output"])
    return text


_inside = [0, 0]  # [running now, most ever running at once]


@expose(exclusive=True)
def alone(seconds: float = 0.3) -> int:
    """Runs alone: returns how many calls of it were ever inside at once."""
    import time
    _inside[0] += 1
    _inside[1] = max(_inside[1], _inside[0])
    time.sleep(seconds)
    _inside[0] -= 1
    return _inside[1]


@expose
def ids() -> dict:
    """The server's uid, gid and supplementary groups."""
    return {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups()}


@expose
def owner(path: str) -> dict:
    """Who owns path, as the server sees it."""
    st = os.stat(path)
    return {"uid": st.st_uid, "gid": st.st_gid}


_held = []


def _my_tasks() -> int:
    """Tasks (threads included: RLIMIT_NPROC counts them) of this uid in
    the sandbox's PID namespace."""
    me, n = os.getuid(), 0
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            if os.stat("/proc/" + p).st_uid == me:
                n += len(os.listdir("/proc/" + p + "/task"))
        except OSError:
            pass
    return n


@expose
def hold(n: int) -> dict:
    """Starts up to n sleeping processes and keeps them; returns how many
    started and how many tasks this uid has now."""
    import subprocess
    started = 0
    try:
        for _ in range(n):
            _held.append(subprocess.Popen(["sleep", "600"]))
            started += 1
    except OSError:
        pass
    return {"started": started, "tasks": _my_tasks()}


@expose
def release() -> int:
    """Stops the processes hold() started; returns how many."""
    n = len(_held)
    for p in _held:
        p.kill()
        p.wait()
    _held.clear()
    return n


@expose
def user() -> dict:
    """The server's user name and home as the passwd database says."""
    import getpass
    import pwd
    return {"name": getpass.getuser(), "home": pwd.getpwuid(os.getuid()).pw_dir}

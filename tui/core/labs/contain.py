"""Keep a lab run to itself: the learner's own code, guarded against accidents.

The threat model (docs/threat-model.md) is a learner's buggy code, not a hostile
one: a test that forks and forgets its children, allocates without bound,
writes to the wrong path or reads an API key it never needed. Each run gets

- a scrubbed environment (no secrets, no VLEARN_HOME) with a private HOME and TMPDIR;
- writes confined to its scratch folder, the runs cache and the folder under test
  (Linux Landlock, unprivileged; elsewhere nothing, and doctor says so);
- death with its parent (PR_SET_PDEATHSIG) so a killed vlearn leaves nothing running;
- a memory ceiling: the supervisor adds up the run's resident memory and kills it past
  `memory_mb` (reported in words);
- after the run, every process it started is killed, even after setsid() or a double
  fork: the warm worker is a child subreaper, so orphans come back to it.

`python -m tui.core.labs.contain CONFIG_JSON ARGS...` is the cold path's launcher:
it stays as the run's supervisor and runs `pytest ARGS` in a child under the same limits.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import sys

SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|COOKIE|SESSION", re.IGNORECASE)
DROPPED = {"VLEARN_HOME", "VLEARN_DB"}
RUN_TOKEN_ENV = "VLEARN_RUN_TOKEN"  # every process of a run inherits it: found again after setsid()
DEFAULT_MEMORY_MB = {"none": 4096, "optional": 16384, "required": 16384}  # GPU runs carry a CUDA context

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 36, 38
_SYS_LANDLOCK = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _prctl(option: int, arg: int) -> bool:
    libc = _libc()
    return bool(libc) and sys.platform.startswith("linux") and libc.prctl(option, arg, 0, 0, 0) == 0


# ------------------------------------------------------------------ environment


def lab_env(base: dict, home: str, tmp: str) -> dict:
    """`base` without secrets or vlearn's own settings, with a private HOME and TMPDIR."""
    env = {k: v for k, v in base.items() if k not in DROPPED and not SECRET.search(k)}
    env.update({"HOME": home, "TMPDIR": tmp, "TMP": tmp, "TEMP": tmp})
    return env


# ------------------------------------------------------------------ Landlock


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when there is none."""
    libc, numbers = _libc(), _SYS_LANDLOCK.get(os.uname().machine)
    if not (libc and numbers and sys.platform.startswith("linux")):
        return 0
    version = libc.syscall(numbers[0], None, ctypes.c_size_t(0), ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _write_rights(abi: int) -> int:
    # write_file, remove_dir, remove_file, make_{char,dir,reg,sock,fifo,block,sym}: bits 1, 4-12;
    # refer (ABI 2) and truncate (ABI 3). Reading and executing stay allowed everywhere.
    rights = (1 << 1) | sum(1 << b for b in range(4, 13))
    if abi >= 2:
        rights |= 1 << 13
    if abi >= 3:
        rights |= 1 << 14
    return rights


def confine_writes(writable: list[str]) -> bool:
    """Allow writes only beneath `writable` (and /dev) for this process and its children."""
    abi = landlock_abi()
    if not abi:
        return False
    libc, (create, add, restrict) = _libc(), _SYS_LANDLOCK[os.uname().machine]
    rights = _write_rights(abi)
    attr = _RulesetAttr(rights)
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        # /dev: device nodes (GPUs, /dev/null, /dev/shm); /proc: the CUDA driver writes its own /proc/self
        # entries when it initialises (cuInit fails with "OS call failed" without it).
        for folder in [*writable, "/dev", "/proc"]:
            try:
                fd = os.open(folder, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a folder that does not exist needs no rule
            try:
                rule = _PathBeneath(rights, fd)
                libc.syscall(add, ctypes.c_int(ruleset), ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(fd)
        if not _prctl(_PR_SET_NO_NEW_PRIVS, 1):
            return False
        return libc.syscall(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)


# ------------------------------------------------------------------ processes


def enter(request: dict) -> None:
    """In the run's own process, before any test code: die with the parent, confine writes."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if request.get("writable") and os.environ.get("VLEARN_LAB_SANDBOX", "1") != "0":
        confine_writes(request["writable"])


def become_subreaper() -> bool:
    """Orphans of our descendants are re-parented to us instead of to init."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _parents() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    data = fh.read()
                out[int(name)] = int(data[data.rfind(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return out


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (procfs; [] where there is none)."""
    try:
        parents = _parents()
    except OSError:
        return []
    found, frontier = [], {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier and child not in found}
        found += sorted(frontier)
    return found


def sweep_children() -> list[int]:
    """Kill everything below this process and reap it; the pids killed."""
    killed: list[int] = []
    for _ in range(50):  # a fork bomb in progress needs several passes
        left = [p for p in descendants(os.getpid()) if not _gone(p)]
        _kill_and_confirm(left)
        killed += [p for p in left if p not in killed]
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not left:
            break
    return killed


def marked(token: str) -> list[int]:
    """Live processes whose environment carries this run's token (our own user's; procfs)."""
    needle = f"{RUN_TOKEN_ENV}={token}".encode() + b"\0"
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open(f"/proc/{name}/environ", "rb") as fh:
                    if needle in fh.read() + b"\0":
                        found.append(int(name))
            except OSError:
                continue
    return found


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return True
    return data[data.rfind(b")") + 2 :][:1] in (b"Z", b"X")


def _kill_and_confirm(pids: list[int], limit_s: float = 3.0) -> None:
    """SIGKILL is asynchronous: wait (bounded) until each process is really gone."""
    import time

    end = time.monotonic() + limit_s
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    while any(not _gone(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.002)


def kill_marked(token: str) -> list[int]:
    """Kill every process of the run `token` that is still alive; the pids."""
    killed: list[int] = []
    for _ in range(50):  # a process may fork while we look: look again until none is left
        left = [p for p in marked(token) if p not in killed]
        if not left:
            break
        _kill_and_confirm(left)
        killed += left
    return killed


def resident_mb(pids: list[int]) -> float:
    """Resident memory of `pids` together, in MiB (procfs statm)."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total * page / 2**20


def capabilities() -> dict:
    """What containment this platform gives (shown by `vlearn doctor`)."""
    linux = sys.platform.startswith("linux")
    procfs = os.path.isdir("/proc/self")
    return {
        "subreaper": linux,
        "parent_death_signal": linux,
        "write_confinement": f"landlock ABI {landlock_abi()}" if landlock_abi() else None,
        "memory_limit": "resident-memory watch (procfs)" if procfs else None,
        "cgroup": None,  # not used: unprivileged cgroup delegation is rare on desktops and in CI
    }


def main(argv: list[str]) -> None:
    """The cold path: stay behind as a small supervisor (a subreaper that dies
    with vlearn and takes the run with it), run pytest in a forked child."""
    request = json.loads(argv[0])
    become_subreaper()

    def leave(*_):
        sweep_children()
        os._exit(1)

    signal.signal(signal.SIGTERM, leave)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # vlearn gone -> leave(): kill everything below us
    if os.getppid() == 1:
        leave()  # vlearn died before the line above
    pid = os.fork()
    if pid == 0:
        enter(request)
        import runpy

        sys.argv = ["pytest", *argv[1:]]
        try:
            runpy.run_module("pytest", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    # What the tests left behind is the runner's to find (by the run token) and report.
    if code < 0:  # pass a crash on as itself, so the runner names the signal
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Run one pytest session in its own process group, under a time and output limit.

Two ways to start that session, one supervisor for both:

- warm: a long-lived worker (`python -m tui.core.labs.worker`) imports pytest
  and torch once, then forks a fresh child per check, so a save costs a fork
  and a test session, not a Python + torch start-up (~1.7 s here). The worker
  never touches CUDA, so forking it is safe. Requests and replies are JSON
  lines over its stdin/stdout.
- cold: `python -m pytest` as a subprocess, used when fork is unavailable or
  the worker died (it is restarted for the next run).

Either way the child leads a new process group; a timeout, an output flood
or a process left behind is dealt with by SIGKILL to the whole group.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time

OUTPUT_CAP = 1_000_000  # bytes of stray output before the run is stopped
KEEP = 16_000  # bytes kept from the start and from the end of the output
PRELOAD = ("pytest", "torch", "numpy", "hypothesis", "_hypothesis_pytestplugin", "tui.core.labs.testing")


# ------------------------------------------------------------------ the session to run

RESULTS_NAME, PERF_NAME = "results.jsonl", "perf.jsonl"  # in the run's scratch folder


def pytest_args(tests_dir, lab_folder) -> list[str]:
    """pytest's arguments for one lab session: our plugin, no config or conftest from around the lab."""
    args = [
        str(tests_dir), "-p", "tui.core.labs.testing", "-p", "no:cacheprovider",
        # Ignore any config or conftest around the lab: only its own folder counts.
        "-c", os.devnull, "--rootdir", str(lab_folder), "--confcutdir", str(lab_folder),
        "-q", "--no-header", "--tb=short", "--capture=tee-sys", "-rN",
        "-W", "ignore::DeprecationWarning", "-W", "ignore::pytest.PytestAssertRewriteWarning",
    ]
    try:
        import importlib.util

        if importlib.util.find_spec("_hypothesis_pytestplugin"):
            args += ["-p", "_hypothesis_pytestplugin"]
    except (ImportError, ValueError):
        pass
    return args


def read_jsonl(path) -> list[dict]:
    """The JSON objects in a file written a line at a time (a line cut short by a kill is dropped)."""
    if not os.path.isfile(path):
        return []
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass  # a line cut short by a kill
    return out


def session_request(tests_dir, lab_folder, directory, scratch, runs, timeout: float, quick: bool,
                    cwd=None, memory_mb: float | None = None, first_failure: bool = False) -> dict:
    """What to run: `tests_dir` of the lab in `lab_folder` against `directory`
    (also the working directory unless `cwd` says otherwise); the plugin writes
    results and figures into `scratch`; `runs` holds caches that outlive a run.
    The environment is the caller's without secrets, with HOME and TMPDIR inside
    `scratch` (see contain.py); writes are allowed only in `scratch`, `runs` and
    `directory` when it is the learner's workspace."""
    from . import contain
    from .testing import HYPOTHESIS_DIR_ENV, LAB_DIR_ENV, PERF_FILE_ENV, QUICK_ENV, RESULTS_FILE_ENV, REWRITE_CACHE_ENV

    home, tmp, cache = os.path.join(scratch, "home"), os.path.join(scratch, "tmp"), os.path.join(runs, "cache")
    for folder in (home, tmp, cache):
        os.makedirs(folder, exist_ok=True)
    env = contain.lab_env(dict(os.environ), home, tmp)
    import uuid

    env.update({
        contain.RUN_TOKEN_ENV: uuid.uuid4().hex,
        LAB_DIR_ENV: str(directory),
        PERF_FILE_ENV: str(os.path.join(scratch, PERF_NAME)),
        RESULTS_FILE_ENV: str(os.path.join(scratch, RESULTS_NAME)),
        "PYTHONDONTWRITEBYTECODE": "1",  # never write into content or the workspace
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # only the plugins a lab needs
        QUICK_ENV: "1" if quick else "0",
        REWRITE_CACHE_ENV: os.path.join(str(runs), "rewritten"),
        HYPOTHESIS_DIR_ENV: os.path.join(str(runs), ".hypothesis"),
        # Compiler caches outlive the run (a fresh HOME would recompile every save).
        "VLEARN_RUNS": str(runs),
        "XDG_CACHE_HOME": cache,
        "CUPY_CACHE_DIR": os.path.join(cache, "cupy"),
        "TRITON_CACHE_DIR": os.path.join(cache, "triton"),
        "CUDA_CACHE_PATH": os.path.join(cache, "nv"),
        "TORCHINDUCTOR_CACHE_DIR": os.path.join(cache, "inductor"),
    })
    return {
        # first_failure: stop at the first failing test (a wrong solution is judged by one).
        "args": pytest_args(tests_dir, lab_folder) + (["-x"] if first_failure else []),
        "cwd": str(cwd or directory),
        "timeout": float(timeout),
        "env": env,
        # The learner's workspace is theirs to write; the content tree (solution/, starter/) is not.
        "writable": [str(scratch), str(runs)] + ([] if _inside(directory, lab_folder) else [str(directory)]),
        "memory_mb": memory_mb,
    }


def _inside(path, folder) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


# ------------------------------------------------------------------ supervision


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group `pgid`."""
    try:
        names = os.listdir("/proc")
    except OSError:  # no procfs: ask the kernel whether anyone is left
        try:
            os.killpg(pgid, 0)
            return [-1]
        except OSError:
            return []
    found = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _confirm_dead(pgid: int, limit_s: float = 3.0) -> None:
    """SIGKILL is asynchronous; wait (bounded) until the group is really gone."""
    end = time.monotonic() + limit_s
    while group_members(pgid) and time.monotonic() < end:
        kill_group(pgid)
        time.sleep(0.002)


MEMORY_POLL_S = 0.2  # how often a run's resident memory is added up


def supervise(pid: int, out_fd: int, limit_s: float, poll, wait, cap: int = OUTPUT_CAP,
              memory_mb: float | None = None, parent_fd: int | None = None, token: str | None = None) -> dict:
    """Watch child `pid` (leader of its own group) until it exits, its time is
    up, its output passes `cap` or its processes together hold more than
    `memory_mb` resident. `poll()` returns None while it runs, else its exit
    code (negative: killed by that signal); `wait()` blocks for it. When
    `parent_fd` (our request pipe) reads end-of-file, whoever asked for the run
    is gone: the run is killed and this process leaves."""
    from . import contain

    start = time.monotonic()
    deadline = start + limit_s
    head, tail, total = bytearray(), bytearray(), 0
    timed_out = flooded = False
    peak_mb, next_memory_check = 0.0, start
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    rc, out_open = None, True
    try:
        while True:
            rc = poll()
            if rc is not None:
                break
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                timed_out = True
                break
            if memory_mb:
                if now >= next_memory_check:
                    next_memory_check = now + MEMORY_POLL_S
                    peak_mb = max(peak_mb, contain.resident_mb([pid, *contain.descendants(pid)]))
                    if peak_mb > memory_mb:
                        break
                remaining = min(remaining, next_memory_check - now)
            fds = ([out_fd] if out_open else []) + ([pidfd] if pidfd is not None else [])
            fds += [parent_fd] if parent_fd is not None else []
            ready, _, _ = select.select(fds, [], [], remaining if pidfd is not None else min(remaining, 0.01))
            if parent_fd is not None and parent_fd in ready and not os.read(parent_fd, 1):
                kill_group(pid)  # the caller died (SIGKILLed vlearn): take the run with us
                contain.sweep_children()
                if token:
                    contain.kill_marked(token)
                os._exit(0)
            if out_open and out_fd in ready:
                chunk = os.read(out_fd, 65536)
                if not chunk:
                    out_open = False
                    continue
                total += len(chunk)
                if len(head) < KEEP:
                    head += chunk[: KEEP - len(head)]
                tail = (tail + chunk)[-KEEP:]
                if total > cap:
                    flooded = True
                    break
    finally:
        if pidfd is not None:
            os.close(pidfd)
    memory_exceeded = bool(memory_mb and peak_mb > memory_mb)
    if rc is None:
        kill_group(pid)
        rc = wait()
    # Anything still in the group was left behind by the tests: kill it too,
    # and whatever carries the run's token after leaving the group (setsid, double fork).
    orphans = group_members(pid)
    if orphans:
        kill_group(pid)
        _confirm_dead(pid)
    if token:
        orphans += [p for p in contain.kill_marked(token) if p not in orphans]
    if not flooded:  # collect what is still in the pipe, never blocking
        os.set_blocking(out_fd, False)
        try:
            while total <= cap and (chunk := os.read(out_fd, 65536)):
                total += len(chunk)
                if len(head) < KEEP:
                    head += chunk[: KEEP - len(head)]
                tail = (tail + chunk)[-KEEP:]
        except (BlockingIOError, OSError):
            pass
    if total <= len(head):
        text = head.decode("utf-8", "replace")
    elif total <= 2 * KEEP:
        text = (head + tail[-(total - len(head)) :]).decode("utf-8", "replace")
    else:
        cut = total - len(head) - len(tail)
        text = head.decode("utf-8", "replace") + f"\n[... {cut} bytes of output cut ...]\n" + tail.decode("utf-8", "replace")
    return {
        "rc": rc if rc >= 0 else None,
        "signal": -rc if rc < 0 and not (timed_out or flooded or memory_exceeded) else None,
        "timed_out": timed_out,
        "flooded": flooded,
        "memory_exceeded": memory_exceeded,
        "peak_mb": round(peak_mb),
        "output_bytes": total,
        "output": text,
        "orphans": [p for p in orphans if p > 0] or ([-1] if orphans else []),
        "duration": time.monotonic() - start,
        "warm": False,
    }


def _token(request: dict) -> str | None:
    from .contain import RUN_TOKEN_ENV

    return request.get("env", {}).get(RUN_TOKEN_ENV)


def _fork_poll(pid: int):
    done, status = os.waitpid(pid, os.WNOHANG)
    return None if done == 0 else os.waitstatus_to_exitcode(status)


def _fork_wait(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


# ------------------------------------------------------------------ cold path


def run_cold(request: dict) -> dict:
    """Run `python -m pytest ARGS` as a fresh process group, contained by
    tui.core.labs.contain's launcher."""
    limits = json.dumps({"writable": request.get("writable", [])})
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui.core.labs.contain", limits, *request["args"]],
            stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end,
            cwd=request["cwd"], env=request["env"], process_group=0,
        )
    finally:
        os.close(write_end)
    try:
        return supervise(proc.pid, read_end, request["timeout"], proc.poll, proc.wait,
                         memory_mb=request.get("memory_mb"), token=_token(request))
    finally:
        os.close(read_end)


# ------------------------------------------------------------------ the warm worker process


def _child(request: dict, out_w: int, keep_closed: list[int]) -> None:
    """In the forked child: become a group leader, point stdio at the pipe, run pytest."""
    os.setpgid(0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for fd in [devnull, out_w, *keep_closed]:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    from . import contain

    contain.enter(request)
    sys.dont_write_bytecode = True
    import pytest

    try:
        code = int(pytest.main(list(request["args"])))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 3
    except BaseException:  # noqa: BLE001 - report anything, then leave
        import traceback

        traceback.print_exc()
        code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _serve_one(request: dict, reply) -> dict:
    out_r, out_w = os.pipe()
    reply.flush()
    pid = os.fork()
    if pid == 0:  # child
        try:
            _child(request, out_w, [out_r, reply.fileno()])
        finally:
            os._exit(70)
    os.close(out_w)
    try:
        os.setpgid(pid, pid)  # also here, so the group exists before anyone signals it
    except OSError:
        pass
    reply.write(json.dumps({"event": "started", "pid": pid}) + "\n")
    reply.flush()
    try:
        result = supervise(pid, out_r, request["timeout"], lambda: _fork_poll(pid), lambda: _fork_wait(pid),
                           memory_mb=request.get("memory_mb"), parent_fd=sys.stdin.fileno(), token=_token(request))
    finally:
        os.close(out_r)
    # Processes that escaped the group (setsid, a double fork) were re-parented to us.
    from . import contain

    escaped = contain.sweep_children()
    if escaped:
        result["orphans"] = [p for p in result["orphans"] if p > 0] + [p for p in escaped if p not in result["orphans"]]
    result["warm"] = True
    return result


def _preload() -> list[str]:
    import importlib

    loaded = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - a missing extra only costs speed
            pass
    from _pytest.config import default_plugins

    for name in default_plugins:  # pytest imports these on every Config
        importlib.import_module(f"_pytest.{name}")
    # Hypothesis scans every loaded module for constants once per process
    # (~0.15 s here, in every child): do it here, once. Private API that moved
    # between releases; only speed is at stake.
    for where in ("hypothesis.internal.conjecture.providers", "hypothesis.internal.constants_ast"):
        try:
            importlib.import_module(where)._get_local_constants()
            break
        except Exception:  # noqa: BLE001
            continue
    return loaded


def main() -> None:
    # Replies go out on a private copy of stdout; fd 1 itself is pointed at
    # stderr so a stray print can never corrupt the protocol.
    reply = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import contain

    contain.become_subreaper()
    loaded = _preload()
    # Move everything imported so far out of the collector's sight: pytest runs
    # gc.collect() several times per session, and torch's heap made each one slow.
    import gc

    gc.collect()
    gc.freeze()
    reply.write(json.dumps({"event": "ready", "pid": os.getpid(), "preloaded": loaded}) + "\n")
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            result = _serve_one(request, reply)
        except Exception as exc:  # noqa: BLE001 - the caller falls back to a cold run
            result = {"event": "failed", "error": repr(exc)}
        reply.write(json.dumps({"event": "result", **result}) + "\n")


# ------------------------------------------------------------------ the client


class WorkerError(Exception):
    pass


class WarmWorker:
    """The caller's handle on the warm worker. Thread-safe: one run at a time."""

    READY_LIMIT_S = 120.0  # importing torch on a cold disk can be slow
    GRACE_S = 15.0  # beyond the run's own limit, before we give up on the worker

    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self._buf = b""
        self._ready = False
        self.restarts = 0

    @staticmethod
    def supported() -> bool:
        return hasattr(os, "fork") and sys.platform != "win32"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        """Start the worker (returns at once; it warms up in the background)."""
        if self.alive():
            return
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.core.labs.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True,  # keep terminal signals (Ctrl-C) away from it
            cwd=self.cwd,  # hypothesis keeps its cache in the current directory
        )
        self._buf, self._ready = b"", False

    def _readline(self, deadline: float) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerError("the warm worker did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WorkerError("the warm worker exited")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def wait_ready(self, limit_s: float | None = None) -> None:
        if not self._ready:
            message = self._readline(time.monotonic() + (limit_s or self.READY_LIMIT_S))
            if message.get("event") != "ready":
                raise WorkerError(f"unexpected message from the worker: {message}")
            self._ready = True

    def run(self, request: dict) -> dict:
        """Run one request in a forked child. Raises WorkerError when the worker
        is unusable; it is then stopped, and the next call starts a new one."""
        with self.lock:
            if self.proc is not None and not self.alive():
                # Dead: this run goes cold; a new worker warms up meanwhile.
                self._stop()
                self.restarts += 1
                self.start()
                raise WorkerError("the warm worker had died; a new one is starting")
            child = None
            try:
                self.start()
                self.wait_ready()
                self.proc.stdin.write((json.dumps(request) + "\n").encode())
                self.proc.stdin.flush()
                deadline = time.monotonic() + request["timeout"] + self.GRACE_S
                started = self._readline(deadline)
                child = started.get("pid")
                result = self._readline(deadline)
                if result.get("event") != "result":
                    raise WorkerError(result.get("error", "the worker could not run the tests"))
                return result
            except (OSError, ValueError, WorkerError) as exc:
                if child:
                    kill_group(child)
                self._stop()
                self.restarts += 1
                raise WorkerError(str(exc)) from exc

    def _stop(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self.proc, self._ready, self._buf = None, False, b""

    def close(self) -> None:
        with self.lock:
            self._stop()


if __name__ == "__main__":
    main()

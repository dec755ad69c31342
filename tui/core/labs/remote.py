"""Run a GPU lab's tests on another machine, one that has a GPU.

The learner configures a command that reaches that machine and runs a shell
command line there, e.g. `ssh gpu-box` (or `docker exec -i box sh -c`): the
setting `labs.remote_runner`, or the environment variable
VLEARN_REMOTE_RUNNER, which wins. The runner appends one argument, a shell
command line starting `python3 -c ...`, and pipes a tar of everything the
run needs into it: vlearn's own `tui/core` (the pytest plugin and the kernel
checks), `kernels/` and `data/gpus.yaml`, the lab folder and the directory
under test. The remote side unpacks it into a temporary folder, runs the same
pytest session with the same plugin under the lab's time limit, prints the
plugin's structured results as one JSON line and deletes the folder. So the
remote machine needs python3 with pytest (pyyaml, torch and cupy for CUDA
labs; hypothesis for the Python labs), not vlearn itself, and nothing is left
on it.
"""
from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

ENV = "VLEARN_REMOTE_RUNNER"
SETTING = "labs.remote_runner"
MARK = "VLEARN-REMOTE-RESULT "  # the line that carries the results
TRANSFER_S = 120.0  # beyond the lab's own limit: connecting, copying, starting python

BOOT = (
    "import io,sys,tarfile,tempfile;"
    "d=tempfile.mkdtemp(prefix='vlearn-remote-');"
    "t=tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()));"
    "t.extractall(d,**({'filter':'data'} if hasattr(tarfile,'data_filter') else {}));"
    "sys.path.insert(0,d+'/code');"
    "from tui.core.labs.remote import serve;serve(d)"
)


class RemoteError(Exception):
    """The remote runner gave no results; the message says why, in words."""


def configured(db=None) -> list[str] | None:
    """The remote runner command (argv), from VLEARN_REMOTE_RUNNER or the setting; None when unset."""
    value = os.environ.get(ENV)
    if value is None and db is not None:
        from ..store import progress

        value = progress.get_setting(db, SETTING)
    return shlex.split(value) if value and value.strip() else None


def set_command(db, command: str | None) -> None:
    """Store (or, with None or '', clear) the remote runner setting."""
    from ..store import progress

    if command and command.strip():
        shlex.split(command)  # refuse what the shell could not parse either (ValueError)
        progress.set_setting(db, SETTING, command.strip())
    else:
        progress.delete_setting(db, SETTING)


# ------------------------------------------------------------------ this side


def _skip(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    name = Path(info.name).name
    return None if name in ("__pycache__", ".hypothesis", ".pytest_cache") or name.endswith(".pyc") else info


def bundle(item, tests_dir: Path, directory: Path, timeout: float, quick: bool) -> bytes:
    """The tar (gzip) the remote side unpacks: code/, lab/, target/ and request.json."""
    from ..paths import content_root

    code = Path(__file__).resolve().parents[2]  # the folder holding tui/
    content = content_root()
    request = {
        "tests": str(Path("lab") / tests_dir.resolve().relative_to(item.path.resolve())),
        "timeout": timeout,
        "quick": quick,
        # The remote paths in messages are put back to these, so the learner reads their own.
        "local_lab": str(item.path.resolve()),
        "local_target": str(directory.resolve()),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(code / "__init__.py", "code/tui/__init__.py")
        tar.add(code / "core", "code/tui/core", filter=_skip)
        for extra in ("kernels", "data/gpus.yaml"):
            if (content / extra).exists():
                tar.add(content / extra, f"code/{extra}", filter=_skip)
        tar.add(item.path, "lab", filter=_skip)
        tar.add(directory, "target", filter=_skip)
        data = json.dumps(request).encode()
        info = tarfile.TarInfo("request.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def execute(command: list[str], item, tests_dir: Path, directory: Path, quick: bool) -> tuple[dict, list, list]:
    """Run one lab session through `command`; returns what a local run gives:
    (the supervisor's verdict, the plugin's test events, the perf figures)."""
    payload = bundle(item, tests_dir, directory, float(item.timeout_s), quick)
    where = shlex.join(command)
    try:
        proc = subprocess.Popen([*command, "python3 -c " + shlex.quote(BOOT)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0)
    except OSError as exc:
        raise RemoteError(f"cannot start the remote runner `{where}`: {exc}") from exc
    try:
        out, err = proc.communicate(payload, timeout=float(item.timeout_s) + TRANSFER_S)
    except subprocess.TimeoutExpired:
        from .worker import kill_group

        kill_group(proc.pid)
        proc.communicate()
        raise RemoteError(f"the remote runner `{where}` gave no answer within "
                          f"{float(item.timeout_s) + TRANSFER_S:g} s; it was stopped") from None
    line = next((raw for raw in reversed(out.decode("utf-8", "replace").splitlines()) if raw.startswith(MARK)), None)
    if line is None:
        said = (err.decode("utf-8", "replace").strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise RemoteError(f"the remote runner `{where}` gave no results (exit code {proc.returncode}): {said}")
    reply = json.loads(line[len(MARK):])
    reply["ex"]["remote"] = where
    return reply["ex"], reply["events"], reply["perf"]


# ------------------------------------------------------------------ the remote side


def serve(root: str) -> None:
    """On the GPU machine: run the unpacked session, print the results, remove `root`."""
    from .worker import PERF_NAME, RESULTS_NAME, read_jsonl, run_cold, session_request

    base = Path(root)
    try:
        request = json.loads((base / "request.json").read_text(encoding="utf-8"))
        home, scratch = base / "home", base / "scratch"
        home.mkdir()
        scratch.mkdir()
        session = session_request(base / request["tests"], base / "lab", base / "target", scratch, scratch,
                                  request["timeout"], request["quick"], cwd=scratch)
        session["env"].update({
            "PYTHONPATH": str(base / "code"),  # so `-p tui.core.labs.testing` imports the copy we sent
            "VLEARN_CONTENT": str(base / "code"),  # kernels/ and data/ for the GPU checks
            "VLEARN_HOME": str(home),  # nothing in the remote user's own folders
        })
        ex = run_cold(session)
        events, perf = read_jsonl(scratch / RESULTS_NAME), read_jsonl(scratch / PERF_NAME)
        text = json.dumps({"ex": ex, "events": events, "perf": perf})
        # pytest names files relative to its folder ("../lab/tests/..."), Python absolutely.
        for remote, local in ((base / "target", request["local_target"]), (base / "lab", request["local_lab"])):
            for form in (str(remote), os.path.relpath(remote, scratch)):
                text = text.replace(json.dumps(form)[1:-1], json.dumps(local)[1:-1])
        print(MARK + text, flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)

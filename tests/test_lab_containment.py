"""Lab code that reaches too far, in real processes: children that leave the
process group, secrets in the environment, writes outside the lab's folder,
unbounded memory, and a vlearn that is SIGKILLed mid-run (docs/threat-model.md)."""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_lab_support import FIXTURES, fixture_catalog

from tui.core.labs.contain import capabilities, landlock_abi
from tui.core.labs.runner import LabRunner
from tui.core.labs.workspace import ensure_workspace

REPO = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="containment uses Linux prctl and procfs")


@pytest.fixture(scope="module")
def catalog():
    return fixture_catalog()


def wait_gone(pid: int, limit_s: float = 10.0) -> bool:
    """Block until `pid` exits (pidfd: no polling), at most `limit_s`."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], limit_s)
        return bool(ready)
    finally:
        os.close(fd)


def printed(result, key: str) -> str:
    out = "".join(t.stdout for t in result.tests)
    return re.search(rf"^{key}=(.*)$", out, re.M).group(1)


@linux_only
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_escaped_processes_secrets_and_stray_writes(catalog, warm, vlearn_home, tmp_path, monkeypatch):
    monkeypatch.setenv("FX_API_KEY", "sk-must-not-leak")
    outside = tmp_path / "outside.txt"
    monkeypatch.setenv("FX_OUTSIDE", str(outside))
    lab = catalog.labs["fx-escape"]
    folder = ensure_workspace(lab)
    runner = LabRunner(warm=warm)
    try:
        result = runner.run(lab)
    finally:
        runner.close()
    assert result.status == "passed", result.notes
    for key in ("SETSID_PID", "DOUBLE_PID"):  # left the process group, then the run ended
        pid = int(printed(result, key))
        assert wait_gone(pid, 0.0), f"{key} {pid} outlived the run"
        assert any(str(pid) in note and "killed" in note for note in result.notes)
    assert printed(result, "SECRET") == "-" and printed(result, "VLEARN_HOME") == "-"
    assert printed(result, "HOME") != os.environ["HOME"] and "/runs/" in printed(result, "HOME")
    assert Path(printed(result, "CWD")) == folder.resolve()
    assert (folder / "scratch-note.txt").read_text() == "mine"  # the learner's folder is theirs
    if landlock_abi():
        assert printed(result, "CONTENT_WRITE") == "blocked" and printed(result, "OUTSIDE_WRITE") == "blocked"
        assert not outside.exists() and not (lab.path / "tests" / "written-by-lab.txt").exists()


@linux_only
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_run_past_its_memory_limit_is_stopped_and_said_in_words(catalog, warm):
    runner = LabRunner(warm=warm)
    try:
        result = runner.run(catalog.labs["fx-memory"], "solution")
    finally:
        runner.close()
    assert result.status == "error"
    note = result.notes[0]
    assert "while test_hoards was running" in note and "limit of 300 MiB (lab.yaml memory_mb)" in note
    peak = int(re.search(r"held ([\d,]+) MiB", note).group(1).replace(",", ""))
    assert 300 < peak < 4096  # stopped on the way up, long before the 4 GiB it asked for
    assert {t.name: t.outcome for t in result.tests}["test_small"] == "passed"


def _sigkill_mid_run(command: list[str], home: Path, workspace: Path, env: dict) -> list[int]:
    """Start `command`, wait until the lab's test has written its pids, SIGKILL
    the command; returns the lab's pids (the test process and its escaped child)."""
    from watchfiles import watch

    proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pids_file = workspace / "pids.txt"
    try:
        if not pids_file.exists():
            for _ in watch(home, stop_event=None, rust_timeout=60_000, yield_on_timeout=True):
                if pids_file.exists() or proc.poll() is not None:
                    break
        assert pids_file.exists(), "the lab never started"
        pids = [int(p) for p in pids_file.read_text().split()]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return pids


@linux_only
@pytest.mark.parametrize("how", ["check (warm worker)", "runner (cold)"])
def test_a_killed_vlearn_takes_its_lab_processes_with_it(how, vlearn_home):
    env = os.environ | {"VLEARN_HOME": str(vlearn_home), "VLEARN_CONTENT": str(FIXTURES)}
    workspace = vlearn_home / "workspace" / "fx-sleeper"
    if how.startswith("check"):
        command = [sys.executable, "-m", "tui.cli", "check", "fx-sleeper"]
    else:
        script = ("from tui.core.content import load_catalog; from tui.core.labs.runner import LabRunner; "
                  "LabRunner(warm=False).run(load_catalog().labs['fx-sleeper'])")
        command = [sys.executable, "-c", script]
    pids = _sigkill_mid_run(command, vlearn_home, workspace, env)
    test_process, escaped = pids
    assert wait_gone(test_process), "the test process outlived vlearn"
    assert wait_gone(escaped), "a child that left the process group outlived vlearn"


def test_doctor_names_the_containment_this_platform_gives():
    given = capabilities()
    assert set(given) == {"subreaper", "parent_death_signal", "write_confinement", "memory_limit", "cgroup"}
    out = subprocess.run([sys.executable, "-m", "tui.cli", "doctor"], cwd=REPO, capture_output=True, text=True).stdout
    line = next(line for line in out.splitlines() if line.strip().startswith("containment"))
    assert ("landlock ABI" in line) == bool(landlock_abi())

"""The remote GPU runner, with a real subprocess standing in for ssh: a shell
on this machine whose PATH has this Python and a fake nvidia-smi, so the
"remote" side has a GPU as far as the lab's tests can tell."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from test_lab_support import fixture_catalog

from tui.core.labs import remote
from tui.core.labs.gpu import has_gpu
from tui.core.labs.runner import LabRunner

pytestmark = pytest.mark.skipif(has_gpu(), reason="GPU labs run locally where there is a GPU")


@pytest.fixture
def stand_in(tmp_path) -> tuple[list[str], Path]:
    """(`env PATH=... TMPDIR=... sh -c`, the stand-in's temp folder)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    smi = fake / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho '0, Stand-in GPU, 81559, 580.0, 9.0'\n")
    smi.chmod(0o755)
    tmp = tmp_path / "remote-tmp"
    tmp.mkdir()
    path = os.pathsep.join([str(fake), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return ["env", f"PATH={path}", f"TMPDIR={tmp}", "sh", "-c"], tmp


def test_a_gpu_lab_runs_remotely_with_the_same_structured_results(stand_in, vlearn_home):
    command, remote_tmp = stand_in
    lab = fixture_catalog().labs["fx-gpu"]  # gpu: required; its second test skips without nvidia-smi
    runner = LabRunner(warm=False, remote=command)
    starter = runner.run(lab, "starter")
    assert starter.status == "failed" and starter.ran_on == " ".join(command)
    by_name = {t.name: t for t in starter.tests}
    assert by_name["test_compiles"].outcome == "passed"
    assert by_name["test_runs_on_gpu"].outcome == "failed"
    assert by_name["test_runs_on_gpu"].headline() == "assert 1 == 2"
    # Paths in the report are this machine's, not the remote temporary folder's.
    assert str(lab.path / "tests") in by_name["test_runs_on_gpu"].longrepr
    solution = runner.run(lab, "solution")
    assert solution.status == "passed" and (solution.passed, solution.skipped) == (2, 0)
    assert list(remote_tmp.iterdir()) == []  # the remote side cleaned up after itself
    assert not (vlearn_home / "runs").exists() or not any((vlearn_home / "runs").iterdir())


def test_labs_that_need_no_gpu_stay_local(stand_in):
    command, _ = stand_in
    result = LabRunner(warm=False, remote=command).run(fixture_catalog().labs["fx-add"], "solution")
    assert result.status == "passed" and result.ran_on == ""


def test_a_broken_remote_says_so_in_words():
    result = LabRunner(warm=False, remote=["false"]).run(fixture_catalog().labs["fx-gpu"], "starter")
    assert result.status == "error" and not result.tests
    assert "the remote runner `false` gave no results (exit code 1)" in result.notes[0]


def test_configured_from_the_environment_or_the_setting(db, monkeypatch):
    assert remote.configured(db) is None
    remote.set_command(db, "ssh gpu-box")
    assert remote.configured(db) == ["ssh", "gpu-box"]
    monkeypatch.setenv(remote.ENV, "ssh -p 2222 other-box")
    assert remote.configured(db) == ["ssh", "-p", "2222", "other-box"]  # the variable wins
    monkeypatch.delenv(remote.ENV)
    remote.set_command(db, "")
    assert remote.configured(db) is None


def test_the_cli_sets_shows_and_clears_it(vlearn_home, capsys):
    from tui.cli import main
    from tui.core.store import open_store

    assert main(["remote-runner", "ssh gpu-box"]) == 0
    assert "remote GPU runner: ssh gpu-box  (setting labs.remote_runner)" in capsys.readouterr().out
    db = open_store()
    assert remote.configured(db) == ["ssh", "gpu-box"]
    db.close()
    assert main(["remote-runner", "--clear"]) == 0
    assert "remote GPU runner: none" in capsys.readouterr().out

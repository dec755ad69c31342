"""`vlearn verify` and `vlearn check` on fixture labs (real runs, real exit codes)."""
from __future__ import annotations

import argparse
import shutil

from test_lab_support import FIXTURES, fixture_catalog

from tui.cli import labs as labs_cli
from tui.core.labs.gpu import has_gpu
from tui.core.labs.runner import LabRunner
from tui.core.labs.verify import verify


def main(argv: list[str]) -> int:
    """Our subcommands alone (tui.cli.main imports every module of the package)."""
    parser = argparse.ArgumentParser(prog="vlearn")
    labs_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_verify_fixture_labs_and_project():
    lines: list[str] = []
    runner = LabRunner(warm=False)
    verdicts = verify(fixture_catalog(), ["fx-add", "fx-project", "fx-gpu"], runner=runner, out=lines.append)
    assert [v.ok for v in verdicts] == [True, True, True], lines
    assert lines[-1] == "3 passed, 0 failed"
    gpu_line = next(line for line in lines if "fx-gpu" in line)
    assert ("compile-only (no GPU here)" in gpu_line) == (not has_gpu())
    assert "starter fails stage 1" in next(line for line in lines if "fx-project" in line)


def test_verify_fails_a_starter_that_passes(tmp_path, monkeypatch, capsys):
    lab = tmp_path / "labs" / "python" / "fx-add"
    shutil.copytree(FIXTURES / "labs" / "python" / "fx-add", lab)
    shutil.copy(lab / "solution" / "add.py", lab / "starter" / "add.py")
    monkeypatch.setenv("VLEARN_CONTENT", str(tmp_path))
    assert main(["verify", "--track", "python"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "0 passed, 1 failed"
    assert "FAIL" in out[0] and "starter passes every test" in out[0]


def test_check_prints_a_table_and_exits_by_result(monkeypatch, capsys):
    monkeypatch.setenv("VLEARN_CONTENT", str(FIXTURES))
    assert main(["check", "fx-add"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  test_add_small" in out and "add(2, 3) should be 5" in out
    assert "SKIP  test_needs_gpu" in out and "FAILED: 2 failed, 1 skipped" in out
    assert main(["check", "no-such-lab"]) == 2

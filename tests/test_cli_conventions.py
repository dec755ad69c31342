"""CLI conventions: --version, completion scripts, help that names the
environment and shows examples, help on every file argument, one-line errors
for paths, verify's N/M progress."""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pytest

from tui.cli import build_parser, main
from tui.cli.completion import is_file_arg


def _actions(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _actions(child, (*path, name))
        else:
            yield path, action


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("vlearn ") and "0.33.0" in out


def test_tui_version_and_unknown_argument_never_start_the_app(monkeypatch, capsys):
    from tui import app

    monkeypatch.setattr(app.VlearnApp, "run", lambda self: pytest.fail("the app started"))
    monkeypatch.setattr(sys, "argv", ["vlearn-tui", "--version"])
    assert app.main() == 0
    assert capsys.readouterr().out.startswith("vlearn-tui ")
    monkeypatch.setattr(sys, "argv", ["vlearn-tui", "--bogus"])
    assert app.main() == 2
    assert "unknown argument" in capsys.readouterr().err


def test_help_lists_environment_and_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("VLEARN_HOME", "VLEARN_CONTENT", "VLEARN_REMOTE_RUNNER", "VLEARN_CONFIG", "EDITOR", "VISUAL"):
        assert name in out
    assert "examples:" in out and "vlearn completion bash" in out
    # every example names a command that exists
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    examples = out.split("examples:")[1].strip().splitlines()
    for line in examples:
        word = line.split()[1] if line.split()[0] == "vlearn" else line.split("vlearn ")[1].split()[0]
        assert word in commands, line


def test_every_argument_has_help_and_file_arguments_are_marked():
    missing = [(path, a.option_strings or a.dest) for path, a in _actions(build_parser())
               if a.dest != "help" and not isinstance(a, argparse._VersionAction) and not a.help]
    assert missing == []
    files = [(path, a.dest) for path, a in _actions(build_parser()) if is_file_arg(a)]
    assert (("export", "anki"), "file") in files and (("export", "progress"), "out") in files


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("doctor", "verify", "export", "completion", "version"):
        assert word in script
    if shell == "fish":
        assert "complete -c vlearn -n '__fish_use_subcommand' -a doctor" in script
        assert "-l format -x -a 'json csv'" in script
    if shell == "zsh":
        assert script.startswith("#compdef vlearn") and "bashcompinit" in script


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes(capsys, tmp_path):
    main(["completion", "bash"])
    script = tmp_path / "vlearn.bash"
    script.write_text(capsys.readouterr().out)
    (tmp_path / "cards.apkg").write_text("")
    probe = f"""
source {script}
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=(); _vlearn; echo "${{COMPREPLY[*]}}"; }}
t vlearn ex
t vlearn export ''
t vlearn export progress --format ''
t vlearn export anki {tmp_path}/ca
t vlearn completion f
"""
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["export", "anki progress -h --help", "json csv", f"{tmp_path}/cards.apkg", "fish"]


def test_completion_needs_no_content(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("VLEARN_CONTENT", str(tmp_path / "nowhere"))
    assert main(["completion", "bash"]) == 0
    assert "_vlearn" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_missing_folder_is_one_line(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "progress.json"
    assert main(["export", "progress", "--out", str(target)]) == 1
    line = _one_line_error(capsys)
    assert line.startswith("error: cannot find") and str(target) in line


def test_file_in_the_way_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["export", "anki", str(blocker / "cards.apkg")]) == 1
    assert str(blocker) in _one_line_error(capsys)


def test_folder_given_as_file_is_one_line(tmp_path, capsys):
    assert main(["export", "progress", "--format", "json", "--out", str(tmp_path)]) == 1
    assert str(tmp_path) in _one_line_error(capsys)


@pytest.mark.skipif(sys.platform == "win32" or (hasattr(__import__("os"), "geteuid")
                                                and __import__("os").geteuid() == 0),
                    reason="root writes read-only folders anyway")
def test_read_only_folder_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["export", "progress", "--out", str(locked / "p.json")]) == 1
    assert _one_line_error(capsys).startswith("error: cannot access")


def test_verify_shows_progress(capsys):
    assert main(["verify", "no-such-lab-a", "no-such-lab-b"]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[1/2] FAIL  no-such-lab-a")
    assert lines[1].startswith("[2/2] FAIL  no-such-lab-b")
    assert lines[-1] == "0 passed, 2 failed"

"""The package carries its content: a wheel installed into a fresh environment,
run from another folder, finds the same content as the checkout.

The wheel is built from a copy of the checkout's files (what git tracks plus
untracked files it does not ignore), so the test neither writes build/ into the
shared tree nor picks up stale build output. The fresh venv borrows the repo
venv's third-party packages through a .pth line (no download; the local index
is not needed) but not its editable `tui`: a .pth line adds a folder to
sys.path without running the .pth files inside it, and the wheel's own `tui`
sits earlier on the path.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COUNTS = ("days", "modules", "lessons", "walkthroughs", "comparisons", "day_pages", "labs", "projects",
          "kernels", "decks", "cards", "questions", "interviewers", "roles")


def _source_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _doctor(vlearn: Path, cwd: Path, env: dict) -> dict:
    out = subprocess.run([str(vlearn), "doctor", "--json", "--no-env"], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    base = tmp_path_factory.mktemp("wheel")
    src = _source_copy(base / "src")
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-w", str(dist), str(src)], check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("vlearn-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    purelib = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    (purelib / "_repo_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip >= 22.3 installs into another environment with --python (the venv has no pip of its own).
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=600)
    return wheel, venv, purelib


@pytest.mark.slow
def test_wheel_carries_content_and_doctor_matches_checkout(installed, tmp_path):
    wheel, venv, purelib = installed
    names = zipfile.ZipFile(wheel).namelist()
    for top in ("curriculum/plan.yaml", "flashcards/", "labs/", "kernels/", "data/rubric.yaml"):
        assert any(n.startswith(f"tui/_content/{top}") for n in names), top
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("VLEARN_CONTENT", "PYTHONPATH")}
    env["VLEARN_HOME"] = str(tmp_path / "home")
    got = _doctor(venv / "bin" / "vlearn", elsewhere, env)
    assert Path(got["content_root"]) == purelib / "tui" / "_content"
    assert got["content_source"] == "installed with the package"
    want = _doctor(Path(sys.executable).with_name("vlearn"), REPO, env)
    assert want["content_source"] == "repository checkout"
    assert {k: got[k] for k in COUNTS} == {k: want[k] for k in COUNTS}
    assert got["errors"] == want["errors"] == []

    # VLEARN_CONTENT still wins over the installed copy.
    env["VLEARN_CONTENT"] = str(REPO)
    assert _doctor(venv / "bin" / "vlearn", elsewhere, env)["content_root"] == str(REPO)

    # --version of both scripts, and the app's never starts the app.
    for script in ("vlearn", "vlearn-tui"):
        out = subprocess.run([str(venv / "bin" / script), "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        assert out.returncode == 0 and out.stdout.startswith(f"{script} "), out


def test_missing_content_is_one_message(tmp_path, monkeypatch, capsys):
    from tui.cli import main

    monkeypatch.setenv("VLEARN_CONTENT", str(tmp_path / "nowhere"))
    assert main(["review"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "curriculum/" in err[0] and "VLEARN_CONTENT" in err[0] and "Fix:" in err[0]


def test_missing_content_stops_the_app_before_it_starts(tmp_path, monkeypatch, capsys):
    from tui import app

    monkeypatch.setenv("VLEARN_CONTENT", str(tmp_path / "nowhere"))
    monkeypatch.setattr(sys, "argv", ["vlearn-tui"])
    monkeypatch.setattr(app.VlearnApp, "run", lambda self: pytest.fail("the app started"))
    assert app.main() == 1
    assert "no vlearn content" in capsys.readouterr().err


def test_checkout_wins_over_packaged_copy():
    from tui.core import paths

    assert paths.content_root() == REPO
    assert paths.content_source() == "repository checkout"
    assert paths.content_problem() is None

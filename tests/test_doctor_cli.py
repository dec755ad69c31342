"""`vlearn doctor` over real content trees, through the real console script."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "content"
REPO = Path(__file__).resolve().parents[1]


def doctor(content: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"VLEARN_CONTENT": str(content)}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "doctor", "--no-env", *args],
        capture_output=True, text=True, env=env, cwd=REPO,
    )


def test_doctor_json_counts_and_exit_zero(tmp_path):
    out = doctor(FIXTURE, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    data = json.loads(out.stdout)
    assert data["days"] == 3 and data["modules"] == 1
    assert data["lessons"] == 2 and data["walkthroughs"] == 1
    assert data["errors"] == []
    assert any("t-lab-missing" in w["message"] for w in data["warnings"])
    for key in ("labs", "projects", "kernels", "cards", "questions", "interviewers", "roles"):
        assert key in data


def test_doctor_reports_a_broken_lesson_at_its_line_and_exits_one(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    lesson = root / "curriculum/modules/m01_basics/01_intro.md"
    lesson.write_text(lesson.read_text().replace("title: Introduction", "title: [Introduction"))
    out = doctor(root, "--json")
    assert out.returncode == 1
    [error] = json.loads(out.stdout)["errors"]
    assert error["path"] == "curriculum/modules/m01_basics/01_intro.md"
    assert error["line"] == 3 and "YAML error" in error["message"]
    text = doctor(root)
    assert text.returncode == 1
    assert "error: curriculum/modules/m01_basics/01_intro.md:3: YAML error" in text.stdout


def test_catalog_cache_notices_edits(tmp_path):
    from tui.core.content import load_catalog_cached

    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    first = load_catalog_cached(root)
    assert first.lessons["t-intro"].title == "Introduction"
    again = load_catalog_cached(root)
    assert again.lessons["t-intro"].title == "Introduction"
    lesson = root / "curriculum/modules/m01_basics/01_intro.md"
    lesson.write_text(lesson.read_text().replace("title: Introduction", "title: Intro, revised"))
    assert load_catalog_cached(root).lessons["t-intro"].title == "Intro, revised"

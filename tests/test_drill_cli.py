"""`vlearn drill` and `vlearn interview --scripted` in a plain terminal, through real pipes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tui.core.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "content"
REPO = Path(__file__).resolve().parents[1]


def vlearn(home: Path, stdin: str, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"VLEARN_HOME": str(home), "VLEARN_CONTENT": str(FIXTURE)}
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=60)


def test_drill_records_answer_hints_and_rubric(vlearn_home):
    out = vlearn(vlearn_home, "two tensors\n:hint\n8 kv heads\n.\ny\nn\ny\ny\n", "drill", "--question", "t-question")
    assert out.returncode == 0, out.stderr
    assert "[hint 1 (early)] Two tensors per layer" in out.stdout and "Score: 75%" in out.stdout
    [row] = open_store(vlearn_home / "progress.db")["drills"].rows
    assert row["answer"] == "two tensors\n8 kv heads" and row["status"] == "graded"
    assert json.loads(row["rubric_ticks"]) == [0, 2, 3] and json.loads(row["hints_used"])[0]["early"] is True


def test_drill_with_unknown_question_says_so(vlearn_home):
    out = vlearn(vlearn_home, "", "drill", "--question", "nope")
    assert out.returncode == 2 and "no question 'nope'" in out.stderr


def test_scripted_interview_in_the_terminal(vlearn_home):
    answers = "\n".join(["answer one", ".", "follow-up answer", ".", "another", ".", "more", "."] * 2) + "\n"
    grades = "y\ny\nn\nn\n" * 2
    out = vlearn(vlearn_home, answers + grades, "interview", "--interviewer", "t-iv", "--scripted")
    assert out.returncode == 0, out.stderr
    assert "Let's start." in out.stdout and "Summary:" in out.stdout
    db = open_store(vlearn_home / "progress.db")
    [iv] = db["interviews"].rows
    assert iv["status"] == "finished" and iv["driver"] == "scripted"
    assert db["interview_grades"].count == 2


def test_drill_shows_markdown_as_text_not_markup(vlearn_home, tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    questions = root / "data/questions/test.yaml"
    questions.write_text(questions.read_text().replace(
        "2 × 32 × 8 × 128 × 2 = 131,072 bytes", "**Per token:** `2 × 32 × 8 × 128 × 2` = 131,072 bytes"))
    env = os.environ | {"VLEARN_HOME": str(vlearn_home), "VLEARN_CONTENT": str(root)}
    out = subprocess.run([sys.executable, "-m", "tui.cli", "drill", "--question", "t-question"], input="x\n.\nn\n",
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Per token: 2 × 32 × 8 × 128 × 2 = 131,072 bytes" in out.stdout and "**" not in out.stdout


def test_a_drill_answer_runs_against_its_lab_from_the_terminal(vlearn_home):
    """`:run` puts the answer so far in the lab's file and runs the lab's tests (a real run)."""
    env = os.environ | {"VLEARN_HOME": str(vlearn_home)}
    wrong = "def kv_bytes_per_token(*args, **kwargs):\n    return 0\n:run\n.\n" + "n\n" * 8
    out = subprocess.run([sys.executable, "-m", "tui.cli", "drill", "--question", "impl-kv-cache-sizing"],
                         input=wrong, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "':run' run it against lab py-kv-cache-sizing's tests" in out.stdout
    assert "[py-kv-cache-sizing: " in out.stdout and "failed" in out.stdout.split("[py-kv-cache-sizing: ", 1)[1]

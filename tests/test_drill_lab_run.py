"""A written drill answer runs through its lab's own tests (here: the CUDA
compile check everywhere; correctness and timing too on a GPU)."""
from __future__ import annotations

from tui.core.drills import run_answer_against_lab
from tui.core.labs.gpu import has_gpu
from tui.core.labs.runner import LabRunner


def test_a_drill_answer_runs_against_its_lab(catalog, db):
    question = catalog.questions["cuda-coalesced-copy"]
    lab = catalog.labs[question.lab]
    runner = LabRunner(db, warm=False)
    good = (lab.path / "solution" / lab.files[0]).read_text()
    result = run_answer_against_lab(catalog, question, good, runner)
    assert result.status == ("passed" if has_gpu() else "compiled"), result.summary()
    broken = good.replace(";", "", 1)
    result = run_answer_against_lab(catalog, question, broken, runner)
    assert not result.ok
    failure = next(t for t in result.tests if t.outcome == "failed")
    assert f"{lab.files[0]}:" in failure.message and "error" in failure.message
    # Answers are scratch work: they never count as lab runs.
    assert db.execute("select count(*) from lab_runs").fetchone()[0] == 0

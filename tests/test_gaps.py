"""Gap analysis on a real progress.db seeded through the real repository
functions, over a small content tree written by the test."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tui.core import drills, gaps, srs
from tui.core import rubric as rubric_store
from tui.core.content import load_catalog
from tui.core.content.vocab import COMPONENTS
from tui.core.labs.runner import RunResult, record_run
from tui.core.store import open_store, progress

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


def _lab(root: Path, ident: str, components: list[str], day: int) -> None:
    folder = root / "labs" / "python" / ident
    _write(folder / "lab.yaml", f"""
        id: {ident}
        title: Lab {ident}
        track: python
        day: {day}
        module: m01
        components: {components}
        files: [x.py]
    """)
    _write(folder / "README.md", "# lab\n")
    _write(folder / "starter" / "x.py", "\n")
    _write(folder / "solution" / "x.py", "\n")
    _write(folder / "tests" / "test_x.py", "def test_x():\n    pass\n")


def _question(ident: str, components: list[str]) -> str:
    return f"""
  - id: {ident}
    title: Question {ident}
    category: architecture
    difficulty: 2
    minutes: 5
    components: {components}
    prompt: Explain {ident}.
    hints: [one]
    follow_ups: [two]
    model_answer: The answer.
    rubric: [a, b, c, d]
"""


def make_content(root: Path) -> Path:
    """Two PagedAttention lessons, labs, a two-stage project, cards, questions, roles."""
    (root / "data").mkdir(parents=True)
    shutil.copy(REPO / "data" / "rubric.yaml", root / "data" / "rubric.yaml")
    _write(root / "data" / "roles.yaml", """
        roles:
          - id: pa-heavy
            title: PagedAttention-heavy role
            summary: For the test.
            weights: {paged_attention: 1.0, cuda_kernels: 0.9, scheduler: 0.5,
                      model_executor: 0.1, quantization: 0.1, distributed: 0.1}
          - id: sched-only
            title: Scheduler-only role
            summary: For the test.
            weights: {paged_attention: 0, cuda_kernels: 0, scheduler: 1,
                      model_executor: 0, quantization: 0, distributed: 0}
    """)
    _write(root / "curriculum" / "plan.yaml", """
        weeks: {0: Setup, 1: Basics}
        days:
          - {day: 0, week: 0, title: Setup, module: m01, objectives: [x], lessons: [], labs: [], cards: [], hours: 1}
          - {day: 1, week: 1, title: Paging, module: m01, objectives: [x], lessons: [l-pa-read],
             labs: [lab-pa-pass], cards: [kernels], drill: q-pa1, hours: 2}
          - {day: 2, week: 1, title: More, module: m01, objectives: [x], lessons: [l-pa-unread, l-sched],
             labs: [lab-pa-fail], cards: [paging], drill: q-sched, hours: 2}
    """)
    mod = root / "curriculum" / "modules" / "m01_basics"
    _write(mod / "module.yaml", "id: m01\nnumber: 1\ntitle: Basics\n")
    for n, (ident, comps) in enumerate(
        [("l-pa-read", "[paged_attention]"), ("l-pa-unread", "[paged_attention]"), ("l-sched", "[scheduler]")], 1
    ):
        _write(mod / f"0{n}_{ident}.md",
               f"---\nid: {ident}\ntitle: Lesson {ident}\nminutes: 10\ncomponents: {comps}\n"
               f"objectives: [x]\n---\n# {ident}\n")
    _lab(root, "lab-pa-fail", ["paged_attention"], 3)
    _lab(root, "lab-pa-pass", ["paged_attention"], 4)
    _lab(root, "lab-sched", ["scheduler"], 5)
    proj = root / "labs" / "projects" / "proj-pa"
    _write(proj / "project.yaml", """
        id: proj-pa
        title: PA project
        day: 7
        module: m01
        components: [paged_attention]
        files: [x.py]
        stages:
          - {id: one, title: One, tests: tests/stage1}
          - {id: two, title: Two, tests: tests/stage2}
    """)
    _write(proj / "README.md", "# p\n")
    _write(proj / "starter" / "x.py", "\n")
    _write(proj / "solution" / "x.py", "\n")
    _write(proj / "tests" / "stage1" / "test_a.py", "def test_a():\n    pass\n")
    _write(proj / "tests" / "stage2" / "test_b.py", "def test_b():\n    pass\n")
    cards = "".join(
        f"  - {{id: {cid}, front: F {cid}, back: B, tags: [{tag}], source: l-pa-read}}\n"
        for cid, tag in [("ck-1", "cuda_kernels"), ("ck-2", "cuda_kernels"), ("ck-3", "cuda_kernels"),
                         ("ck-4", "cuda_kernels"), ("pa-1", "paged_attention")]
    )
    _write(root / "flashcards" / "kernels.yaml", "id: kernels\ntitle: Kernels\ncards:\n" + cards)
    _write(root / "flashcards" / "paging.yaml",
           "id: paging\ntitle: Paging\ncards:\n  - {id: pa-2, front: F, back: B, tags: [paged_attention], source: l-pa-read}\n")
    _write(root / "data" / "questions" / "q.yaml", "questions:" + "".join(
        _question(q, c) for q, c in [("q-pa1", "[paged_attention]"), ("q-pa2", "[paged_attention]"),
                                      ("q-sched", "[scheduler]")]))
    return root


def _run(db, lab_id: str, status: str, kind: str = "lab", stage: str | None = None) -> None:
    record_run(db, RunResult(lab_id=lab_id, kind=kind, dir_kind="workspace", target=Path("."),
                             status=status, stage=stage, duration=2.0))


def _drill(db, catalog, qid: str, ticks: list[int]) -> None:
    d = drills.Drill(db, catalog.questions[qid]).start()
    d.finish("my answer")
    d.grade(ticks)


def seed(db, catalog) -> None:
    """Known evidence:
    paged_attention: rated 5 everywhere; labs 2 of 4 units (a pass, a fail, project 1/2 stages),
      one drill at 1/4, no cards studied -> over-confident.
    scheduler: rated 2; its lab passed, its drill 4/4 -> under-confident, no gap.
    cuda_kernels: not rated; 2 of 4 cards reviewed just now (retrievability 1) -> score 0.5.
    the other three: nothing at all."""
    progress.mark_lesson_read(db, "l-pa-read")
    _run(db, "lab-pa-fail", "failed")
    _run(db, "lab-pa-pass", "passed")
    _run(db, "proj-pa", "failed", "project", stage="two")
    _run(db, "lab-sched", "passed")
    _drill(db, catalog, "q-pa1", [0])
    _drill(db, catalog, "q-sched", [0, 1, 2, 3])
    for cid in ("ck-1", "ck-2"):
        srs.grade(db, cid, 3, NOW)
    grid = {("paged_attention", d): 5 for d in ("understanding", "explain", "implement", "optimize")}
    grid |= {("scheduler", d): 2 for d in ("understanding", "explain", "implement", "optimize")}
    rubric_store.record(db, grid)


@pytest.fixture
def world(tmp_path, vlearn_home):
    catalog = load_catalog(make_content(tmp_path / "content"))
    assert not catalog.errors, [str(p) for p in catalog.errors]
    db = open_store(vlearn_home / "progress.db")
    seed(db, catalog)
    yield catalog, db
    db.close()


def by_id(report: dict) -> dict:
    return {r["id"]: r for r in report["components"]}


def test_evidence_is_counted_and_traceable(world):
    catalog, db = world
    rows = by_id(gaps.analyse(catalog, db, now=NOW))
    pa = rows["paged_attention"]["evidence"]
    assert pa["labs"]["labs_total"] == 2 and pa["labs"]["labs_passed"] == 1
    assert (pa["labs"]["stages_total"], pa["labs"]["stages_passed"], pa["labs"]["score"]) == (2, 1, 0.5)
    assert pa["drills"]["score"] == 0.25 and pa["drills"]["drills"] == 1
    assert pa["cards"]["score"] is None and pa["cards"]["status"] == "no evidence"
    assert pa["cards"]["cards_tagged"] == 2 and pa["cards"]["cards_studied"] == 0
    # readiness = (0.35 x 0.5 + 0.40 x 0.25) / 0.75; level = 1 + 4 x readiness
    assert rows["paged_attention"]["readiness"] == round((0.35 * 0.5 + 0.4 * 0.25) / 0.75, 4)
    assert rows["paged_attention"]["evidence_level"] == 2.47
    ck = rows["cuda_kernels"]["evidence"]["cards"]
    assert (ck["cards_tagged"], ck["cards_studied"], ck["score"]) == (4, 2, 0.5)
    assert rows["cuda_kernels"]["evidence_level"] == 3.0
    assert rows["cuda_kernels"]["confidence"] == "not rated"
    assert rows["scheduler"]["evidence_level"] == 5.0 and rows["scheduler"]["gap"] == 0
    for comp in ("model_executor", "quantization", "distributed"):
        assert rows[comp]["status"] == "no evidence" and rows[comp]["evidence_level"] == "no evidence"


def test_card_evidence_follows_fsrs_retrievability(world):
    catalog, db = world
    later = NOW + dt.timedelta(days=20)
    sched = srs.scheduler(db, fuzz=False)
    expected = sum(sched.get_card_retrievability(srs.load_card(db, c).card, later) for c in ("ck-1", "ck-2"))
    cards = by_id(gaps.analyse(catalog, db, now=later))["cuda_kernels"]["evidence"]["cards"]
    assert expected < 2  # forgetting happened, so the figure below is not just a count
    assert cards["retrievability_sum"] == round(expected, 4)
    assert cards["score"] == round(expected / 4, 4)


def test_confidence_flags(world):
    catalog, db = world
    rows = by_id(gaps.analyse(catalog, db, now=NOW))
    assert rows["paged_attention"]["self_rating"]["average"] == 5
    assert rows["paged_attention"]["confidence"] == "over-confident"
    assert rows["scheduler"]["confidence"] == "under-confident"
    # A rating close to the evidence is not flagged.
    rubric_store.record(db, {("paged_attention", "understanding"): 3, ("paged_attention", "explain"): 2})
    assert by_id(gaps.analyse(catalog, db, now=NOW))["paged_attention"]["confidence"] == "consistent"


def test_ranking_with_and_without_a_role(world):
    catalog, db = world
    # No role: the three empty components (level 1, gap 3) lead, in vocabulary order.
    assert gaps.analyse(catalog, db, now=NOW)["ranking"] == [
        "model_executor", "quantization", "distributed", "paged_attention", "cuda_kernels", "scheduler"]
    report = gaps.analyse(catalog, db, role="pa-heavy", now=NOW)
    # priorities: PA 1.0 x 1.53, CK 0.9 x 1.0, the empty three 0.1 x 3, scheduler 0.5 x 0
    assert report["ranking"] == [
        "paged_attention", "cuda_kernels", "model_executor", "quantization", "distributed", "scheduler"]
    assert by_id(report)["paged_attention"]["priority"] == 1.53
    assert gaps.ranked_components(catalog, db, "sched-only")[0] != "scheduler"
    with pytest.raises(KeyError):
        gaps.analyse(catalog, db, role="nope")


def test_recommendations_prefer_what_is_not_done(world):
    catalog, db = world
    report = gaps.analyse(catalog, db, role="pa-heavy", now=NOW)
    assert [r["component"] for r in report["recommendations"]] == ["paged_attention", "cuda_kernels", "model_executor"]
    pa = report["recommendations"][0]
    assert [x["id"] for x in pa["lessons"]] == ["l-pa-unread"]  # the read one is left out
    assert [x["id"] for x in pa["labs"]] == ["lab-pa-fail", "proj-pa"]  # the passed lab is left out
    assert pa["labs"][0]["why"] == "not passed yet (1 run)"
    assert pa["labs"][1]["why"] == "1 of 2 stages passed"
    assert [x["id"] for x in pa["drills"]] == ["q-pa2", "q-pa1"]  # never tried, then the weak one
    assert pa["drills"][1]["why"] == "best 25% over 1 attempt"
    # Both decks hold one unstudied PagedAttention card; the one the plan has unlocked comes first.
    assert [x["id"] for x in pa["decks"]] == ["kernels", "paging"]
    assert pa["decks"][1]["why"] == "1 of 1 cards never studied; unlocks on day 2"
    ck = report["recommendations"][1]
    assert ck["decks"][0]["id"] == "kernels" and ck["decks"][0]["studied"] == 2
    assert ck["labs"] == [] and ck["drills"] == []  # nothing in the content for it


def test_text_report_names_flags_and_next_steps(world):
    catalog, db = world
    text = gaps.report_text(gaps.analyse(catalog, db, role="pa-heavy", now=NOW))
    assert text.splitlines()[0] == "Gaps against PagedAttention-heavy role"
    assert "over-confident" in text and "under-confident" in text
    assert "l-pa-unread" in text and "lab-pa-fail" in text


def test_empty_database_has_no_evidence_anywhere(vlearn_home, catalog):
    db = open_store(vlearn_home / "progress.db")
    report = gaps.analyse(catalog, db)
    db.close()
    assert [r["id"] for r in report["components"]] == list(COMPONENTS)
    for row in report["components"]:
        assert row["status"] == "no evidence" and row["readiness"] == "no evidence"
        assert row["self_rating"] is None and row["confidence"] == "no evidence"
        assert all(e["score"] is None for e in row["evidence"].values())


def test_cli_gaps_json_on_an_empty_database(vlearn_home):
    out = subprocess.run([sys.executable, "-m", "tui.cli", "gaps", "--json"], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert sorted(r["id"] for r in report["components"]) == sorted(COMPONENTS)
    assert {r["evidence_level"] for r in report["components"]} == {"no evidence"}
    bad = subprocess.run([sys.executable, "-m", "tui.cli", "gaps", "--role", "nope"], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=False)
    assert bad.returncode == 2 and "unknown role" in bad.stderr

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
    levels: {{no_hire: x, hire: y, strong_hire: z}}
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
        for cid, tag in [(f"ck-{i}", "cuda_kernels") for i in range(1, 11)] + [("pa-1", "paged_attention")]
    )
    _write(root / "flashcards" / "kernels.yaml", "id: kernels\ntitle: Kernels\ncards:\n" + cards)
    _write(root / "flashcards" / "paging.yaml",
           "id: paging\ntitle: Paging\ncards:\n  - {id: pa-2, front: F, back: B, tags: [paged_attention], source: l-pa-read}\n")
    _write(root / "data" / "questions" / "q.yaml", "questions:" + "".join(
        _question(q, c) for q, c in [("q-pa1", "[paged_attention]"), ("q-pa2", "[paged_attention]"),
                                      ("q-sched", "[scheduler]"), ("q-sched2", "[scheduler]")]))
    return root


def _run(db, lab_id: str, status: str, kind: str = "lab", stage: str | None = None) -> None:
    record_run(db, RunResult(lab_id=lab_id, kind=kind, dir_kind="workspace", target=Path("."),
                             status=status, stage=stage, duration=2.0))


def _drill(db, catalog, qid: str, ticks: list[int]) -> None:
    d = drills.Drill(db, catalog.questions[qid]).start()
    d.finish("my answer")
    d.grade(ticks)


def seed(db, catalog) -> None:
    """Known evidence (a source scores from 8 cards / 1 lab / 2 answers; a component from 2 sources):
    paged_attention: rated 5 everywhere; labs 2 of 4 units (a pass, a fail, project 1/2 stages),
      drills at 1/4 and 2/4, no cards studied -> level from labs + drills, over-confident.
    scheduler: rated 2; its lab passed, two drills at 4/4 -> level 5, under-confident, no gap.
    cuda_kernels: not rated; 8 of 10 cards reviewed just now -> cards score, but one source only.
    the other three: nothing at all."""
    progress.mark_lesson_read(db, "l-pa-read")
    _run(db, "lab-pa-fail", "failed")
    _run(db, "lab-pa-pass", "passed")
    _run(db, "proj-pa", "failed", "project", stage="two")
    _run(db, "lab-sched", "passed")
    _drill(db, catalog, "q-pa1", [0])
    _drill(db, catalog, "q-pa2", [0, 1])
    _drill(db, catalog, "q-sched", [0, 1, 2, 3])
    _drill(db, catalog, "q-sched2", [0, 1, 2, 3])
    for cid in [f"ck-{i}" for i in range(1, 9)]:
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
    assert pa["labs"]["labs_total"] == 2 and pa["labs"]["labs_passed"] == 1 and pa["labs"]["observations"] == 3
    assert (pa["labs"]["stages_total"], pa["labs"]["stages_passed"], pa["labs"]["score"]) == (2, 1, 0.5)
    assert pa["drills"]["score"] == 0.375 and pa["drills"]["drills"] == 2 and pa["drills"]["observations"] == 2
    assert pa["cards"]["score"] is None and pa["cards"]["status"] == "not enough evidence yet"
    assert pa["cards"]["cards_tagged"] == 2 and pa["cards"]["observations"] == 0
    # readiness = (0.35 x 0.5 + 0.40 x 0.375) / 0.75; level = 1 + 4 x readiness
    assert rows["paged_attention"]["readiness"] == round((0.35 * 0.5 + 0.4 * 0.375) / 0.75, 4)
    assert rows["paged_attention"]["evidence_level"] == 2.73
    assert rows["paged_attention"]["observations"] == 5
    assert rows["scheduler"]["evidence_level"] == 5.0 and rows["scheduler"]["gap"] == 0
    for comp in ("model_executor", "quantization", "distributed"):
        row = rows[comp]
        assert row["status"] == "not enough evidence yet" and row["evidence_level"] is None
        assert row["readiness"] is None and row["observations"] == 0 and row["basis"] == "unknown"


def test_one_source_is_not_enough_for_a_level(world):
    catalog, db = world
    ck = by_id(gaps.analyse(catalog, db, now=NOW))["cuda_kernels"]
    cards = ck["evidence"]["cards"]
    assert (cards["cards_tagged"], cards["cards_studied"], cards["status"]) == (10, 8, "evidence")
    assert ck["status"] == "not enough evidence yet" and ck["evidence_level"] is None
    assert ck["evidence_sources"] == ["cards"] and ck["observations"] == 8
    # It says what would give it: no lab exists for the component, so drills are the way.
    assert ck["needs"] == ["no lab covers cuda_kernels yet", "grade 2 drills or interview answers on cuda_kernels"]


def test_thin_sources_do_not_score(world):
    catalog, db = world
    srs.grade(db, "pa-1", 3, NOW)  # one card: far below the minimum of 8
    pa = by_id(gaps.analyse(catalog, db, now=NOW))["paged_attention"]["evidence"]["cards"]
    assert pa["observations"] == 1 and pa["score"] is None
    assert pa["needs"] == "study 7 more cards tagged paged_attention"


def test_a_compile_only_gpu_run_is_not_an_attempt(world):
    catalog, db = world
    _run(db, "lab-sched", "compiled")
    _run(db, "lab-pa-fail", "compiled")
    labs = gaps.lab_progress(catalog, db)
    assert labs["lab-pa-fail"]["runs"] == 1 and labs["lab-sched"]["runs"] == 1


def test_card_evidence_looks_a_week_ahead(world):
    """A card reviewed minutes ago is not proof of memory: the score is recall at now + HORIZON."""
    catalog, db = world
    sched = srs.scheduler(db, fuzz=False)
    studied = [f"ck-{i}" for i in range(1, 9)]
    for now in (NOW, NOW + dt.timedelta(days=20)):
        ahead = now + gaps.HORIZON
        expected = sum(sched.get_card_retrievability(srs.load_card(db, c).card, ahead) for c in studied)
        cards = by_id(gaps.analyse(catalog, db, now=now))["cuda_kernels"]["evidence"]["cards"]
        assert expected < 8 * 0.95  # forgetting is priced in even right after the review
        assert cards["retrievability_sum"] == round(expected, 4)
        assert cards["score"] == round(expected / 10, 4)


def test_confidence_flags_per_component_and_dimension(world):
    catalog, db = world
    rows = by_id(gaps.analyse(catalog, db, now=NOW))
    assert rows["paged_attention"]["self_rating"]["average"] == 5
    assert rows["paged_attention"]["confidence"] == "over-confident"
    assert rows["scheduler"]["confidence"] == "under-confident"
    assert rows["cuda_kernels"]["confidence"] == "not enough evidence yet"
    flags = {f["dimension"]: f for f in rows["paged_attention"]["flags"]}
    assert set(flags) == {"implement", "explain"}  # no card evidence, so understanding is not judged
    assert (flags["implement"]["evidence_level"], flags["implement"]["flag"]) == (3.0, "over-confident")
    assert (flags["explain"]["evidence_level"], flags["explain"]["observations"]) == (2.5, 2)
    # A rating close to the evidence is not flagged.
    rubric_store.record(db, {("paged_attention", "understanding"): 3, ("paged_attention", "explain"): 2,
                             ("paged_attention", "implement"): 3, ("paged_attention", "optimize"): 3})
    row = by_id(gaps.analyse(catalog, db, now=NOW))["paged_attention"]
    assert row["confidence"] == "consistent"
    assert {f["flag"] for f in row["flags"]} == {"consistent"}


def test_ranking_with_and_without_a_role(world):
    catalog, db = world
    # No role: the unknown three and cuda_kernels (level 1, gap 3) lead, in vocabulary order.
    assert gaps.analyse(catalog, db, now=NOW)["ranking"] == [
        "cuda_kernels", "model_executor", "quantization", "distributed", "paged_attention", "scheduler"]
    report = gaps.analyse(catalog, db, role="pa-heavy", now=NOW)
    # priorities: CK 0.9 x 3, PA 1.0 x 1.27, the empty three 0.1 x 3, scheduler 0.5 x 0
    assert report["ranking"] == [
        "cuda_kernels", "paged_attention", "model_executor", "quantization", "distributed", "scheduler"]
    assert by_id(report)["paged_attention"]["priority"] == 1.27
    assert gaps.ranked_components(catalog, db, "sched-only")[0] != "scheduler"
    with pytest.raises(KeyError):
        gaps.analyse(catalog, db, role="nope")


def test_recommendations_prefer_what_is_not_done(world):
    catalog, db = world
    report = gaps.analyse(catalog, db, role="pa-heavy", now=NOW)
    assert [r["component"] for r in report["recommendations"]] == ["cuda_kernels", "paged_attention", "model_executor"]
    pa = report["recommendations"][1]
    assert [x["id"] for x in pa["lessons"]] == ["l-pa-unread"]  # the read one is left out
    assert [x["id"] for x in pa["labs"]] == ["lab-pa-fail", "proj-pa"]  # the passed lab is left out
    assert pa["labs"][0]["why"] == "not passed yet (1 run)"
    assert pa["labs"][1]["why"] == "1 of 2 stages passed"
    assert [x["id"] for x in pa["drills"]] == ["q-pa1", "q-pa2"]  # the weakest first
    assert pa["drills"][0]["why"] == "best 25% over 1 attempt"
    # Both decks hold one unstudied PagedAttention card; the one the plan has unlocked comes first.
    assert [x["id"] for x in pa["decks"]] == ["kernels", "paging"]
    assert pa["decks"][1]["why"] == "1 of 1 cards never studied; unlocks on day 2"
    ck = report["recommendations"][0]
    assert ck["decks"][0]["id"] == "kernels" and ck["decks"][0]["studied"] == 8
    assert ck["labs"] == [] and ck["drills"] == []  # nothing in the content for it


def test_text_report_names_flags_counts_and_next_steps(world):
    catalog, db = world
    text = gaps.report_text(gaps.analyse(catalog, db, role="pa-heavy", now=NOW))
    assert text.splitlines()[0] == "Gaps against PagedAttention-heavy role"
    assert "over-confident" in text and "under-confident" in text
    assert "evidence 2.73 (5 observations)" in text
    assert "not enough evidence yet (8 observations)" in text
    assert "implement: self 5 vs labs 3.00 (3 observations) · over-confident" in text
    assert "to know more: no lab covers cuda_kernels yet; grade 2 drills" in text
    assert "l-pa-unread" in text and "lab-pa-fail" in text
    compact = gaps.compact_text(gaps.analyse(catalog, db, now=NOW))
    assert "not enough evidence yet" in compact and "2.73" in compact


def test_empty_database_has_no_evidence_anywhere(vlearn_home, catalog):
    db = open_store(vlearn_home / "progress.db")
    report = gaps.analyse(catalog, db)
    db.close()
    assert [r["id"] for r in report["components"]] == list(COMPONENTS)
    for row in report["components"]:
        assert row["status"] == "not enough evidence yet" and row["readiness"] is None
        assert row["self_rating"] is None and row["observations"] == 0
        assert all(e["score"] is None for e in row["evidence"].values())


def test_cli_gaps_json_on_a_one_drill_history(vlearn_home, catalog):
    """The case a new user met: one drill graded at 43 % must not rank its component as the smallest gap."""
    db = open_store(vlearn_home / "progress.db")
    question = next(q for q in catalog.questions.values() if q.components and len(q.rubric) >= 7)
    ticks = list(range(round(len(question.rubric) * 0.43)))
    d = drills.Drill(db, question).start()
    d.finish("my answer")
    d.grade(ticks)
    db.close()
    out = subprocess.run([sys.executable, "-m", "tui.cli", "gaps", "--json"], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    rows = by_id(report)
    assert sorted(rows) == sorted(COMPONENTS)
    for comp, row in rows.items():
        assert row["status"] == "not enough evidence yet" and row["evidence_level"] is None, comp
        expected = 1 if comp in question.components else 0
        assert row["observations"] == expected and row["evidence"]["drills"]["observations"] == expected, comp
    assert {r["gap"] for r in report["components"]} == {3.0}  # nobody looks closer to the target
    bad = subprocess.run([sys.executable, "-m", "tui.cli", "gaps", "--role", "nope"], capture_output=True,
                         text=True, cwd=REPO, timeout=60, check=False)
    assert bad.returncode == 2 and "unknown role" in bad.stderr

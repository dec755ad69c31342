"""Timed whiteboard drills: clock, hints that unlock at time marks, autosave,
rubric grading. The clock is a function so tests drive it. A drill's clock
runs only between start() and pause(): opening a drill shows the question,
and the learner starts it."""
from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from .content import Catalog
from .store import progress

AUTOSAVE_EVERY_S = 5


def hint_mark(index: int, count: int, limit_s: float) -> float:
    """Hint i of n unlocks at (i+1)/(n+1) of the clock: evenly spread, the last before time-up."""
    return limit_s * (index + 1) / (count + 1)


LEVEL_NAMES = {"no_hire": "No hire", "hire": "Hire", "strong_hire": "Strong hire"}


def levels_markdown(question) -> str:
    """The question's hiring-level anchors as Markdown, for grading yourself against them."""
    if not question.levels:
        return ""
    lines = [f"- **{LEVEL_NAMES[key]}:** {text}" for key, text in question.levels.items()]
    return "### What each decision sounds like\n\n" + "\n".join(lines)


def score_of(ticks: list[int], points: int) -> float:
    return round(len(set(ticks)) / points, 4) if points else 0.0


@dataclass
class Drill:
    db: Database
    question: object  # content.questions.Question
    clock: Callable[[], float] = time.monotonic
    limit_s: int = 0
    id: int | None = None
    answer: str = ""
    hints_used: list[dict] = field(default_factory=list)
    status: str = "running"
    _t0: float | None = None  # clock() when the clock last started; None while paused
    _offset: float = 0.0  # seconds spent before the last start

    def __post_init__(self) -> None:
        self.limit_s = self.limit_s or int(self.question.minutes * 60)

    # -- lifecycle -------------------------------------------------------
    def start(self, interview_id: int | None = None) -> Drill:
        """Start the clock (or carry on after a pause); the attempt is recorded
        the first time."""
        if self.id is None:
            with self.db.atomic():
                self.id = self.db["drills"].insert(
                    {
                        "question_id": self.question.id, "started_at": progress.stamp(), "limit_s": self.limit_s,
                        "elapsed_s": 0.0, "hints_used": "[]", "answer": "", "rubric_ticks": "[]",
                        "status": "running", "interview_id": interview_id,
                    }
                ).last_pk
        if self._t0 is None:
            self._t0 = self.clock()
        return self

    @property
    def running(self) -> bool:
        return self._t0 is not None

    def pause(self, text: str | None = None) -> None:
        """Stop the clock and save the answer and the time spent; start() carries on."""
        if self.id is None:
            return
        self._offset, self._t0 = self.elapsed(), None
        if text is not None:
            self.answer = text
        self._update(answer=self.answer, elapsed_s=round(self._offset, 1), saved_at=progress.stamp())

    @classmethod
    def resume(cls, db: Database, catalog: Catalog, drill_id: int, clock: Callable[[], float] = time.monotonic) -> Drill:
        row = db["drills"].get(drill_id)
        # Paused where it was left: start() carries on.
        drill = cls(db, catalog.questions[row["question_id"]], clock=clock, limit_s=row["limit_s"], id=drill_id)
        drill.answer = row["answer"] or ""
        drill.hints_used = json.loads(row["hints_used"] or "[]")
        drill._offset = row["elapsed_s"] or 0.0
        return drill

    def elapsed(self) -> float:
        return self._offset + (self.clock() - self._t0 if self._t0 is not None else 0.0)

    def remaining(self) -> float:
        return max(0.0, self.limit_s - self.elapsed())

    @property
    def timed_out(self) -> bool:
        return self.remaining() <= 0

    # -- hints -----------------------------------------------------------
    def hint_mark(self, index: int) -> float:
        return hint_mark(index, len(self.question.hints), self.limit_s)

    def unlocked_hints(self) -> list[int]:
        return [i for i in range(len(self.question.hints)) if self.elapsed() >= self.hint_mark(i)]

    def taken_hints(self) -> list[int]:
        return [h["index"] for h in self.hints_used]

    def take_hint(self, index: int) -> str:
        """Reveal hint `index`; taking it before its time mark is recorded as early."""
        if index not in self.taken_hints():
            at = round(self.elapsed(), 1)
            self.hints_used.append({"index": index, "at_s": at, "early": at < self.hint_mark(index)})
            self._update(hints_used=json.dumps(self.hints_used))
        return self.question.hints[index]

    def next_hint(self) -> int | None:
        taken = self.taken_hints()
        return next((i for i in range(len(self.question.hints)) if i not in taken), None)

    # -- answer ----------------------------------------------------------
    def autosave(self, text: str) -> None:
        self.answer = text
        self._update(answer=text, elapsed_s=round(self.elapsed(), 1), saved_at=progress.stamp())

    def finish(self, text: str) -> None:
        """Submit (or time-up): the clock stops and the answer is final."""
        self.answer = text
        self._offset, self._t0 = self.elapsed(), None
        self.status = "timed_out" if self.timed_out else "submitted"
        self._update(answer=text, elapsed_s=round(min(self.elapsed(), self.limit_s), 1),
                     finished_at=progress.stamp(), status=self.status, saved_at=progress.stamp())

    def grade(self, ticks: list[int]) -> float:
        score = score_of(ticks, len(self.question.rubric))
        self.status = "graded"
        self._update(rubric_ticks=json.dumps(sorted(set(ticks))), score=score, status="graded")
        progress.log_activity(self.db, "drill", self.question.id)
        return score

    def _update(self, **values) -> None:
        with self.db.atomic():
            self.db["drills"].update(self.id, values)



def unfinished(db: Database) -> list[dict]:
    """Drills left running by a crash or a kill: their autosaved answers are kept."""
    return list(db.query("select * from drills where status = 'running' and interview_id is null order by id desc"))


def open_drill(db: Database, catalog: Catalog, question_id: str | None = None,
               clock: Callable[[], float] = time.monotonic) -> tuple[Drill, bool]:
    """The drill left unfinished (for this question, if one is named), else a new
    one on it or on the question most needed; (drill, resumed). Its clock is not
    running: call start() when the learner is ready."""
    for row in unfinished(db):
        if row["question_id"] in catalog.questions and question_id in (None, row["question_id"]):
            return Drill.resume(db, catalog, row["id"], clock=clock), True
    question = catalog.questions[question_id] if question_id else choose_question(catalog, db)
    return Drill(db, question, clock=clock), False


def history(db: Database, question_id: str | None = None) -> list[dict]:
    sql = "select * from drills where status = 'graded'"
    args = []
    if question_id:
        sql += " and question_id = ?"
        args.append(question_id)
    return list(db.query(sql + " order by id", args))


def choose_question(catalog: Catalog, db: Database, category: str | None = None, rng: random.Random | None = None):
    """Never-tried questions first, then the lowest-scored, then the longest ago."""
    rng = rng or random.Random()
    pool = [q for q in catalog.questions.values() if category is None or q.category == category]
    if not pool:
        return None
    best: dict[str, tuple[float, int]] = {}
    for row in db.query("select question_id, max(score) s, max(id) last from drills where status = 'graded' group by question_id"):
        best[row["question_id"]] = (row["s"] or 0.0, row["last"])
    rng.shuffle(pool)
    return min(pool, key=lambda q: (q.id in best, best.get(q.id, (0, 0))[0], best.get(q.id, (0, 0))[1]))


def component_scores(catalog: Catalog, db: Database) -> dict[str, tuple[float, int]]:
    """Mean drill and interview rubric score per rubric component: (mean 0..1, count)."""
    sums: dict[str, list[float]] = {}
    rows = list(db.query("select question_id, score from drills where status = 'graded'"))
    rows += list(db.query("select question_id, score from interview_grades where score is not null"))
    for row in rows:
        question = catalog.questions.get(row["question_id"])
        for component in getattr(question, "components", []):
            sums.setdefault(component, []).append(row["score"])
    return {c: (round(sum(v) / len(v), 4), len(v)) for c, v in sums.items()}


def run_answer_against_lab(catalog: Catalog, question, answer: str, runner=None):
    """Run a written answer as the lab's file, through the lab's own tests."""
    from .labs.runner import shared_runner

    lab = catalog.labs.get(question.lab or "")
    if lab is None:
        raise ValueError(f"question {question.id} names no lab that exists ({question.lab!r})")
    runner = runner or shared_runner()
    scratch = Path(tempfile.mkdtemp(prefix=f"vlearn-drill-{lab.id}-"))
    try:
        shutil.copytree(lab.path / "starter", scratch, dirs_exist_ok=True)
        (scratch / lab.files[0]).write_text(answer, encoding="utf-8")
        return runner.run(lab, scratch, record=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

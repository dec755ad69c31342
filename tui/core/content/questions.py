"""The question bank (data/questions/*.yaml) and the mock interviewers (data/interviewers.yaml).

Each questions file holds a top-level `questions:` list; `interviewers.yaml`
holds an `interviewers:` list. A bad field is reported as `path:line` and only
the item holding it is skipped. References (a question's `lab`, an
interviewer's question ids) are checked in `check(ctx)`, after every kind has
loaded.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .base import Fields, LineDict, LoadContext, load_items
from .curriculum import check_link, extract_links
from .vocab import COMPONENTS, DIMENSIONS, QUESTION_CATEGORIES

ORDER = 40


QUESTION_KEYS = {
    "id", "title", "category", "difficulty", "minutes", "components", "prompt", "hints",
    "follow_ups", "model_answer", "rubric", "lab", "levels",
}
LEVELS = ("no_hire", "hire", "strong_hire")  # what each hiring decision sounds like for this question
INTERVIEWER_KEYS = {
    "id", "title", "focus", "style", "opening", "pools", "rubric_weights", "questions_per_session", "mode",
}
# How an interviewer runs a question: `ask` it and follow up; `review`: hand over the question's
# artifact (its code or readout) as a change to review; `investigate`: give the first symptom, then
# one measurement (a hint starting "Measurement:") per answer, in order, before any follow-up.
INTERVIEWER_MODES = ("ask", "review", "investigate")
MEASUREMENT = "Measurement:"
POOL_KEYS = {"category", "components", "questions", "weight"}
RUBRIC_POINTS = (4, 8)  # a checklist shorter than 4 cannot grade; longer than 8 nobody ticks


@dataclass
class Question:
    id: str
    title: str
    category: str
    difficulty: int  # 1 (warm-up) .. 5 (staff-level)
    minutes: int  # the drill's clock
    components: list[str]
    prompt: str  # Markdown
    hints: list[str]  # unlocked in this order
    follow_ups: list[str]
    model_answer: str  # Markdown
    rubric: list[str]  # checklist points the learner ticks
    lab: str | None  # a lab whose tests a written answer can run against
    origin: str  # "path:line"
    levels: dict[str, str] = field(default_factory=dict)  # LEVELS -> what an answer at that level sounds like
    path: Path = field(repr=False, default=None)
    lines: dict = field(repr=False, default_factory=dict)  # key -> line, for later checks

    @property
    def artifact(self) -> str:
        """The code or readout the prompt hands over (its first fenced block), or ''."""
        found = re.search(r"^```.*?^```", self.prompt, re.M | re.S)
        return found.group(0) if found else ""

    @property
    def measurements(self) -> list[str]:
        """The hints an investigating interviewer reveals one at a time, in order."""
        return [h for h in self.hints if h.startswith(MEASUREMENT)]


@dataclass
class Pool:
    """Questions an interviewer draws from; `weight` is the pool's share of draws."""

    weight: float
    category: str | None = None
    components: list[str] = field(default_factory=list)  # any of these
    questions: list[str] = field(default_factory=list)  # explicit ids instead of a selector
    line: int = 0

    def matches(self, question: Question) -> bool:
        if self.questions:
            return question.id in self.questions
        if self.category and question.category != self.category:
            return False
        if self.components and not set(self.components) & set(question.components):
            return False
        return True


@dataclass
class Interviewer:
    id: str
    title: str
    focus: str
    style: str  # how they follow up
    opening: str  # the first thing they say
    pools: list[Pool]
    rubric_weights: dict[str, float]  # dimension -> weight
    questions_per_session: int
    origin: str
    mode: str = "ask"  # INTERVIEWER_MODES
    path: Path = field(repr=False, default=None)
    line: int = field(repr=False, default=0)

    def weighted_questions(self, questions: dict) -> dict[str, float]:
        """question id -> draw weight: each pool's weight is split evenly over its members.

        A question in two pools gets both shares. The engine samples from this
        (after re-weighting by the learner's gaps, once there are any).
        """
        weights: dict[str, float] = {}
        for pool in self.pools:
            members = [q.id for q in questions.values() if pool.matches(q) and self.can_run(q)]
            for qid in members:
                weights[qid] = weights.get(qid, 0.0) + pool.weight / len(members)
        return weights

    def can_run(self, question: Question) -> bool:
        """A reviewer needs something to review; an investigator, measurements to reveal."""
        if self.mode == "review":
            return bool(question.artifact)
        if self.mode == "investigate":
            return bool(question.measurements)
        return True


# ------------------------------------------------------------------- helpers


def _unknown_keys(f: Fields, allowed: set[str]) -> None:
    # A typo ("follow_up", "labs") would otherwise drop the field silently.
    for key in f.data:
        if key not in allowed:
            f.source.warning(f.line(key), f"{f.what}unknown field '{key}' (ignored)")


def _points(f: Fields, key: str, minimum: int = 1, maximum: int | None = None) -> list[str]:
    values = [v.strip() for v in f.str_list(key)]
    if isinstance(f.data.get(key), list):  # missing or mistyped is reported already
        if any(not v for v in values):
            f.error(key, f"field '{key}' has an empty item")
        if len(values) < minimum:
            f.error(key, f"field '{key}' needs at least {minimum} item(s), has {len(values)}")
        if maximum is not None and len(values) > maximum:
            f.error(key, f"field '{key}' allows at most {maximum} items, has {len(values)}")
    return values


def _text(f: Fields, key: str) -> str:
    value = f.str(key)
    if value is not None and not value.strip():
        f.error(key, f"field '{key}' is empty")
    return (value or "").strip()


# ------------------------------------------------------------------ questions


def _build_question(f: Fields) -> Question:
    qid = f.str("id")
    if qid is not None and not qid.strip():
        f.error("id", "field 'id' is empty")
    difficulty = f.int("difficulty", minimum=1)
    if isinstance(difficulty, int) and difficulty > 5:
        f.error("difficulty", f"field 'difficulty' must be 1..5, not {difficulty}")
    components = f.subset("components", set(COMPONENTS))
    if "components" in f.data and not components and not f.failed:
        f.error("components", "field 'components' must name at least one rubric component")
    lab = f.str("lab", None)
    levels = _levels(f)
    _unknown_keys(f, QUESTION_KEYS)
    return Question(
        id=qid,
        title=(f.str("title", None) or qid or "").strip(),
        category=f.choice("category", QUESTION_CATEGORIES),
        difficulty=difficulty,
        minutes=f.int("minutes", minimum=1),
        components=components,
        prompt=_text(f, "prompt"),
        hints=_points(f, "hints"),
        follow_ups=_points(f, "follow_ups"),
        model_answer=_text(f, "model_answer"),
        rubric=_points(f, "rubric", *RUBRIC_POINTS),
        lab=lab.strip() if lab else None,
        levels=levels,
        origin=f"{f.source.rel}:{f.data.line_of('id')}",
        path=f.source.path,
        lines={key: f.line(key) for key in f.data},
    )


def _levels(f: Fields) -> dict[str, str]:
    """The hiring-level anchors: exactly no_hire, hire and strong_hire, each a non-empty text."""
    raw = f.mapping("levels", None)
    if raw is None:
        if "levels" not in f.data:
            f.error(None, "missing field 'levels' (no_hire, hire, strong_hire): what each decision sounds like")
        return {}
    levels = {}
    for key in LEVELS:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            f.error("levels", f"field 'levels' needs a non-empty '{key}' text")
        else:
            levels[key] = value.strip()
    for key in raw:
        if key not in LEVELS:
            f.error("levels", f"field 'levels': unknown level '{key}' (known: {', '.join(LEVELS)})")
    return levels


def _load_questions(ctx: LoadContext) -> None:
    for path in ctx.files("data/questions", "*.yaml"):
        src = ctx.source(path)
        load_items(src, src.read_list("questions"), _build_question, ctx.catalog.questions, "question")


# --------------------------------------------------------------- interviewers


def _build_pool(f: Fields) -> Pool:
    weight = f.number("weight")
    if isinstance(weight, float) and weight <= 0:
        f.error("weight", f"field 'weight' must be above 0, not {weight:g}")
    category = f.choice("category", QUESTION_CATEGORIES, None)
    components = f.subset("components", set(COMPONENTS), [])
    questions = f.str_list("questions", [])
    if questions and (category or components):
        f.error("questions", "a pool lists question ids or selects by category/components, not both")
    if not (questions or category or components or "category" in f.data or "components" in f.data):
        f.error(None, "a pool needs 'category', 'components' or 'questions'")
    _unknown_keys(f, POOL_KEYS)
    return Pool(weight=weight, category=category, components=components, questions=questions, line=f.line())


def _build_interviewer(f: Fields) -> Interviewer:
    pools = []
    raw_pools = f.list("pools") or []
    if "pools" in f.data and isinstance(f.data["pools"], list) and not raw_pools:
        f.error("pools", "field 'pools' is empty")
    for raw in raw_pools:
        if not isinstance(raw, LineDict):
            f.error("pools", "each pool must be a mapping")
            continue
        pf = Fields(f.source, raw, f"{f.what}pool")
        pool = _build_pool(pf)
        f.failed |= pf.failed
        pools.append(pool)
    weights: dict[str, float] = {}
    raw_weights = f.mapping("rubric_weights") or {}
    for dim, value in raw_weights.items():
        line = raw_weights.line_of(dim) if isinstance(raw_weights, LineDict) else f.line("rubric_weights")
        if dim not in DIMENSIONS:
            f.failed = True
            f.source.error(line, f"{f.what}rubric_weights: unknown dimension {dim!r} (known: {', '.join(DIMENSIONS)})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            f.failed = True
            f.source.error(line, f"{f.what}rubric_weights: '{dim}' must be a number ≥ 0")
        else:
            weights[dim] = float(value)
    if raw_weights and not f.failed and not any(weights.values()):
        f.error("rubric_weights", "rubric_weights must give some dimension a weight above 0")
    _unknown_keys(f, INTERVIEWER_KEYS)
    return Interviewer(
        id=f.str("id"),
        title=_text(f, "title"),
        focus=_text(f, "focus"),
        style=_text(f, "style"),
        opening=_text(f, "opening"),
        pools=pools,
        rubric_weights=weights,
        questions_per_session=f.int("questions_per_session", 3, minimum=1),
        mode=f.choice("mode", INTERVIEWER_MODES, "ask"),
        origin=f"{f.source.rel}:{f.data.line_of('id')}",
        path=f.source.path,
        line=f.data.line_of("id"),
    )


def _load_interviewers(ctx: LoadContext) -> None:
    path = ctx.root / "data" / "interviewers.yaml"
    if not path.is_file():
        return  # no interviewers yet: doctor shows 0; the content test wants 10
    src = ctx.source(path)
    load_items(src, src.read_list("interviewers"), _build_interviewer, ctx.catalog.interviewers, "interviewer")


def load(ctx: LoadContext) -> None:
    _load_questions(ctx)
    _load_interviewers(ctx)


# ----------------------------------------------------------------- references


def check(ctx: LoadContext) -> None:
    catalog = ctx.catalog
    for q in catalog.questions.values():
        src = ctx.source(q.path)
        if q.lab and catalog.resolve("lab", q.lab) is None:
            src.warning(q.lines.get("lab", 0), f"question {q.id}: lab '{q.lab}' is not written yet")
        for key in ("prompt", "model_answer"):
            # Block scalars start on the line after their key.
            first = q.lines.get(key, 0) + 1
            for link in extract_links(getattr(q, key), first):
                check_link(ctx, src, link, q.path.parent)
    for iv in catalog.interviewers.values():
        src = ctx.source(iv.path)
        for pool in iv.pools:
            # An unknown id never matches, so the rest of the interviewer stays usable.
            missing = [qid for qid in pool.questions if qid not in catalog.questions]
            for qid in missing:
                src.error(pool.line, f"interviewer {iv.id}: unknown question id '{qid}'")
            if not missing and not any(pool.matches(q) for q in catalog.questions.values()):
                src.warning(pool.line, f"interviewer {iv.id}: this pool matches no question yet")
            idle = [qid for qid in pool.questions if qid in catalog.questions and not iv.can_run(catalog.questions[qid])]
            if idle:
                need = "an artifact (a fenced block in its prompt)" if iv.mode == "review" else "'Measurement:' hints"
                src.warning(pool.line, f"interviewer {iv.id} ({iv.mode}): {', '.join(idle)} lack {need} and are never drawn")
        drawable = iv.weighted_questions(catalog.questions)
        if len(drawable) < iv.questions_per_session:
            src.warning(
                iv.line,
                f"interviewer {iv.id}: its pools hold {len(drawable)} question(s), "
                f"fewer than questions_per_session={iv.questions_per_session}",
            )

"""The self-assessment rubric (data/rubric.yaml) and target roles (data/roles.yaml).

The rubric must name exactly the six components of `vocab.COMPONENTS` and the
four dimensions of `vocab.DIMENSIONS` (assessments are stored by those
ids), with a 1-5 scale. A rubric with any error is left out
(`Catalog.rubric` stays None) and `default_rubric()` stands in, so the app and
the gap analysis still work. A broken role is skipped; the others load.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .base import Fields, LineDict, LoadContext, load_items
from .vocab import COMPONENTS, DIMENSIONS

ORDER = 45
SCORES = (1, 2, 3, 4, 5)

# The roadmap's scoring guide, used when data/rubric.yaml is missing or broken.
DEFAULT_SCALE = {
    1: ("Aware", "Aware it exists"),
    2: ("Knows what it does", "Know what it does"),
    3: ("Understands how it works", "Understand how it works"),
    4: ("Can implement", "Can implement from scratch"),
    5: ("Can optimize", "Can optimize and improve"),
}
DEFAULT_TARGET = 4.0


@dataclass
class Level:
    score: int
    label: str
    meaning: str


@dataclass
class Dimension:
    id: str
    title: str
    question: str = ""


@dataclass
class Component:
    id: str
    title: str
    covers: str = ""
    anchors: dict[int, str] = field(default_factory=dict)  # score -> what it looks like here


@dataclass
class Rubric:
    target: float
    scale: dict[int, Level]
    dimensions: list[Dimension]
    components: list[Component]
    origin: str

    def component(self, cid: str) -> Component | None:
        return next((c for c in self.components if c.id == cid), None)

    def dimension(self, did: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.id == did), None)

    def meaning(self, score: int, component: str | None = None) -> str:
        """The scale's words for a score, plus the component's anchor when it has one."""
        level = self.scale.get(score)
        if level is None:
            return ""
        text = f"{score} · {level.label}: {level.meaning}"
        comp = self.component(component) if component else None
        if comp and score in comp.anchors:
            text += f"\n{comp.title} at {score}: {comp.anchors[score]}"
        return text


@dataclass
class Role:
    id: str
    title: str
    summary: str
    weights: dict[str, float]  # component -> 0..1
    skills: list[str]
    interviewers: list[str]
    origin: str
    emphasis: str = ""  # what this role's interview loops weigh most
    sources: list[str] = field(default_factory=list)  # public job descriptions (URLs)
    path: object = field(repr=False, default=None)
    line: int = field(repr=False, default=0)


def default_rubric() -> Rubric:
    return Rubric(
        target=DEFAULT_TARGET,
        scale={s: Level(s, label, meaning) for s, (label, meaning) in DEFAULT_SCALE.items()},
        dimensions=[Dimension(d, d.capitalize()) for d in DIMENSIONS],
        components=[Component(c, c.replace("_", " ").capitalize()) for c in COMPONENTS],
        origin="(built-in)",
    )


def rubric_of(catalog) -> Rubric:
    """The loaded rubric, or the built-in one when data/rubric.yaml is unusable."""
    return getattr(catalog, "rubric", None) or default_rubric()


# -------------------------------------------------------------------- rubric


def _exact_ids(f: Fields, key: str, items: list, expected: tuple[str, ...], what: str) -> None:
    got = [i.id for i in items]
    missing = [e for e in expected if e not in got]
    unknown = [g for g in got if g not in expected]
    if missing:
        f.error(key, f"{what}: missing {', '.join(map(repr, missing))} (must be exactly {', '.join(expected)})")
    for g in unknown:
        f.error(key, f"{what}: unknown id {g!r} (must be exactly {', '.join(expected)})")


def _entries(f: Fields, key: str, build, what: str) -> list:
    out, seen = [], set()
    for raw in f.list(key) or []:
        if not isinstance(raw, LineDict):
            f.error(key, f"each {what} must be a mapping")
            continue
        sub = Fields(f.source, raw, f"{what} {raw.get('id', raw.get('score', '?'))}")
        item = build(sub)
        f.failed |= sub.failed
        if sub.failed:
            continue
        ident = getattr(item, "id", getattr(item, "score", None))
        if ident in seen:
            f.failed = True
            f.source.error(raw.line, f"duplicate {what} {ident!r}")
            continue
        seen.add(ident)
        out.append(item)
    return out


def _build_level(f: Fields) -> Level:
    score = f.int("score")
    if isinstance(score, int) and score not in SCORES:
        f.error("score", f"score must be 1..5, not {score}")
    return Level(score, (f.str("label") or "").strip(), (f.str("meaning") or "").strip())


def _build_dimension(f: Fields) -> Dimension:
    return Dimension(f.str("id"), (f.str("title") or "").strip(), (f.str("question", "") or "").strip())


def _build_component(f: Fields) -> Component:
    anchors: dict[int, str] = {}
    raw = f.mapping("anchors", {})
    for key, text in raw.items():
        line = raw.line_of(key) if isinstance(raw, LineDict) else f.line("anchors")
        if isinstance(key, bool) or not isinstance(key, int) or key not in SCORES:
            f.failed = True
            f.source.error(line, f"{f.what}anchors: key {key!r} must be a score 1..5")
        elif not isinstance(text, str) or not text.strip():
            f.failed = True
            f.source.error(line, f"{f.what}anchors: score {key} needs a text")
        else:
            anchors[key] = text.strip()
    return Component(f.str("id"), (f.str("title") or "").strip(), (f.str("covers", "") or "").strip(), anchors)


def _load_rubric(ctx: LoadContext) -> None:
    path = ctx.root / "data" / "rubric.yaml"
    if not path.is_file():
        return  # doctor reports rubric: false; the built-in rubric stands in
    src = ctx.source(path)
    data = src.read_mapping()
    if data is None:
        return
    f = Fields(src, data, "rubric")
    target = f.number("target", DEFAULT_TARGET)
    if isinstance(target, float) and not 1 <= target <= 5:
        f.error("target", f"target must be between 1 and 5, not {target:g}")
    levels = _entries(f, "scale", _build_level, "scale level")
    if levels and sorted(lv.score for lv in levels) != list(SCORES):
        f.error("scale", "scale must define each score 1, 2, 3, 4, 5 exactly once")
    dimensions = _entries(f, "dimensions", _build_dimension, "dimension")
    _exact_ids(f, "dimensions", dimensions, DIMENSIONS, "dimensions")
    components = _entries(f, "components", _build_component, "component")
    _exact_ids(f, "components", components, COMPONENTS, "components")
    for key in data:
        if key not in ("target", "scale", "dimensions", "components"):
            src.warning(data.line_of(key), f"rubric: unknown field '{key}' (ignored)")
    if f.failed:
        return
    # Stored order is the canonical one, whatever order the file uses.
    dimensions.sort(key=lambda d: DIMENSIONS.index(d.id))
    components.sort(key=lambda c: COMPONENTS.index(c.id))
    ctx.catalog.rubric = Rubric(
        target=target,
        scale={lv.score: lv for lv in levels},
        dimensions=dimensions,
        components=components,
        origin=f"{src.rel}:{data.line}",
    )


# --------------------------------------------------------------------- roles

ROLE_KEYS = {"id", "title", "summary", "weights", "skills", "interviewers", "emphasis", "sources"}


def _build_role(f: Fields) -> Role:
    weights: dict[str, float] = {}
    raw = f.mapping("weights") or {}
    for comp, value in raw.items():
        line = raw.line_of(comp) if isinstance(raw, LineDict) else f.line("weights")
        if comp not in COMPONENTS:
            f.failed = True
            f.source.error(line, f"{f.what}weights: unknown component {comp!r} (known: {', '.join(COMPONENTS)})")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            f.failed = True
            f.source.error(line, f"{f.what}weights: '{comp}' must be a number from 0 to 1")
        else:
            weights[comp] = float(value)
    if raw and not f.failed:
        missing = [c for c in COMPONENTS if c not in weights]
        if missing:
            f.error("weights", f"weights: give every component a weight; missing {', '.join(missing)}")
        elif not any(weights.values()):
            f.error("weights", "weights: at least one component needs a weight above 0")
    for key in f.data:
        if key not in ROLE_KEYS:
            f.source.warning(f.line(key), f"{f.what}unknown field '{key}' (ignored)")
    sources = f.str_list("sources", [])
    for url in sources:
        if not url.startswith(("https://", "http://")):
            f.error("sources", f"sources: {url!r} is not a URL (cite the public job description)")
    return Role(
        id=f.str("id"),
        title=(f.str("title") or "").strip(),
        summary=(f.str("summary", "") or "").strip(),
        weights=weights,
        skills=f.str_list("skills", []),
        interviewers=f.str_list("interviewers", []),
        emphasis=(f.str("emphasis", "") or "").strip(),
        sources=sources,
        origin=f"{f.source.rel}:{f.data.line_of('id')}",
        path=f.source.path,
        line=f.data.line_of("interviewers"),
    )


def _load_roles(ctx: LoadContext) -> None:
    path = ctx.root / "data" / "roles.yaml"
    if not path.is_file():
        return
    src = ctx.source(path)
    load_items(src, src.read_list("roles"), _build_role, ctx.catalog.roles, "role")


# ---------------------------------------------------------------- milestones


@dataclass
class Milestone:
    """One of the roadmap's weekly milestones, judged by its components' evidence."""

    id: str
    week: int
    text: str
    components: list[str]
    origin: str


def _build_milestone(f: Fields) -> Milestone:
    components = f.subset("components", set(COMPONENTS))
    if "components" in f.data and not components and not f.failed:
        f.error("components", "field 'components' must name at least one rubric component")
    week = f.int("week", minimum=1)
    if isinstance(week, int) and week > 4:
        f.error("week", f"field 'week' must be 1..4, not {week}")
    return Milestone(id=f.str("id"), week=week, text=f.str("text"), components=components,
                     origin=f"{f.source.rel}:{f.data.line_of('id')}")


def _load_milestones(ctx: LoadContext) -> None:
    path = ctx.root / "data" / "milestones.yaml"
    if path.is_file():
        src = ctx.source(path)
        load_items(src, src.read_list("milestones"), _build_milestone, ctx.catalog.milestones, "milestone")


def load(ctx: LoadContext) -> None:
    _load_rubric(ctx)
    _load_roles(ctx)
    _load_milestones(ctx)


def check(ctx: LoadContext) -> None:
    known = ctx.catalog.interviewers
    if not known:
        return  # no interviewers loaded at all: nothing to check against
    for role in ctx.catalog.roles.values():
        for iv in role.interviewers:
            if iv not in known:
                ctx.source(role.path).warning(role.line, f"role {role.id}: unknown interviewer '{iv}'")

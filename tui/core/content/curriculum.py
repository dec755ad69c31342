"""The 28-day plan, the nine modules, their lessons and the day pages."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .base import ContentReadError, Fields, LoadContext, Problem, Source, add_unique, load_items, read_content_text
from .vocab import COMPONENTS, LINK_SCHEMES

ORDER = 10

LINK_RE = re.compile(r"(?<!!)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


@dataclass(frozen=True)
class Link:
    text: str
    target: str
    line: int  # line in the file


LESSON_KINDS = ("lesson", "walkthrough", "comparison")


@dataclass
class Module:
    id: str
    number: int
    title: str
    summary: str
    hours: float
    objectives: list[str]
    folder: Path
    origin: str
    lessons: list[str] = field(default_factory=list)  # ids, in reading order
    order: list[str] = field(default_factory=list)  # module.yaml `lessons`, the order the module states
    order_line: int = 0


@dataclass
class Lesson:
    id: str
    title: str
    minutes: int
    components: list[str]
    objectives: list[str]
    vllm_refs: list[str]
    kind: str  # one of LESSON_KINDS
    module: str
    path: Path
    origin: str
    body: str
    body_line: int
    links: list[Link]
    refs_line: int = 0


@dataclass
class DayPage:
    day: int
    path: Path
    origin: str
    body: str
    links: list[Link]


@dataclass
class Day:
    day: int
    week: int
    title: str
    module: str
    objectives: list[str]
    lessons: list[str]
    labs: list[str]
    cards: list[str]  # deck ids or card tags
    drill: str | None
    hours: float
    origin: str
    line: int

    def checklist(self) -> list[tuple[str, str]]:
        """(key, kind) for every item the learner ticks, in order."""
        items = [(f"lesson:{i}", "lesson") for i in self.lessons]
        items += [(f"lab:{i}", "lab") for i in self.labs]
        if self.cards:
            items.append(("cards:" + ",".join(self.cards), "cards"))
        if self.drill:
            items.append((f"drill:{self.drill}", "drill"))
        return items


def extract_links(body: str, first_line: int) -> list[Link]:
    links = []
    in_code = False
    for offset, line in enumerate(body.splitlines()):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        for match in LINK_RE.finditer(line):
            links.append(Link(match.group(1), match.group(2), first_line + offset))
    return links


def _load_modules(ctx: LoadContext) -> None:
    for path in ctx.files("curriculum/modules", "*/module.yaml"):
        src = ctx.source(path)
        data = src.read_mapping()
        if data is None:
            continue
        f = Fields(src, data, "module")
        module = Module(
            id=f.str("id"),
            number=f.int("number", minimum=1),
            title=f.str("title"),
            summary=f.str("summary", ""),
            hours=f.number("hours", 0.0),
            objectives=f.str_list("objectives", []),
            order=f.str_list("lessons", []),
            order_line=data.line_of("lessons") or data.line,
            folder=path.parent,
            origin=f"{src.rel}:{data.line}",
        )
        if not f.failed:
            add_unique(ctx.catalog.modules, module, src, data.line_of("id"), "module")
            _load_lessons(ctx, module)


def _load_lessons(ctx: LoadContext, module: Module) -> None:
    for path in sorted(module.folder.glob("*.md")):
        src = ctx.source(path)
        meta, body, body_line = src.read_front_matter()
        if meta is None:
            continue
        f = Fields(src, meta, "lesson")
        lesson = Lesson(
            id=f.str("id"),
            title=f.str("title"),
            minutes=f.int("minutes", minimum=1),
            components=f.subset("components", set(COMPONENTS)),
            objectives=f.str_list("objectives"),
            vllm_refs=f.str_list("vllm_refs", []),
            kind=f.choice("kind", LESSON_KINDS, "lesson"),
            module=module.id,
            path=path,
            origin=f"{src.rel}:{meta.line_of('id')}",
            body=body,
            body_line=body_line,
            links=extract_links(body, body_line),
            refs_line=meta.line_of("vllm_refs"),
        )
        if lesson.kind == "walkthrough" and not lesson.vllm_refs:
            f.error("vllm_refs", "a walkthrough must name the vLLM files it reads in 'vllm_refs'")
        if not f.failed and add_unique(ctx.catalog.lessons, lesson, src, meta.line_of("id"), "lesson"):
            module.lessons.append(lesson.id)


def _build_day(f: Fields) -> Day | None:
    drill = f.str("drill", None)
    return Day(
        day=f.int("day", minimum=0),
        week=f.int("week", minimum=0),
        title=f.str("title"),
        module=f.str("module"),
        objectives=f.str_list("objectives"),
        lessons=f.str_list("lessons", []),
        labs=f.str_list("labs", []),
        cards=f.str_list("cards", []),
        drill=drill or None,
        hours=f.number("hours"),
        origin=f"{f.source.rel}:{f.data.line}",
        line=f.data.line,
    )


def _load_plan(ctx: LoadContext) -> None:
    path = ctx.root / "curriculum" / "plan.yaml"
    if not path.is_file():
        ctx.source(path).error(0, "file is missing")
        return
    src = ctx.source(path)
    data = src.read_mapping()
    if data is None:
        return
    f = Fields(src, data, "plan")
    weeks = f.mapping("weeks", {})
    for key, title in (weeks or {}).items():
        if isinstance(key, int) and isinstance(title, str):
            ctx.catalog.weeks[key] = title
        else:
            src.error(weeks.line_of(key), f"plan: week {key!r} must map a number to a title")
    days = f.list("days") or []
    registry: dict = {}

    def build(fields: Fields):
        day = _build_day(fields)
        if day is not None:
            day.id = day.day  # type: ignore[attr-defined]
        return day

    load_items(src, days, build, registry, "day", key="day")
    ctx.catalog.days.update(dict(sorted(registry.items())))


def _load_day_pages(ctx: LoadContext) -> None:
    for path in ctx.files("curriculum/days", "day*.md"):
        src = ctx.source(path)
        match = re.fullmatch(r"day(\d+)\.md", path.name)
        if not match:
            src.error(0, "day pages are named dayNN.md")
            continue
        body = src.read_text()
        if body is None:
            continue
        number = int(match.group(1))
        ctx.catalog.day_pages[number] = DayPage(number, path, f"{src.rel}:1", body, extract_links(body, 1))


def load(ctx: LoadContext) -> None:
    _load_modules(ctx)
    _load_plan(ctx)
    _load_day_pages(ctx)


# ---------------------------------------------------------------- references


def check_link(ctx: LoadContext, src: Source, link: Link, base: Path) -> None:
    target = link.target
    if target.startswith(("http://", "https://", "mailto:")) or target.startswith("#"):
        return
    scheme, sep, ident = target.partition(":")
    if sep and scheme in LINK_SCHEMES:
        if ctx.catalog.resolve(scheme, ident) is None:
            src.warning(link.line, f"link to unknown {scheme} '{ident}' (not written yet?)")
        return
    if sep and "/" not in scheme:
        src.error(link.line, f"link '{target}': unknown scheme '{scheme}' (use one of {', '.join(LINK_SCHEMES)} or http(s))")
        return
    file_part = target.split("#", 1)[0]
    if not (base / file_part).resolve().exists():
        src.error(link.line, f"broken link '{target}': no such file")


def _check_plan(ctx: LoadContext) -> None:
    catalog = ctx.catalog
    src = ctx.source(ctx.root / "curriculum" / "plan.yaml")
    tags = catalog.card_tags()
    for day in catalog.days.values():
        where = f"day {day.day}"
        if day.module not in catalog.modules:
            src.error(day.line, f"{where}: unknown module '{day.module}'")
        for lesson in day.lessons:
            if lesson not in catalog.lessons:
                src.warning(day.line, f"{where}: lesson '{lesson}' is not written yet")
        for lab in day.labs:
            if lab not in catalog.labs and lab not in catalog.projects:
                src.warning(day.line, f"{where}: lab '{lab}' is not written yet")
        for deck in day.cards:
            if deck not in catalog.decks and deck not in tags:
                src.warning(day.line, f"{where}: no deck or card tag '{deck}' yet")
        if day.drill and day.drill not in catalog.questions:
            src.warning(day.line, f"{where}: drill question '{day.drill}' is not written yet")
    numbers = set(catalog.days)
    if catalog.days and numbers != set(range(0, max(numbers) + 1)):
        gaps = sorted(set(range(0, max(numbers) + 1)) - numbers)
        src.error(1, f"plan: days are missing: {gaps}")


def _check_module_order(ctx: LoadContext) -> None:
    """module.yaml `lessons` lists the module's lessons in reading order. A mismatch is a warning
    (a lesson that failed to load is already an error of its own)."""
    for module in ctx.catalog.modules.values():
        src = ctx.source(module.folder / "module.yaml")
        written = set(module.lessons)
        if not module.order:
            if written:
                src.warning(module.order_line, f"module {module.id}: no 'lessons' order listed")
            continue
        for ident in module.order:
            if ident not in written:
                src.warning(module.order_line, f"module {module.id}: lessons lists '{ident}', which is not a lesson of this module")
        missing = [i for i in module.lessons if i not in module.order]
        if missing:
            src.warning(module.order_line, f"module {module.id}: lessons order leaves out {', '.join(missing)}")
        if len(set(module.order)) != len(module.order):
            src.warning(module.order_line, f"module {module.id}: lessons order names a lesson twice")
        module.lessons = [i for i in module.order if i in written] + missing


def check(ctx: LoadContext) -> None:
    _check_plan(ctx)
    _check_module_order(ctx)
    for lesson in ctx.catalog.lessons.values():
        src = ctx.source(lesson.path)
        for link in lesson.links:
            check_link(ctx, src, link, lesson.path.parent)
    for page in ctx.catalog.day_pages.values():
        src = ctx.source(page.path)
        for link in page.links:
            check_link(ctx, src, link, page.path.parent)
    _check_vllm_refs(ctx)


def _check_vllm_refs(ctx: LoadContext) -> None:
    from ..paths import vllm_paths_file

    listing = vllm_paths_file()
    if listing is None:
        return  # without the path list the references cannot be checked here
    try:
        known = set(read_content_text(listing).split())
    except ContentReadError as exc:
        ctx.problems.append(Problem(str(listing), 0, f"cannot read the vLLM path list: {exc}", "warning"))
        return
    for lesson in ctx.catalog.lessons.values():
        for ref in lesson.vllm_refs:
            path = ref.split("::", 1)[0].split("#", 1)[0].strip()
            if path not in known:
                ctx.source(lesson.path).error(
                    lesson.refs_line, f"vllm_refs: '{path}' is not a file of vLLM 0.33.0"
                )

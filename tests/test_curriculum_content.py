"""The real curriculum: every file loads, every id and link resolves for the
written weeks, every vLLM reference is a file of vLLM 0.33.0, every lesson renders."""
from __future__ import annotations

import re
from pathlib import Path

from tui.core.content.curriculum import LINK_RE
from tui.core.links import resolve_link

REPO = Path(__file__).resolve().parents[1]
WRITTEN_DAYS = range(0, 15)  # weeks 1-2 are written; days 15-28 may name future ids
V0_PATHS = ("vllm/core/", "block_manager_v2", "csrc/attention/attention_kernels.cu")


def test_content_has_no_errors(catalog):
    assert [str(p) for p in catalog.errors] == []


def test_plan_has_29_days_in_weeks_and_nine_modules(catalog):
    assert sorted(catalog.days) == list(range(29))
    assert len(catalog.modules) == 9
    assert {day.week for day in catalog.days.values()} == {0, 1, 2, 3, 4}
    for number, day in catalog.days.items():
        assert day.module in catalog.modules, number
        assert 1 <= day.hours <= 8 and day.objectives, number


def test_weeks_one_and_two_are_complete(catalog):
    assert sorted(n for n in catalog.day_pages if n in WRITTEN_DAYS) == list(WRITTEN_DAYS)
    early = [m for m in catalog.modules.values() if m.number <= 3]
    lessons = [l for l in catalog.lessons.values() if l.module in {m.id for m in early}]
    assert len(lessons) >= 24
    assert len([l for l in lessons if l.kind == "walkthrough"]) >= 8
    unresolved = [
        str(p) for p in catalog.warnings
        if p.path == "curriculum/plan.yaml" and (m := re.match(r"day (\d+):", p.message)) and int(m.group(1)) in WRITTEN_DAYS
    ]
    assert unresolved == []


def test_every_link_in_lessons_and_day_pages_resolves(catalog):
    broken = []
    documents = [(l.path, l.body, l.body_line) for l in catalog.lessons.values()]
    documents += [(p.path, p.body, 1) for n, p in catalog.day_pages.items() if n in WRITTEN_DAYS]
    for path, body, first in documents:
        for link in [l for l in _links(body, first)]:
            target = resolve_link(catalog, link[1], path.parent)
            if target.kind == "missing":
                broken.append(f"{path.relative_to(REPO)}:{link[0]}: {link[1]} ({target.reason})")
    assert broken == []


def _links(body: str, first: int):
    in_code = False
    for offset, line in enumerate(body.splitlines()):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        elif not in_code:
            for match in LINK_RE.finditer(line):
                yield first + offset, match.group(2)


def test_vllm_refs_exist_in_vllm_0_33_0(catalog):
    listing = REPO / "data" / "vllm-0.33.0-paths.txt"
    known = set(listing.read_text().split())
    missing = [
        f"{lesson.id}: {ref}" for lesson in catalog.lessons.values() for ref in lesson.vllm_refs
        if ref.split("::")[0] not in known
    ]
    assert missing == []
    assert sum(len(l.vllm_refs) for l in catalog.lessons.values()) > 50


def test_v0_paths_appear_only_as_history(catalog):
    history = re.compile(r"V0|gone|removed|no longer|history|old|earlier|used to|ROCm|pre-V1|deleted", re.I)
    for lesson in catalog.lessons.values():
        assert not any(v0 in ref for ref in lesson.vllm_refs for v0 in V0_PATHS), lesson.id
        # Judge each paragraph (a question and its answer count as one): a V0
        # path may appear only where the text says it is gone or historical.
        paragraphs = re.split(r"\n\s*\n", lesson.body)
        for i, para in enumerate(paragraphs):
            if any(v0 in para for v0 in V0_PATHS):
                context = para + "\n".join(paragraphs[i + 1 : i + 2])
                assert history.search(context), f"{lesson.path.name}: V0 path without saying it is history: {para[:200]}"


def test_lessons_have_the_parts_a_lesson_needs(catalog):
    for lesson in catalog.lessons.values():
        assert lesson.objectives and lesson.components, lesson.id
        # Lessons end with "Check yourself"; walkthroughs pose questions to answer while reading.
        section = r"check yourself" if lesson.kind == "lesson" else r"check yourself|questions"
        assert re.search(rf"^#+ .*({section})", lesson.body, re.I | re.M), f"{lesson.id}: no questions section"
        assert "Answer:" in lesson.body, f"{lesson.id}: check-yourself questions need answers"
        assert len(lesson.body.split()) >= 600, f"{lesson.id}: too short to teach"


async def test_every_lesson_renders_in_the_lesson_screen(catalog, vlearn_home):
    from textual.widgets import Markdown

    from tui.app import VlearnApp
    from tui.core.store import open_store

    app = VlearnApp(catalog=catalog, db=open_store(vlearn_home / "progress.db"))
    async with app.run_test(size=(100, 30)) as pilot:
        for lesson_id in catalog.lessons:
            assert app.open_item("lesson", lesson_id)
            await pilot.pause()
            screen = app.screen
            assert type(screen).__name__ == "LessonScreen" and screen.lesson.id == lesson_id
            document = screen.query_one("#doc", Markdown)
            assert len(document.children) > 5, lesson_id  # rendered into blocks
            assert document.source == screen.body, lesson_id  # all of it, once
            assert screen.query_one("#toc").table_of_contents, lesson_id  # headings found
            await pilot.press("escape")
            await pilot.pause()

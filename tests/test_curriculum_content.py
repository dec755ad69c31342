"""The real curriculum: every file loads, every id and link resolves for the
written weeks, every vLLM reference is a file of vLLM 0.33.0, every lesson renders."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

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


@pytest.mark.slow
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
            toc = screen.query_one("#toc")
            for _ in range(500):  # the contents fill in after the document's own messages
                if toc.table_of_contents:
                    break
                await pilot.pause()
            assert toc.table_of_contents, lesson_id  # headings found
            await pilot.press("escape")
            await pilot.pause()


def test_reshape_and_cache_walkthrough_uses_the_0_33_0_strides(catalog):
    """The worked strides in the walkthrough are recomputed from the layout vLLM 0.33.0 builds:
    a logical [B, H, N, 2D] cell view (K then V per head) stored LBNHC, split the way
    FlashAttentionImpl.do_kv_cache_update splits it."""
    import torch

    blocks, block_size, heads, head_size = 4, 16, 8, 128
    physical = torch.empty(blocks, block_size, heads, 2 * head_size)  # blocks, slots, heads, K|V
    kv_cache = physical.permute(0, 2, 1, 3)  # the logical [B, H, N, C] view
    key_cache, value_cache = kv_cache.transpose(1, 2).split(head_size, dim=-1)
    block_stride, page_stride, head_stride = key_cache.stride()[:3]
    block, offset = divmod(37, block_size)
    k_start = block * block_stride + offset * page_stride
    v_start = value_cache.storage_offset() + k_start
    assert head_stride != head_size  # so the kernel's whole-token branch is not FlashAttention's path

    body = catalog.lessons["m03-wt-reshape-and-cache"].body
    q2 = body[body.index("**Q2.**"): body.index("**Q3.**")]
    for value in (head_stride, page_stride, block_stride, k_start, v_start, k_start + head_stride):
        assert f"{value:,}" in q2, f"Q2 should state {value:,}"


def test_one_set_of_llama_8b_constants():
    """Decode reads every weight but the embedding gather (15.0 GB, 5.1 ms at 2,962 GB/s); prefill
    runs the LM head once per sequence. Old figures that counted otherwise must not come back."""
    layer = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096  # + the two norms
    layers, head = 32 * layer, 128256 * 4096
    assert round(2 * (layers + head) / 1e9, 1) == 15.0  # GB read per decode step (bf16)
    assert round(2 * (layers + head) / 2962e9 * 1e3, 1) == 5.1  # ms at the measured copy rate
    assert round(layers / 1e9, 2) == 6.98  # the per-prompt-token parameters in prefill

    stale = re.compile(r"(?<![\d.])5\.4 ms|2 × 8\.03e9|8\.03e9 (params )?×|2 × 8e9 FLOPs")
    for folder in ("curriculum", "data", "flashcards"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix in (".md", ".yaml"):
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    assert not stale.search(line), f"{path.relative_to(REPO)}:{n}: {line.strip()}"

"""Options and symbols that vLLM 0.33.0 does not have must not be recommended.

Older material (V0 docs, blog posts, earlier V1 releases) cites knobs that are
gone. Questions and cards may name one only to say it is gone; any other use
is a recommendation of something a 0.33.0 user cannot set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIRS = ("data", "flashcards")

# Each entry: a name absent (as a whole word) from vllm/ and csrc/ of the
# 0.33.0 sdist, and why old material cites it. Checked with
# `grep -rnw NAME vllm csrc` in /work/vllm-src/vllm-0.33.0 (0 hits each).
ABSENT_IN_0_33_0 = {
    # V0 SchedulerConfig knobs for concurrent partial prefills; the V1
    # scheduler only has long_prefill_token_threshold (+ _adaptive).
    "max_num_partial_prefills": "V0 partial-prefill limit",
    "max_long_partial_prefills": "V0 partial-prefill limit for long prompts",
    # KV connector of earlier V1 releases; not registered in
    # vllm/distributed/kv_transfer/kv_connector/factory.py in 0.33.0.
    "P2pNcclConnector": "unregistered KV connector",
    "P2P NCCL": "prose name of the unregistered P2pNcclConnector",
    # V0 multi-step scheduling; V1 overlaps steps with async scheduling.
    "num_scheduler_steps": "V0 multi-step scheduling",
    # V0 block manager and its switch; V1 uses KVCacheManager/BlockPool.
    "use_v2_block_manager": "V0 block manager flag",
    "BlockSpaceManager": "V0 block manager",
    # V0 swap preemption; V1 preempts by recomputation only.
    "swap_space": "V0 CPU swap space",
    "preemption_mode": "V0 swap/recompute switch",
    # V0 request abstraction (only historical mentions in docs/design).
    "SequenceGroup": "V0 request group",
    # Engine and backend selection through environment variables that
    # 0.33.0 no longer reads (V1 is the only engine; backends come from
    # the attention config).
    "VLLM_USE_V1": "removed engine switch",
    "VLLM_ATTENTION_BACKEND": "removed backend env var",
    # V0 CUDA paged-attention kernel (v1 survives only for ROCm).
    "paged_attention_v2": "V0 CUDA kernel",
}

# Words that mark a mention as "this is gone", not a recommendation; searched
# in the same paragraph as the mention.
NEGATION = re.compile(
    r"\b(gone|removed|no longer|does not (?:exist|have)|doesn't exist|"
    r"not in 0\.33|V0|older releases?)\b",
    re.IGNORECASE,
)

SYMBOL_RE = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, ABSENT_IN_0_33_0)) + r")(?![A-Za-z0-9_])"
)


def _content_files():
    for d in CONTENT_DIRS:
        yield from sorted((ROOT / d).rglob("*.yaml"))


def _paragraph(text: str, start: int, end: int) -> str:
    lo = text.rfind("\n\n", 0, start)
    hi = text.find("\n\n", end)
    return text[lo + 1 if lo >= 0 else 0 : hi if hi >= 0 else len(text)]


def find_recommendations(text: str) -> list[tuple[int, str]]:
    """(line, name) of every mention of an absent name not marked as gone."""
    hits = []
    for m in SYMBOL_RE.finditer(text):
        if NEGATION.search(_paragraph(text, m.start(), m.end())):
            continue
        hits.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return hits


def test_no_absent_symbol_is_recommended():
    bad = []
    for path in _content_files():
        for line, name in find_recommendations(path.read_text(encoding="utf-8")):
            bad.append(f"{path.relative_to(ROOT)}:{line}: {name} ({ABSENT_IN_0_33_0[name]})")
    assert not bad, "options/symbols absent from vLLM 0.33.0:\n" + "\n".join(bad)


def test_detector_flags_a_recommendation_and_allows_a_disclaimer():
    assert find_recommendations("Set `max_num_partial_prefills` > 1.") == [
        (1, "max_num_partial_prefills")
    ]
    assert find_recommendations("`max_num_partial_prefills` is gone in 0.33.0.") == []
    assert find_recommendations("a_max_num_partial_prefills_x") == []


def _vllm_source() -> Path | None:
    for cand in (os.environ.get("VLLM_SRC"), "/work/vllm-src/vllm-0.33.0"):
        if cand and (Path(cand) / "vllm").is_dir():
            return Path(cand)
    return None


def test_symbol_list_is_really_absent_from_0_33_0():
    src = _vllm_source()
    if src is None:
        pytest.skip("vLLM 0.33.0 source not unpacked here (set VLLM_SRC)")
    found = {}
    for sub in ("vllm", "csrc"):
        for path in (src / sub).rglob("*"):
            if path.suffix not in {".py", ".cu", ".cuh", ".h", ".cpp", ".hpp"}:
                continue
            for m in SYMBOL_RE.finditer(path.read_text(encoding="utf-8", errors="ignore")):
                found.setdefault(m.group(1), str(path.relative_to(src)))
    assert not found, f"listed as absent but defined/used in 0.33.0: {found}"

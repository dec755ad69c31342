"""No near-duplicate cards across decks.

Two cards are flagged when their fronts share most of their content words,
or when front and back together do. Tuned on the decks of issue 17: at these
thresholds the merged pairs kv-002/v1a-015 (0.52), kv-011/satt-016 (0.55),
satt-020/v1a-014 (0.47) and the later-found sci-018/dist-012 (0.52) and
cperf-006/ivp-028 (0.46) are caught; paraphrases that share few words (the
pairs kv-014/satt-019, kv-006/v1a-019, v1a-001/sch-022) are not, so this test
is a net, not a proof. Reviewed pairs that are distinct facts sit in
DISTINCT, each with its reason.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

FRONT_THRESHOLD = 0.60  # Jaccard of front word sets
CARD_THRESHOLD = 0.45  # Jaccard of front + back word sets

STOP = frozenset(
    "a an the of in and or to is are what which does do how for on with by at as vs "
    "its it from that this why when than into per be not so each one".split()
)

DISTINCT = {
    # Same exercise with different inputs (64 vs 40 registers per thread).
    frozenset({"cperf-002", "cperf-003"}),
    # Ridge points of two different pipes (fp16 tensor cores, fp32 FMA).
    frozenset({"cperf-008", "cperf-009"}),
    # vLLM's scheduler against two different engines (nano-vllm, Sarathi-Serve).
    frozenset({"cmp-016", "cmp-019"}),
    # The connector API's contract against one connector's None case.
    frozenset({"dda-001", "ivp-017"}),
}


def words(text: str) -> frozenset[str]:
    text = re.sub(r"[`*_'\"()\[\]{},;:?!=→|<>]", " ", text.lower())
    text = re.sub(r"\.(\s|$)", " ", text)
    return frozenset(t for t in re.split(r"[\s/]+", text) if t and t not in STOP)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def near_duplicates(cards: dict[str, tuple[str, str]]) -> list[tuple[str, str, float, float]]:
    sets = {cid: (words(f), words(f + " " + b)) for cid, (f, b) in cards.items()}
    found = []
    for a, b in itertools.combinations(sorted(cards), 2):
        jf = jaccard(sets[a][0], sets[b][0])
        jc = jaccard(sets[a][1], sets[b][1])
        if (jf >= FRONT_THRESHOLD or jc >= CARD_THRESHOLD) and frozenset({a, b}) not in DISTINCT:
            found.append((a, b, jf, jc))
    return found


def _all_cards() -> dict[str, tuple[str, str]]:
    cards = {}
    for path in sorted((ROOT / "flashcards").glob("*.yaml")):
        for card in yaml.safe_load(path.read_text(encoding="utf-8")).get("cards") or []:
            cards[card["id"]] = (str(card["front"]), str(card.get("back", "")))
    return cards


def test_no_near_duplicate_cards():
    found = near_duplicates(_all_cards())
    lines = [f"{a} / {b}: fronts {jf:.2f}, cards {jc:.2f}" for a, b, jf, jc in found]
    assert not found, (
        "near-duplicate cards (merge them, or add the pair to DISTINCT with a reason):\n"
        + "\n".join(lines)
    )


def test_distinct_pairs_still_exist():
    cards = _all_cards()
    stale = [sorted(pair) for pair in DISTINCT if not pair <= cards.keys()]
    assert not stale, f"DISTINCT names cards that are gone: {stale}"


def test_detector_catches_a_reworded_duplicate():
    cards = {
        "x-1": ("KV bytes per token for Llama-3-8B (bf16)?", "2 × 32 × 8 × 128 × 2 = 128 KiB per token."),
        "y-1": ("Llama-3-8B KV cache bytes per token, bf16?", "2 × 32 × 8 × 128 × 2 B = 128 KiB."),
        "z-1": ("What is block 0 in the block pool?", "The null block, a placeholder."),
    }
    assert [(a, b) for a, b, _, _ in near_duplicates(cards)] == [("x-1", "y-1")]

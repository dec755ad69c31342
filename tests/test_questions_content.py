"""The question bank and interviewers: loader behaviour on bad files, then the real content."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from tui.core.content import Catalog, LoadContext
from tui.core.content import questions as qmod
from tui.core.content.vocab import COMPONENTS, QUESTION_CATEGORIES

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
  - id: {id}
    title: A question
    category: cuda_coding
    difficulty: 2
    minutes: 20
    components: [cuda_kernels]
    prompt: |
      Write a kernel.
    hints: [one, two]
    follow_ups: [why so]
    model_answer: |
      Like this.
    rubric: [a, b, c, d]
    lab: {lab}
    levels:
      no_hire: Names no bound.
      hire: States the bound with arithmetic.
      strong_hire: Also says what moves it.
"""


def question(qid: str = "q-good", lab: str = "cuda-vector-add") -> str:
    return GOOD.format(id=qid, lab=lab)


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(root: Path, labs: dict | None = None) -> Catalog:
    """Run only this loader (load, then check) over a content root in a temp dir."""
    catalog = Catalog(root=root)
    catalog.labs.update(labs or {})
    ctx = LoadContext(root=root, catalog=catalog, problems=catalog.problems)
    qmod.load(ctx)
    qmod.check(ctx)
    return catalog


def problems(catalog: Catalog, severity: str = "error") -> list[str]:
    return [str(p) for p in catalog.problems if p.severity == severity]


# ------------------------------------------------------------------ loader


def test_good_question_loads_with_every_field(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question())
    catalog = load(tmp_path, labs={"cuda-vector-add": object()})
    assert problems(catalog) == [] and problems(catalog, "warning") == []
    q = catalog.questions["q-good"]
    assert q.origin == "data/questions/a.yaml:2"
    assert (q.category, q.difficulty, q.minutes, q.components) == ("cuda_coding", 2, 20, ["cuda_kernels"])
    assert q.hints == ["one", "two"] and q.follow_ups == ["why so"]
    assert q.prompt == "Write a kernel." and q.model_answer == "Like this."
    assert q.rubric == ["a", "b", "c", "d"] and q.lab == "cuda-vector-add"
    assert list(q.levels) == ["no_hire", "hire", "strong_hire"] and q.levels["hire"].startswith("States")


def test_levels_need_all_three_anchors_and_no_others(tmp_path):
    text = question().replace("      hire: States the bound with arithmetic.\n", "").replace("strong_hire:", "strongest:")
    path = write(tmp_path, "data/questions/a.yaml", "questions:\n" + text)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if t.strip() == "levels:")
    errors = problems(load(tmp_path))
    for words in ("'hire'", "'strong_hire'", "unknown level 'strongest'"):
        assert any(e.startswith(f"data/questions/a.yaml:{line}:") and words in e for e in errors), words


def test_a_question_without_levels_is_an_error_naming_it(tmp_path):
    text = question().split("    levels:")[0]
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + text)
    catalog = load(tmp_path, labs={"cuda-vector-add": object()})
    assert "q-good" not in catalog.questions
    assert problems(catalog) == ["data/questions/a.yaml:2: question q-good: missing field 'levels' (no_hire, hire, strong_hire): what each decision sounds like"]


def test_malformed_yaml_reports_its_line_and_other_files_still_load(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a"))
    write(tmp_path, "data/questions/b.yaml", "questions:\n  - id: q-b\n    prompt: [unclosed\n")
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert len(errors) == 1 and errors[0].startswith("data/questions/b.yaml:")
    assert "YAML error" in errors[0] and not errors[0].startswith("data/questions/b.yaml:0:")
    assert list(catalog.questions) == ["q-a"]


def test_missing_fields_are_each_reported_and_only_that_item_is_skipped(tmp_path):
    broken = "  - id: q-broken\n    category: cuda_coding\n    difficulty: 2\n"
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a") + broken)
    catalog = load(tmp_path)
    errors = problems(catalog)
    for name in ("minutes", "components", "prompt", "hints", "follow_ups", "model_answer", "rubric"):
        assert any(f"missing field '{name}'" in e for e in errors), name
    line = 2 + question("q-a").count("\n")  # the broken item's first line
    assert all(e.startswith(f"data/questions/a.yaml:{line}:") for e in errors)
    assert list(catalog.questions) == ["q-a"]


def test_bad_values_point_at_their_own_lines(tmp_path):
    text = (
        "questions:\n"
        + question("q-bad")
        .replace("difficulty: 2", "difficulty: 7")
        .replace("category: cuda_coding", "category: trivia")
        .replace("[cuda_kernels]", "[cuda_kernels, vibes]")
        .replace("rubric: [a, b, c, d]", "rubric: [a, b, c]")
    )
    path = write(tmp_path, "data/questions/a.yaml", text)
    lines = path.read_text().splitlines()
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert "q-bad" not in catalog.questions
    for key, words in [("difficulty", "1..5"), ("category", "trivia"), ("components", "vibes"), ("rubric", "at least 4")]:
        line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(f"{key}:"))
        assert any(e.startswith(f"data/questions/a.yaml:{line}:") and words in e for e in errors), key


def test_rubric_longer_than_eight_points_is_an_error(tmp_path):
    many = "[" + ", ".join(f"p{i}" for i in range(9)) + "]"
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question().replace("[a, b, c, d]", many))
    catalog = load(tmp_path)
    assert any("at most 8" in e for e in problems(catalog)) and not catalog.questions


def test_duplicate_ids_across_files_name_the_first(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-dup"))
    write(tmp_path, "data/questions/b.yaml", "questions:\n" + question("q-dup"))
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert errors == ["data/questions/b.yaml:2: duplicate question id 'q-dup' (first at data/questions/a.yaml:2)"]
    assert catalog.questions["q-dup"].origin == "data/questions/a.yaml:2"


def test_file_without_questions_list_is_an_error(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "question:\n" + question())
    write(tmp_path, "data/questions/b.yaml", "- just a list\n")
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert any(e.startswith("data/questions/a.yaml:1:") and "'questions:'" in e for e in errors)
    assert any(e.startswith("data/questions/b.yaml:1:") and "mapping" in e for e in errors)
    assert not catalog.questions


def test_unknown_field_and_unwritten_lab_are_warnings_not_errors(tmp_path):
    text = "questions:\n" + question(lab="cuda-not-yet") + "    follow_up: [typo]\n"
    write(tmp_path, "data/questions/a.yaml", text)
    catalog = load(tmp_path)
    warnings = problems(catalog, "warning")
    assert problems(catalog) == [] and "q-good" in catalog.questions
    assert any("unknown field 'follow_up'" in w for w in warnings)
    assert any("lab 'cuda-not-yet' is not written yet" in w and ":15:" in w for w in warnings)


def test_markdown_links_in_answers_are_checked(tmp_path):
    text = "questions:\n" + question().replace("Like this.", "See [x](nowhere:thing) and [y](lesson:m99-nope).")
    write(tmp_path, "data/questions/a.yaml", text)
    catalog = load(tmp_path, labs={"cuda-vector-add": object()})
    assert any("unknown scheme 'nowhere'" in e and ":13:" in e for e in problems(catalog))
    assert any("unknown lesson 'm99-nope'" in w for w in problems(catalog, "warning"))


INTERVIEWERS = """\
interviewers:
  - id: iv-ok
    title: Kernel person
    focus: kernels
    style: digs into the last number you said
    opening: Hello.
    questions_per_session: 2
    pools:
      - {category: cuda_coding, weight: 3}
      - {components: [scheduler], weight: 1}
      - {questions: [q-a], weight: 1}
    rubric_weights: {understanding: 1, implement: 2, optimize: 3}
"""


def test_interviewer_loads_and_weights_split_over_pool_members(tmp_path):
    sched = question("q-s").replace("category: cuda_coding", "category: architecture").replace("[cuda_kernels]", "[scheduler]")
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a") + question("q-b") + sched)
    write(tmp_path, "data/interviewers.yaml", INTERVIEWERS)
    catalog = load(tmp_path, labs={"cuda-vector-add": object()})
    assert problems(catalog) == []
    iv = catalog.interviewers["iv-ok"]
    assert iv.origin == "data/interviewers.yaml:2" and iv.questions_per_session == 2
    assert iv.rubric_weights == {"understanding": 1.0, "implement": 2.0, "optimize": 3.0}
    # cuda pool (3) splits over q-a, q-b; scheduler pool (1) is q-s; the id pool (1) adds to q-a.
    assert iv.weighted_questions(catalog.questions) == {"q-a": 2.5, "q-b": 1.5, "q-s": 1.0}


def test_interviewer_with_unknown_question_id_is_an_error_at_the_pool(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a"))
    write(tmp_path, "data/interviewers.yaml", INTERVIEWERS.replace("[q-a]", "[q-a, q-ghost]"))
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert errors == ["data/interviewers.yaml:11: interviewer iv-ok: unknown question id 'q-ghost'"]
    # The dangling id is never drawn.
    assert "q-ghost" not in catalog.interviewers["iv-ok"].weighted_questions(catalog.questions)


def test_broken_interviewer_is_skipped_and_the_next_one_loads(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a"))
    bad = (
        INTERVIEWERS.replace("understanding: 1", "charisma: 1")
        .replace("{components: [scheduler], weight: 1}", "{weight: 0}")
        .replace("    opening: Hello.\n", "")
    )
    good = INTERVIEWERS.split("\n", 1)[1].replace("iv-ok", "iv-two")
    path = write(tmp_path, "data/interviewers.yaml", bad + good)
    lines = path.read_text().splitlines()
    catalog = load(tmp_path)
    errors = problems(catalog)
    assert list(catalog.interviewers) == ["iv-two"]
    weight_line = next(i for i, t in enumerate(lines, 1) if "{weight: 0}" in t)
    assert any(e.startswith(f"data/interviewers.yaml:{weight_line}:") and "above 0" in e for e in errors)
    assert any(e.startswith(f"data/interviewers.yaml:{weight_line}:") and "needs 'category'" in e for e in errors)
    assert any("unknown dimension 'charisma'" in e for e in errors)
    assert any(e.startswith("data/interviewers.yaml:2:") and "missing field 'opening'" in e for e in errors)


def test_pool_mixing_ids_and_selectors_is_an_error(tmp_path):
    write(tmp_path, "data/questions/a.yaml", "questions:\n" + question("q-a"))
    write(tmp_path, "data/interviewers.yaml", INTERVIEWERS.replace("{questions: [q-a], weight: 1}", "{questions: [q-a], category: behavioral, weight: 1}"))
    catalog = load(tmp_path)
    assert any(":11:" in e and "not both" in e for e in problems(catalog))
    assert not catalog.interviewers


# ------------------------------------------------------------------ the real bank

REQUIRED_IDS = """
arch-v1-process-layout arch-request-lifecycle arch-kv-cache-sizing arch-paged-attention-tradeoffs
arch-continuous-batching arch-chunked-prefill arch-prefix-caching cuda-coalesced-copy
cuda-transpose-bank-conflicts cuda-warp-reduction cuda-online-softmax cuda-rmsnorm
cuda-reshape-and-cache cuda-paged-decode sd-llm-serving-platform arch-preemption-policy
arch-cuda-graphs arch-persistent-batch arch-tensor-vs-pipeline sd-multi-gpu-serving
arch-quantization-tradeoffs cuda-kernel-fusion arch-speculative-decoding sd-multi-tenant-serving
beh-performance-regression sd-kv-cache-offload beh-disagreement sd-inference-at-scale
""".split()

INTERVIEWER_IDS = {
    "cuda-kernel-optimization", "system-design", "distributed-systems", "ml-infrastructure",
    "performance-optimization", "debugging-troubleshooting", "architecture-design", "behavioral",
    "code-review", "technical-deep-dive",
}


def planned_lab_ids() -> set[str]:
    """Lab ids named in docs/ids.md (the labs written later must use these)."""
    text = (REPO / "docs" / "ids.md").read_text(encoding="utf-8")
    return set(re.findall(r"\b(?:py|cuda|triton)-[a-z0-9-]+[a-z0-9]", text)) - {"cuda-memory", "cuda-warps", "cuda-performance"}


def own_problems(catalog, severity: str = "error") -> list[str]:
    return [str(p) for p in catalog.problems if p.severity == severity
            and (p.path.startswith("data/questions/") or p.path == "data/interviewers.yaml")]


def test_real_bank_has_no_errors_or_unknown_fields(catalog):
    assert own_problems(catalog) == []
    assert not [w for w in own_problems(catalog, "warning") if "unknown field" in w]


def test_real_bank_counts_per_category(catalog):
    counts = {c: 0 for c in QUESTION_CATEGORIES}
    for q in catalog.questions.values():
        counts[q.category] += 1
    assert sum(counts.values()) >= 40
    assert counts["cuda_coding"] >= 12 and counts["system_design"] >= 8
    assert counts["architecture"] >= 12 and counts["behavioral"] >= 8


def test_every_planned_drill_exists(catalog):
    assert sorted(set(REQUIRED_IDS) - set(catalog.questions)) == []
    plan_drills = {d.drill for d in catalog.days.values() if d.drill}
    assert sorted(plan_drills - set(catalog.questions)) == []


def test_files_group_questions_by_category(catalog):
    for q in catalog.questions.values():
        assert q.origin.startswith(f"data/questions/{q.category}.yaml:"), q.id
        prefix = {"cuda_coding": "cuda-", "system_design": "sd-", "architecture": "arch-", "behavioral": "beh-",
                  "implementation": "impl-", "debugging": "dbg-"}
        assert q.id.startswith(prefix[q.category]), q.id


def test_every_question_is_complete(catalog):
    for q in catalog.questions.values():
        assert 4 <= len(q.rubric) <= 8, q.id
        assert q.hints and q.follow_ups and set(q.components) <= set(COMPONENTS), q.id
        assert len(q.model_answer) >= 600, f"{q.id}: model answer too thin"
        assert len(set(q.rubric)) == len(q.rubric), f"{q.id}: repeated rubric point"


def test_every_cuda_question_names_a_planned_lab(catalog):
    planned = planned_lab_ids()
    assert {"cuda-sgemm", "cuda-paged-attention", "py-kv-cache-sizing"} <= planned
    labs = planned | set(catalog.labs)  # planned for days 0-14, or written since
    for q in catalog.questions.values():
        code_answer = "```" in q.model_answer
        if q.category == "implementation" or (q.category == "cuda_coding" and code_answer):
            # A written answer must be runnable against tests.
            assert q.lab in labs, f"{q.id}: lab {q.lab!r}"
        elif q.category == "cuda_coding":
            # A design answer has nothing to run: a lab here would test something else.
            assert q.lab is None, f"{q.id}: a question without a code answer names lab {q.lab!r}"
        elif q.lab is not None:
            assert q.lab in labs, f"{q.id}: lab {q.lab!r}"


def test_implementation_questions_link_python_labs_that_exist(catalog):
    implementation = [q for q in catalog.questions.values() if q.category == "implementation"]
    assert len(implementation) >= 10
    for q in implementation:
        lab = catalog.labs.get(q.lab)
        assert lab is not None and lab.track == "python", f"{q.id}: lab {q.lab!r}"
        assert any("tests against a reference" in point.lower() for point in q.rubric), q.id


def test_model_answers_are_right_for_vllm_v1(catalog):
    # The V0 behaviours the old roadmap describes must not leak into answers.
    text = "\n".join(q.model_answer + q.prompt for q in catalog.questions.values()).lower()
    for stale in ("vllm/core/", "block_manager", "swap preemption is", "preemptionmode.swap", "attention_kernels.cu"):
        assert stale not in text, stale


def test_ten_interviewers_with_distinct_styles_that_draw_on_the_bank(catalog):
    assert set(catalog.interviewers) == INTERVIEWER_IDS
    ivs = list(catalog.interviewers.values())
    assert len({iv.style for iv in ivs}) == 10 and len({iv.opening for iv in ivs}) == 10
    used = set()
    for iv in ivs:
        drawable = iv.weighted_questions(catalog.questions)
        assert len(drawable) >= max(iv.questions_per_session, 4), iv.id
        assert iv.rubric_weights and set(iv.rubric_weights) <= set(qmod.DIMENSIONS), iv.id
        used |= set(drawable)
    # Together the interviewers can ask every question in the bank.
    assert sorted(set(catalog.questions) - used) == []


@pytest.mark.parametrize("iv_id, category", [
    ("cuda-kernel-optimization", "cuda_coding"), ("system-design", "system_design"),
    ("behavioral", "behavioral"), ("architecture-design", "architecture"),
])
def test_specialists_mostly_ask_their_own_category(catalog, iv_id, category):
    weights = catalog.interviewers[iv_id].weighted_questions(catalog.questions)
    own = sum(w for qid, w in weights.items() if catalog.questions[qid].category == category)
    assert own / sum(weights.values()) >= 0.6

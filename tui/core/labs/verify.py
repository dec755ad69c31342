"""`vlearn verify`: every lab's solution passes, its starter fails, and every
wrong solution kept in its mutants.yaml fails.

Projects: every stage passes on solution/, and the starter fails stage 1.
GPU labs on a machine without a GPU: their tests compile the kernel and skip
the GPU runs, so "solution passes (skips allowed) and starter compiles" is
accepted as a compile-only check, and said so.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Verdict:
    lab_id: str
    ok: bool
    words: str
    compile_only: bool = False
    results: list = field(default_factory=list)  # the RunResults (solution, starter)

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.lab_id:<28} {self.words}"


def _first_problem(result) -> str:
    bad = next((t for t in result.tests if t.outcome in ("failed", "error")), None)
    if result.status != "failed" or bad is None:
        return result.notes[-1] if result.notes else result.status
    return f"{bad.name}: {(bad.message.splitlines() or [''])[0][:120]}"


def verify_item(item, runner) -> Verdict:
    solution = runner.run(item, "solution")
    starter = runner.run(item, "starter")
    results = [solution, starter]
    compile_only = solution.status == "compiled"  # a GPU lab on a machine without one
    if not (solution.ok or compile_only):
        where = f" at stage '{solution.stage}'" if item.kind == "project" else ""
        return Verdict(item.id, False, f"solution does not pass{where}: {_first_problem(solution)}", results=results)
    if item.kind == "project":
        first = item.stages[0].id
        if starter.ok:
            return Verdict(item.id, False, "starter passes every stage: it must fail stage 1", results=results)
        if starter.stage != first:
            return Verdict(item.id, False, f"starter passes stage 1 and fails only at '{starter.stage}'", results=results)
        passed = sum(status == "passed" for _, status in solution.stages)
        stages = f"{passed} stages pass" if passed == len(item.stages) else (
            f"{passed} of {len(item.stages)} stages pass, stage '{solution.stage}' compile-only (no GPU here), "
            "later stages not run")
        return _with_mutants(item, runner, Verdict(
            item.id, True, f"{stages} on solution ({solution.passed} tests); "
            f"starter fails stage 1 ({_first_problem(starter)})", compile_only=compile_only, results=results))
    counts = f"{solution.passed} passed" + (f", {solution.skipped} skipped" if solution.skipped else "")
    if compile_only and starter.status == "compiled":
        return Verdict(item.id, True, f"compile-only (no GPU here): solution {counts}; starter compiles; "
                       "GPU runs skipped", compile_only=True, results=results)
    if starter.ok:
        return Verdict(item.id, False, "starter passes every test: it must fail", results=results)
    return _with_mutants(item, runner, Verdict(
        item.id, True, f"solution {counts}; starter fails ({_first_problem(starter)})", results=results))


def _with_mutants(item, runner, verdict: Verdict) -> Verdict:
    """A wrong solution from mutants.yaml that passes the tests fails the lab's verification."""
    from .mutants import check_mutants

    if not item.mutants:
        return verdict
    checked = check_mutants(item, runner)
    survivors = [m.mutant_id for m in checked if m.killed is False]
    unjudged = sum(m.killed is None for m in checked)
    if survivors:
        return Verdict(item.id, False, f"the tests accept wrong solutions: {', '.join(survivors)} (mutants.yaml)",
                       results=verdict.results)
    judged = len(checked) - unjudged
    verdict.words += f"; {judged}/{len(checked)} wrong solutions rejected" + (
        f" ({unjudged} need a GPU)" if unjudged else "")
    return verdict


def select(catalog, ids=None, track: str | None = None) -> tuple[list, list[str]]:
    """The items to verify, and the ids that name nothing."""
    from ..content.labs import all_labs, find

    if ids:
        items, unknown = [], []
        for ident in ids:
            item = find(catalog, ident)
            (items.append(item) if item else unknown.append(ident))
    else:
        items, unknown = all_labs(catalog), []
    if track:
        # A project belongs to its track too (the KV-cache project is python).
        items = [i for i in items if i.track == track or (track == "projects" and i.kind == "project")]
    return items, unknown


def verify(catalog, ids=None, track=None, runner=None, out: Callable[[str], None] = print) -> list[Verdict]:
    """Verify the chosen labs, printing one line each and the final count."""
    from .runner import LabRunner

    own = runner is None
    runner = runner or LabRunner()
    items, unknown = select(catalog, ids, track)
    verdicts = [Verdict(i, False, "no such lab or project") for i in unknown]
    for line in (v.line() for v in verdicts):
        out(line)
    try:
        for item in items:
            verdict = verify_item(item, runner)
            verdicts.append(verdict)
            out(verdict.line())
    finally:
        if own:
            runner.close()
    passed = sum(v.ok for v in verdicts)
    out(f"{passed} passed, {len(verdicts) - passed} failed")
    return verdicts

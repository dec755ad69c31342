"""Wrong solutions kept as tests of a lab's tests: each mutant is the solution
with a plausible mistake applied (mutants.yaml); the lab's tests must fail it."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class MutantVerdict:
    mutant_id: str
    why: str
    killed: bool | None  # None: could not be judged here (a GPU lab on a machine without one)
    status: str


def materialise(item, mutant, dest: Path) -> Path:
    """Copy solution/ to `dest` and apply the mutant's replacements there."""
    shutil.copytree(item.path / "solution", dest, dirs_exist_ok=True)
    target = dest / mutant.file
    text = target.read_text(encoding="utf-8")
    for old, new in mutant.replace:
        if old not in text:
            raise ValueError(f"{mutant.origin}: mutant '{mutant.id}' no longer applies ({old!r} not found)")
        text = text.replace(old, new)
    target.write_text(text, encoding="utf-8")
    return dest


def check_mutants(item, runner) -> list[MutantVerdict]:
    """Run the lab's tests on every mutant; a mutant that passes is a hole in the tests."""
    verdicts = []
    for mutant in item.mutants:
        with tempfile.TemporaryDirectory(prefix=f"vlearn-mutant-{item.id}-") as tmp:
            result = runner.run(item, materialise(item, mutant, Path(tmp)), record=False, first_failure=True)
        judged = result.status != "compiled"
        verdicts.append(MutantVerdict(mutant.id, mutant.why, (not result.ok) if judged else None, result.status))
    return verdicts

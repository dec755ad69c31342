"""`vlearn doctor`: what content exists, what is broken, what this machine can do."""
from __future__ import annotations

import platform
import shutil
from collections import Counter

from .content import Catalog
from .content.vocab import LAB_TRACKS, QUESTION_CATEGORIES


def counts(catalog: Catalog) -> dict:
    labs = Counter(lab.track for lab in catalog.labs.values())
    questions = Counter(q.category for q in catalog.questions.values())
    return {
        "days": len(catalog.days),
        "modules": len(catalog.modules),
        "lessons": len(catalog.lessons),
        "walkthroughs": len(catalog.walkthroughs),
        "comparisons": len(catalog.comparisons),
        "day_pages": len(catalog.day_pages),
        "labs": {track: labs.get(track, 0) for track in LAB_TRACKS} | {"total": sum(labs.values())},
        "projects": len(catalog.projects),
        "kernels": len(catalog.kernels),
        "decks": len(catalog.decks),
        "cards": len(catalog.cards),
        "questions": {c: questions.get(c, 0) for c in sorted(set(QUESTION_CATEGORIES) | set(questions))}
        | {"total": sum(questions.values())},
        "interviewers": len(catalog.interviewers),
        "roles": len(catalog.roles),
        "rubric": catalog.rubric is not None,
        "gpus": len(catalog.gpus),
    }


def _version_of(module: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return None


def environment() -> dict:
    """What this machine offers for the labs. Imports nothing heavy."""
    env: dict = {"python": platform.python_version()}
    env["torch"] = _version_of("torch")
    cupy = next((v for v in (_version_of(n) for n in ("cupy-cuda13x", "cupy-cuda12x", "cupy")) if v), None)
    env["cupy"] = cupy
    env["nvcc"] = shutil.which("nvcc")
    env["triton"] = _version_of("triton")
    from .labs.cpp import NO_COMPILER, describe_compiler

    env["c++"] = describe_compiler() or NO_COMPILER  # C++ labs: compiler and version
    from .labs.gpu import detect

    gpus = detect()
    gpu = gpus[0].name if gpus else None
    env["gpu"] = gpu
    from .labs.contain import capabilities

    given = capabilities()  # how lab runs are contained here (docs/threat-model.md)
    env["containment"] = ", ".join(
        ["subreaper + run token" if given["subreaper"] else "run token",
         given["write_confinement"] or "writes not confined (no Landlock)",
         given["memory_limit"] or "no memory limit"])
    from .paths import editor

    chosen = editor()
    env["editor"] = f"{' '.join(chosen[0])} ({chosen[1]})" if chosen else None
    return env


def source_refs(catalog: Catalog) -> tuple[str, list[dict]]:
    """Whether the vLLM source is here, and a warning for each lesson reference it does not resolve."""
    from . import source

    present, line = source.status()
    if not present:
        return line, []
    warnings = []
    for lesson_id, ref, why in source.unresolved_refs(catalog.lessons.values()):
        lesson = catalog.lessons[lesson_id]
        warnings.append({"path": lesson.origin.rsplit(":", 1)[0], "line": 0,
                         "message": f"lesson {lesson_id}: vllm_refs {ref} does not resolve in the source: {why}"})
    return line, warnings


def report(catalog: Catalog, with_environment: bool = True) -> dict:
    result = counts(catalog)
    result["errors"] = [p.as_dict() for p in catalog.errors]
    result["warnings"] = [p.as_dict() for p in catalog.warnings]
    if with_environment:
        result["environment"] = environment()
        line, unresolved = source_refs(catalog)
        result["environment"]["vllm source"] = line
        result["warnings"] += unresolved
    return result

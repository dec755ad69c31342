"""Labs (`labs/<track>/<id>/lab.yaml`) and projects (`labs/projects/<id>/project.yaml`).

A lab folder holds README.md, starter/, solution/ and tests/; the same tests
run against the learner's workspace copy, solution/ and starter/. A project
has ordered stages, each with its own tests folder; a run stops at the first
failing stage.

`mutants.yaml` beside lab.yaml (optional) lists wrong solutions a learner
would plausibly write, each as text replacements applied to the solution;
`vlearn verify` checks that the lab's tests reject every one of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .base import ContentReadError, Fields, LoadContext, add_unique, read_content_text
from .vocab import COMPONENTS, LAB_TRACKS

ORDER = 20
GPU_NEEDS = ("none", "optional", "required")
DEFAULT_TIMEOUT_S = 10.0


@dataclass
class Mutant:
    """A plausible wrong solution: the solution with `replace` (old, new) pairs applied to `file`."""
    id: str
    why: str
    file: str
    replace: list[tuple[str, str]]
    origin: str


@dataclass
class Lab:
    id: str
    title: str
    track: str
    day: int
    module: str
    components: list[str]
    difficulty: int
    minutes: int
    files: list[str]  # the learner edits these (relative to the workspace folder)
    hints: list[str]
    gpu: str  # none | optional | required
    perf: dict  # optional targets, e.g. {"pct_of_copy": 85}
    timeout_s: float
    path: Path  # the lab folder
    origin: str
    kind: str = "lab"
    memory_mb: float = 0.0  # resident-memory ceiling for a run (0: the default for its `gpu`)
    mutants: list[Mutant] = field(default_factory=list)

    @property
    def readme(self) -> Path:
        return self.path / "README.md"

    @property
    def starter(self) -> Path:
        return self.path / "starter"

    @property
    def solution(self) -> Path:
        return self.path / "solution"

    def test_runs(self) -> list[tuple[str | None, Path]]:
        """(stage id or None, tests folder) in the order they run."""
        return [(None, self.path / "tests")]


@dataclass
class Stage:
    id: str
    title: str
    tests: Path
    hints: list[str]


@dataclass
class Project(Lab):
    stages: list[Stage] = field(default_factory=list)
    kind: str = "project"

    def test_runs(self) -> list[tuple[str | None, Path]]:
        return [(stage.id, stage.tests) for stage in self.stages]

    def stage(self, stage_id: str | None) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)


def _common(f: Fields, folder: Path, track_default: str | None = None) -> dict:
    perf = f.mapping("perf", {})
    return dict(
        id=f.str("id"),
        title=f.str("title"),
        track=f.choice("track", LAB_TRACKS, track_default) if track_default else f.choice("track", LAB_TRACKS),
        day=f.int("day", minimum=0),
        module=f.str("module"),
        components=f.subset("components", set(COMPONENTS), []),
        difficulty=f.int("difficulty", 2, minimum=1),
        minutes=f.int("minutes", 30, minimum=1),
        files=f.str_list("files"),
        hints=f.str_list("hints", []),
        gpu=f.choice("gpu", GPU_NEEDS, "none"),
        perf=dict(perf or {}),
        timeout_s=f.number("timeout_s", DEFAULT_TIMEOUT_S),
        memory_mb=f.number("memory_mb", 0.0),
        path=folder,
        origin=f"{f.source.rel}:{f.data.line_of('id')}",
    )


def _check_folder(f: Fields, folder: Path, item: Lab, needs_tests: bool) -> None:
    if item.id and item.id != folder.name:
        f.error("id", f"id '{item.id}' must equal the folder name '{folder.name}'")
    if item.timeout_s is not None and item.timeout_s <= 0:
        f.error("timeout_s", "field 'timeout_s' must be positive")
    if item.memory_mb is not None and item.memory_mb < 0:
        f.error("memory_mb", "field 'memory_mb' must be positive (MiB)")
    if not item.memory_mb and not f.failed:
        from ..labs.contain import DEFAULT_MEMORY_MB

        item.memory_mb = float(DEFAULT_MEMORY_MB.get(item.gpu, DEFAULT_MEMORY_MB["none"]))
    if not item.files:
        f.error("files", "field 'files' must name at least one file the learner edits")
    wanted = ["README.md", "starter", "solution"] + (["tests"] if needs_tests else [])
    for name in wanted:
        if not (folder / name).exists():
            f.error(None, f"missing {name} in {folder.name}/")
    for name in item.files:
        for side in ("starter", "solution"):
            if (folder / side).is_dir() and not (folder / side / name).is_file():
                f.error("files", f"{side}/{name} does not exist")


def _load_mutants(ctx: LoadContext, item: Lab) -> None:
    path = item.path / "mutants.yaml"
    if not path.is_file():
        return
    src = ctx.source(path)
    seen: set[str] = set()
    for raw in src.read_list("mutants"):
        if not hasattr(raw, "line_of"):
            src.error(getattr(raw, "line", 1), "each mutant is a mapping with id, why, file, replace")
            continue
        f = Fields(src, raw, f"mutant {raw.get('id', '?')}")
        mutant = Mutant(id=f.str("id"), why=f.str("why"), file=f.str("file", item.files[0] if item.files else ""),
                        replace=[], origin=f"{src.rel}:{raw.line}")
        for pair in f.list("replace") or []:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                f.error("replace", "each replacement is a pair [old text, new text]")
                continue
            mutant.replace.append((pair[0], pair[1]))
        if mutant.id in seen:
            f.error("id", f"duplicate mutant id '{mutant.id}'")
        seen.add(mutant.id)
        if not f.failed and mutant.file not in item.files:
            f.error("file", f"'{mutant.file}' is not one of the lab's files {item.files}")
        if not f.failed and not mutant.replace:
            f.error("replace", "a mutant needs at least one replacement")
        solution = item.path / "solution" / mutant.file
        if not f.failed and solution.is_file():
            try:
                text = read_content_text(solution)
            except ContentReadError as exc:
                f.error("file", f"solution/{mutant.file}: {exc}")
                continue
            for old, _ in mutant.replace:
                if old not in text:
                    f.error("replace", f"no longer applies: {old!r} is not in solution/{mutant.file}")
        if not f.failed:
            item.mutants.append(mutant)


def _load_lab(ctx: LoadContext, path: Path) -> None:
    src = ctx.source(path)
    data = src.read_mapping()
    if data is None:
        return
    folder = path.parent
    f = Fields(src, data, "lab")
    lab = Lab(**_common(f, folder))
    if lab.track and lab.track != folder.parent.name:
        f.error("track", f"track '{lab.track}' does not match the folder labs/{folder.parent.name}/")
    _check_folder(f, folder, lab, needs_tests=True)
    if not f.failed:
        _load_mutants(ctx, lab)
        add_unique(ctx.catalog.labs, lab, src, data.line_of("id"), "lab")


def _load_project(ctx: LoadContext, path: Path) -> None:
    src = ctx.source(path)
    data = src.read_mapping()
    if data is None:
        return
    folder = path.parent
    f = Fields(src, data, "project")
    project = Project(**_common(f, folder, track_default="python"))
    seen: set[str] = set()
    for raw in f.list("stages") or []:
        if not hasattr(raw, "line_of"):
            f.error("stages", "each stage must be a mapping with id, title, tests, hints")
            continue
        sf = Fields(src, raw, f"project {project.id} stage {raw.get('id', '?')}")
        stage = Stage(id=sf.str("id"), title=sf.str("title"), tests=folder / (sf.str("tests") or ""), hints=sf.str_list("hints", []))
        if stage.id in seen:
            sf.error("id", f"duplicate stage id '{stage.id}'")
        seen.add(stage.id)
        if not sf.failed and not stage.tests.is_dir():
            sf.error("tests", f"tests folder '{raw.get('tests')}' does not exist")
        if sf.failed:
            f.failed = True
        else:
            project.stages.append(stage)
    if not project.stages and not f.failed:
        f.error("stages", "a project needs at least one stage")
    # The learner sees every stage's hints in stage order.
    project.hints = project.hints + [h for s in project.stages for h in s.hints]
    _check_folder(f, folder, project, needs_tests=False)
    if project.id in ctx.catalog.labs:
        f.error("id", f"project id '{project.id}' is already a lab id")
    if not f.failed:
        _load_mutants(ctx, project)
        add_unique(ctx.catalog.projects, project, src, data.line_of("id"), "project")


def load(ctx: LoadContext) -> None:
    for path in ctx.files("labs", "*/*/lab.yaml"):
        if path.parent.parent.name != "projects":
            _load_lab(ctx, path)
    for path in ctx.files("labs/projects", "*/project.yaml"):
        _load_project(ctx, path)


def all_labs(catalog) -> list[Lab]:
    """Labs and projects in study order (day, then track, then id)."""
    items = list(catalog.labs.values()) + list(catalog.projects.values())
    return sorted(items, key=lambda i: (i.day if i.day is not None else 99, i.kind == "project", i.track, i.id))


def find(catalog, ident: str) -> Lab | None:
    return catalog.labs.get(ident) or catalog.projects.get(ident)

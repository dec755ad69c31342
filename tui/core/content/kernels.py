"""Kernel units (kernels/<name>/kernel.yaml) and GPU specs (data/gpus.yaml).

kernel.yaml fields: id (= folder name), title, source (the .cu beside it),
unit (Python file with inputs / launch / reference / model; default unit.py),
bound (memory | compute), lab (the CUDA lab that teaches it), components,
launch (how the grid is shaped, in words), summary.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .base import Fields, LoadContext, Problem, Source, add_unique, load_items
from .vocab import COMPONENTS

ORDER = 40


@dataclass
class Kernel:
    id: str
    title: str
    source: str  # repo-relative path of the .cu
    unit: str  # repo-relative path of unit.py
    bound: str
    lab: str | None
    components: list[str]
    launch: str
    summary: str
    origin: str = ""


@dataclass
class GpuSpec:
    id: str
    name: str
    match: list[str]
    mem_gbps: float  # peak device-memory bandwidth, HBM or GDDR (see memory_type)
    fp16_tflops: float
    bf16_tflops: float
    fp32_tflops: float
    tf32_tflops: float | None = None
    memory_gb: float | None = None
    memory_type: str | None = None
    sms: int | None = None
    l2_mb: float | None = None
    origin: str = ""


def _load_kernel(ctx: LoadContext, path: Path) -> None:
    source = ctx.source(path)
    data = source.read_mapping()
    if data is None:
        return
    f = Fields(source, data, f"kernel {data.get('id', '?')}")
    ident = f.str("id")
    folder = path.parent
    if ident and ident != folder.name:
        f.error("id", f"kernel id '{ident}' must equal its folder name '{folder.name}'")
    cu = f.str("source")
    unit = f.str("unit", "unit.py")
    for key, name in (("source", cu), ("unit", unit)):
        if name and not (folder / name).is_file():
            f.error(key, f"{key} file '{name}' not found in {folder.relative_to(ctx.root).as_posix()}/")
    item = Kernel(
        id=ident,
        title=f.str("title"),
        source=(folder / cu).resolve().relative_to(ctx.root.resolve()).as_posix() if cu else "",
        unit=(folder / unit).relative_to(ctx.root).as_posix() if unit else "",
        bound=f.choice("bound", ("memory", "compute")),
        lab=f.str("lab", None),
        components=f.subset("components", set(COMPONENTS), ["cuda_kernels"]),
        launch=f.str("launch"),
        summary=f.str("summary", ""),
        origin=f"{source.rel}:{data.line}",
    )
    if not f.failed:
        add_unique(ctx.catalog.kernels, item, source, data.line_of("id"), "kernel")


def _build_gpu(f: Fields) -> GpuSpec:
    spec = GpuSpec(
        id=f.str("id"), name=f.str("name"), match=f.str_list("match"),
        mem_gbps=f.number("mem_gbps"), fp16_tflops=f.number("fp16_tflops"),
        bf16_tflops=f.number("bf16_tflops"), fp32_tflops=f.number("fp32_tflops"),
        tf32_tflops=f.number("tf32_tflops", None), memory_gb=f.number("memory_gb", None),
        memory_type=f.str("memory_type", None),
        sms=f.int("sms", None), l2_mb=f.number("l2_mb", None), origin=f"{f.source.rel}:{f.data.line}",
    )
    for key in ("mem_gbps", "fp16_tflops", "bf16_tflops", "fp32_tflops"):
        value = getattr(spec, key)
        if isinstance(value, float) and value <= 0:
            f.error(key, f"field '{key}' must be positive")
    if not spec.match:
        f.error("match", "field 'match' must list at least one name fragment")
    return spec


def _read_gpus(source: Source, registry: dict) -> None:
    load_items(source, source.read_list("gpus"), _build_gpu, registry, "gpu")


def load_gpu_specs(root: Path) -> tuple[dict, list[Problem]]:
    """data/gpus.yaml alone, for the bench (which needs no other content)."""
    problems: list[Problem] = []
    registry: dict = {}
    path = Path(root) / "data" / "gpus.yaml"
    if path.is_file():
        _read_gpus(Source(Path(root), path, problems), registry)
    return registry, problems


def load(ctx: LoadContext) -> None:
    for path in ctx.files("kernels", "*/kernel.yaml"):
        _load_kernel(ctx, path)
    path = ctx.root / "data" / "gpus.yaml"
    if path.is_file():
        _read_gpus(ctx.source(path), ctx.catalog.gpus)


def check(ctx: LoadContext) -> None:
    """A kernel's lab must exist (a warning: labs may land later than kernels)."""
    if not ctx.catalog.labs:
        return
    for kernel in ctx.catalog.kernels.values():
        if kernel.lab and kernel.lab not in ctx.catalog.labs:
            path, _, line = kernel.origin.rpartition(":")
            ctx.problems.append(Problem(path, int(line or 0), f"kernel {kernel.id}: unknown lab '{kernel.lab}'",
                                        "warning"))

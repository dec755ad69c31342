"""The kernel harness: check a kernel against PyTorch, time it, place it on the roofline.

A kernel unit is `kernels/<name>/` with `kernel.yaml`, the `.cu` source and
`unit.py` (inputs, poisoned outputs, launch, PyTorch reference, tolerance,
the PyTorch op to race, and a bytes/FLOPs model). The same functions serve
`vlearn bench kernels`, the kernel tests, and the CUDA labs' tests (which pass
the learner's .cu instead of the reference one).

Everything here that touches CUDA imports torch/cupy lazily: import this
module anywhere, but call `check`/`measure` only in a process that may own a
CUDA context.
"""
from __future__ import annotations

import importlib.util
import json
import math
from functools import lru_cache
from pathlib import Path

import yaml

from .paths import content_root

# ---- small launch helpers used by every unit.py -------------------------------------------

def ptr(tensor):
    """A device pointer as a kernel argument (CuPy passes a uint64 by value)."""
    import numpy as np

    return np.uint64(tensor.data_ptr())


def i32(v):
    import numpy as np

    return np.int32(v)


def i64(v):
    import numpy as np

    return np.int64(v)


def f32(v):
    import numpy as np

    return np.float32(v)


_functions: dict = {}


def fn(module, name: str):
    """`module.get_function(name)`, cached (the lookup costs more than a launch)."""
    key = (id(module), name)
    if key not in _functions:
        _functions[key] = (module, module.get_function(name))  # keep the module alive with it
    return _functions[key][1]


@lru_cache(maxsize=1)
def sm_count() -> int:
    import torch

    return torch.cuda.get_device_properties(0).multi_processor_count


# ---- units ---------------------------------------------------------------------------------

def kernels_root(root: Path | None = None) -> Path:
    return (Path(root) if root else content_root()) / "kernels"


def unit_names(root: Path | None = None) -> list[str]:
    base = kernels_root(root)
    return sorted(p.name for p in base.iterdir() if (p / "unit.py").is_file()) if base.is_dir() else []


def load_unit(name: str, root: Path | None = None):
    """Import kernels/<name>/unit.py as a module; `unit.DIR` is its folder."""
    folder = kernels_root(root) / name
    spec = importlib.util.spec_from_file_location(f"vlearn_kernel_{name}", folder / "unit.py")
    if spec is None or not (folder / "unit.py").is_file():
        raise FileNotFoundError(f"no kernel unit {name!r} under {kernels_root(root)}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DIR = folder
    module.NAME = name
    # kernel.yaml names the .cu: the CUDA lab's solution, one file for both.
    meta = yaml.safe_load((folder / "kernel.yaml").read_text(encoding="utf-8"))
    module.SOURCE_PATH = (folder / meta["source"]).resolve()
    return module


def compile_unit(unit, source: Path | None = None):
    """The unit's RawModule, from its own .cu or from `source` (a learner's copy)."""
    from .labs.cuda_compile import load_module

    return load_module(Path(source) if source else unit.SOURCE_PATH)


def _model(unit, size, t):
    try:
        return unit.model(size, t)
    except TypeError:
        return unit.model(size)


GUARD_BYTES = 512  # poisoned bytes on each side of every output (a multiple of 256: alignment is kept)
GUARD_BYTE = 0xA5


def _guarded(out: dict) -> tuple[dict, dict]:
    """Each contiguous output copied into the middle of a larger buffer whose ends hold a
    pattern, so a write a few elements out of bounds (a tail bug) is seen, not silently lost."""
    import torch

    guarded, buffers = {}, {}
    for key, tensor in out.items():
        if not (isinstance(tensor, torch.Tensor) and tensor.is_cuda and tensor.is_contiguous()):
            guarded[key] = tensor
            continue
        nbytes = tensor.numel() * tensor.element_size()
        raw = torch.full((nbytes + 2 * GUARD_BYTES,), GUARD_BYTE, dtype=torch.uint8, device=tensor.device)
        middle = raw[GUARD_BYTES:GUARD_BYTES + nbytes]
        middle.copy_(tensor.reshape(-1).view(torch.uint8))
        guarded[key] = middle.view(tensor.dtype).view(tensor.shape)
        buffers[key] = raw
    return guarded, buffers


def _guard_problem(buffers: dict, size: dict) -> str | None:
    for key, raw in buffers.items():
        for side, band in (("before the start", raw[:GUARD_BYTES]), ("past the end", raw[-GUARD_BYTES:])):
            changed = _nonzero(band != GUARD_BYTE)
            if changed:
                first = changed[0] if side == "past the end" else GUARD_BYTES - changed[-1]
                return (f"{key}: the kernel wrote {len(changed)} bytes {side} of the output "
                        f"({'byte +' if side == 'past the end' else 'byte -'}{first}); size {size}")
    return None


def _nonzero(mask) -> list[int]:
    import torch

    return [int(i) for i in torch.nonzero(mask).flatten()]


def check(unit, module, size: dict, seed: int = 0) -> str | None:
    """Run once on fresh random inputs with poisoned outputs inside poisoned guard bands;
    None if it matches the PyTorch reference within the unit's tolerance and wrote nothing
    outside its outputs, else what is wrong."""
    import torch

    gen = torch.Generator(device="cuda").manual_seed(seed)
    t = unit.inputs(size, gen)
    out, buffers = _guarded(unit.outputs(t, size))
    unit.launch(module, t, out, size)
    torch.cuda.synchronize()
    problem = _guard_problem(buffers, size)
    if problem:
        return problem
    expected = unit.reference(t, size)
    tol = unit.tolerance(size, t)
    equal_nan = getattr(unit, "EQUAL_NAN", False)
    for key, want in expected.items():
        got = out[key]
        g, w = got.double(), want.double()
        if g.shape != w.shape:
            return f"{key}: shape {tuple(g.shape)}, expected {tuple(w.shape)}"
        nan_got, nan_want = torch.isnan(g), torch.isnan(w)
        unwritten = int((nan_got & ~nan_want).sum())
        if unwritten:
            first = tuple(int(i) for i in torch.nonzero(nan_got & ~nan_want)[0])
            return (f"{key}: {unwritten} of {g.numel()} elements are NaN (never written, or a NaN was computed); "
                    f"first at index {first}, size {size}")
        if equal_nan and int((nan_want & ~nan_got).sum()):
            n = int((nan_want & ~nan_got).sum())
            return f"{key}: {n} elements written that should have been left alone (padding slots?), size {size}"
        both = nan_got & nan_want
        g, w = torch.where(both, 0.0, g), torch.where(both, 0.0, w)
        err = (g - w).abs()
        bad = err > tol["atol"] + tol["rtol"] * w.abs()
        if bool(bad.any()):
            idx = tuple(int(i) for i in torch.nonzero(bad)[0])
            return (f"{key}: {int(bad.sum())} of {g.numel()} elements differ from the reference "
                    f"(max abs error {float(err.max()):.3g}, atol {tol['atol']:.3g}, rtol {tol['rtol']:.3g}); "
                    f"first at index {idx}: got {float(g[idx]):.6g}, expected {float(w[idx]):.6g}; size {size}")
    return None


def measure(unit, module, size: dict, copy_gbps: float | None = None, spec=None, seed: int = 0,
            with_torch: bool = True, reference_module=None) -> dict:
    """Time the kernel (and PyTorch's op, and optionally the reference kernel) at `size`."""
    import torch

    from .labs.roofline import analyse
    from .labs.timing import time_cuda

    gen = torch.Generator(device="cuda").manual_seed(seed)
    t = unit.inputs(size, gen)
    out = unit.outputs(t, size)
    nbytes, flops = _model(unit, size, t)
    peak_bw = getattr(spec, "mem_gbps", None)
    peak_fl = _peak_tflops(spec, size) if spec else None
    timing = time_cuda(lambda: unit.launch(module, t, out, size))
    roof = analyse(timing.median_ms, nbytes, flops, copy_gbps, peak_bw, peak_fl)
    row = {"size": size, "ms": timing.median_ms, "p90_ms": timing.p90_ms, "runs": timing.runs,
           "gbps": roof.gbps, "tflops": roof.tflops, "bound": roof.bound,
           "pct_of_copy": roof.pct_of_copy, "pct_of_peak": roof.pct_of_peak}
    if reference_module is not None:
        ref_t = time_cuda(lambda: unit.launch(reference_module, t, out, size))
        row["reference_ms"] = ref_t.median_ms
        row["vs_reference"] = ref_t.median_ms / timing.median_ms
    op = unit.torch_op(t, size) if with_torch else None
    if op is not None:
        tt = time_cuda(op)
        troof = analyse(tt.median_ms, nbytes, flops, copy_gbps, peak_bw, peak_fl)
        row.update(torch_ms=tt.median_ms, torch_gbps=troof.gbps, torch_tflops=troof.tflops,
                   torch_pct_of_copy=troof.pct_of_copy, speedup_vs_torch=tt.median_ms / timing.median_ms)
    return row


def _peak_tflops(spec, size) -> float | None:
    dtype = size.get("dtype", "")
    if "float16" in dtype or "half" in dtype:
        return getattr(spec, "fp16_tflops", None)
    if "bfloat16" in dtype:
        return getattr(spec, "bf16_tflops", None)
    return getattr(spec, "fp32_tflops", None)


# ---- the whole run -------------------------------------------------------------------------

def device_spec(root: Path | None = None):
    """(device name, matching data/gpus.yaml entry or None), asked of torch."""
    import torch

    from .content.kernels import load_gpu_specs
    from .labs.gpu import match_spec

    name = torch.cuda.get_device_name(0)
    specs, _ = load_gpu_specs(root or content_root())
    return name, match_spec(name, specs)


def run_kernels(names: list[str] | None = None, workspace: Path | None = None, lab_unit: str | None = None,
                root: Path | None = None, progress=None) -> dict:
    """Copy bandwidth first, then every unit's BENCH sizes: correctness, then timings.

    With `workspace` (a learner's .cu) and `lab_unit`, bench that file against
    the unit's reference kernel and PyTorch instead.
    """
    from .labs.timing import copy_bandwidth_gbps

    device, spec = device_spec(root)
    copy = copy_bandwidth_gbps()
    result = {"device": device, "spec": getattr(spec, "id", None), "copy_gbps": copy,
              "spec_mem_gbps": getattr(spec, "mem_gbps", None),
              "spec_memory_type": getattr(spec, "memory_type", None), "rows": []}
    todo = [lab_unit] if lab_unit else (names or unit_names(root))
    for name in todo:
        unit = load_unit(name, root)
        try:
            reference = compile_unit(unit)
            module = compile_unit(unit, workspace) if workspace else reference
        except Exception as exc:  # a compile error is a result, not a crash
            result["rows"].append({"kernel": name, "label": "", "error": str(exc)})
            continue
        for label, size in unit.BENCH:
            if progress:
                progress(f"{name} {label}")
            row = {"kernel": name, "label": label}
            try:
                problem = check(unit, module, size)
                row["correct"] = problem is None
                if problem:
                    row["error"] = problem
                row.update(measure(unit, module, size, copy, spec,
                                   reference_module=reference if workspace else None))
            except Exception as exc:  # one broken row must not hide the others
                row["error"] = f"{type(exc).__name__}: {exc}"
            result["rows"].append(row)
    return result


def _fmt(value, spec: str, none: str = "-") -> str:
    return none if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def format_table(result: dict) -> str:
    lines = [f"device: {result['device']} (spec: {result['spec'] or 'unknown'}, "
             f"spec {result.get('spec_memory_type') or 'memory'} {_fmt(result.get('spec_mem_gbps'), '.0f')} GB/s)",
             f"measured device-to-device copy: {result['copy_gbps']:.0f} GB/s (bytes read + written)", ""]
    head = (f"{'kernel':<18}{'size':<36}{'ok':<4}{'ms':>9}{'GB/s':>8}{'TFLOP/s':>9}{'%copy':>7}{'%peak':>7}"
            f"{'torch ms':>10}{'torch %copy':>12}{'x torch':>8}")
    lines += [head, "-" * len(head)]
    for r in result["rows"]:
        if "ms" not in r:
            lines.append(f"{r['kernel']:<18}{r['label']:<36}ERROR {r.get('error', '')[:200]}")
            continue
        lines.append(
            f"{r['kernel']:<18}{r['label']:<36}{'yes' if r.get('correct') else 'NO':<4}{r['ms']:>9.3f}"
            f"{r['gbps']:>8.0f}{r['tflops']:>9.2f}{_fmt(r['pct_of_copy'], '.1f'):>7}{_fmt(r['pct_of_peak'], '.1f'):>7}"
            f"{_fmt(r.get('torch_ms'), '.3f'):>10}{_fmt(r.get('torch_pct_of_copy'), '.1f'):>12}"
            f"{_fmt(r.get('speedup_vs_torch'), '.2f'):>8}"
            + (f"  x ref {r['vs_reference']:.2f}" if "vs_reference" in r else ""))
    for r in result["rows"]:
        if r.get("error") and "ms" in r:
            lines.append(f"! {r['kernel']} {r['label']}: {r['error']}")
    return "\n".join(lines)


def to_json(result: dict) -> str:
    return json.dumps(result, default=lambda o: round(o, 4) if isinstance(o, float) else str(o))


# ---- the CUDA labs' GPU test ----------------------------------------------------------------

def run_lab(lab_dir: Path, unit_name: str, filename: str, seed: int | None = None) -> tuple[str | None, dict]:
    """Check the learner's kernel on every test size (fresh random inputs) and
    the timing size, then time it against the reference kernel and PyTorch.
    Returns (problem or None, figures for record_perf)."""
    import random

    from .labs.timing import copy_bandwidth_gbps

    seed = random.randrange(1 << 30) if seed is None else seed
    unit = load_unit(unit_name)
    module = compile_unit(unit, Path(lab_dir) / filename)
    label, perf_size = unit.BENCH[0]
    for i, size in enumerate([*unit.TEST_SIZES, perf_size]):
        problem = check(unit, module, size, seed=seed + i)
        if problem:
            return f"{problem} (seed {seed + i})", {}
    _, spec = device_spec()
    row = measure(unit, module, perf_size, copy_bandwidth_gbps(), spec, reference_module=compile_unit(unit))
    # Once more after the timing loop on fresh inputs: a race or an uninitialised read that
    # happened to come out right the first time rarely does so twice.
    problem = check(unit, module, perf_size, seed=seed + len(unit.TEST_SIZES) + 1)
    if problem:
        return f"{problem} (on the check repeated after timing, seed {seed + len(unit.TEST_SIZES) + 1})", {}
    figures = {"size": label, "kernel_ms": row["ms"], "gbps": row["gbps"], "tflops": row["tflops"],
               "pct_of_copy": row["pct_of_copy"], "pct_of_peak": row["pct_of_peak"],
               "vs_reference": row.get("vs_reference"), "vs_torch": row.get("speedup_vs_torch"),
               "torch_ms": row.get("torch_ms"), "reference_ms": row.get("reference_ms")}
    return None, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()}

"""Sweep the launch knobs of the reference kernels on this GPU; print median times.

    python bench/tune_kernels.py [kernel ...]      (needs a CUDA GPU; all swept kernels by default)

Each variant is the reference .cu with some #defines set first and/or some of the
unit's module-level knobs replaced (threads per row, partitions per SM, ...). A
variant is timed only after it matches the PyTorch reference at every TEST_SIZE, so
a fast wrong configuration never wins. Times are CUDA-event medians (tui.core.labs.timing);
% of copy is against the device-to-device copy measured at the start of the run.
Pick the winners by hand into the sources and units: this script changes nothing.
"""
from __future__ import annotations

import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tui.core import bench  # noqa: E402


def _rows_threads(per_thread):
    """threads_for() giving each thread `per_thread` elements of a row (16-byte vectors)."""
    def threads_for(cols):
        if cols % 8 == 0 and cols <= 1024 * 32:
            return min(1024, max(32, (-(-cols // per_thread) + 31) // 32 * 32))
        return min(512, max(32, (cols + 31) // 32 * 32))
    return threads_for


def _norm_variants():
    return [(f"{n} elems/thread, up to {v} vectors", {"MAX_VEC": v}, {"threads_for": _rows_threads(n)})
            for n, v in ((32, 4), (64, 8))]


VARIANTS = {
    "layernorm": _norm_variants(),
    "rmsnorm": _norm_variants(),
    "transpose": [
        (f"tile {t} x {r} rows", {"TILE": t, "BLOCK_ROWS": r}, {"TILE": t, "BLOCK_ROWS": r})
        for t, r in ((32, 8), (64, 4), (64, 2), (64, 8))
    ],
    "paged_attention": [
        (f"prefetch G4 {pf4} G1-3 {pf1}; blocks/SM {w}; min part {mp}",
         {"PF_1_3": pf1, "PF_4": pf4}, {"BLOCKS_PER_SM": w, "MIN_PART": mp})
        for pf1, pf4, w, mp in (
            ("false", "true", 4, 512), ("false", "true", 8, 512), ("false", "true", 8, 256),
            ("false", "true", 16, 256), ("true", "true", 8, 256), ("false", "false", 8, 256),
        )
    ],
    "rotary_embedding": [("as committed", {}, {})],
    "fp8_quant_per_token": [(f"{n} threads, up to {v} vectors", {"MAX_VEC": v}, {"THREADS": n})
                            for n, v in ((256, 4), (128, 4), (64, 8), (128, 8))],
    "sgemm": [
        (f"BK {bk} min blocks {mb} group {g}", {"BK": bk, "MIN_BLOCKS": mb, "GROUP_M": g}, {})
        for bk, mb, g in ((16, 1, 1), (16, 1, 8), (16, 1, 16), (16, 2, 8), (8, 2, 8))
    ],
}


@contextmanager
def _variant(unit, defines: dict, knobs: dict):
    saved = {k: getattr(unit, k) for k in knobs}
    for k, v in knobs.items():
        setattr(unit, k, v)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / unit.SOURCE_PATH.name
        head = "".join(f"#define {k} {v}\n" for k, v in defines.items())
        src.write_text(head + unit.SOURCE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
        try:
            yield bench.compile_unit(unit, src)
        finally:
            for k, v in saved.items():
                setattr(unit, k, v)


def main(names: list[str]) -> int:
    from tui.core.labs.timing import copy_bandwidth_gbps

    device, spec = bench.device_spec()
    copy = copy_bandwidth_gbps()
    print(f"device: {device}; measured copy {copy:.0f} GB/s; {bench.sm_count()} SMs")
    # A small kernel cannot reach the large-copy figure: show what a copy of its size reaches.
    for mib in (64, 128, 256):
        print(f"copy of {mib} MiB (read + written): {copy_bandwidth_gbps(mib << 20):.0f} GB/s")
    for name in names or list(VARIANTS):
        unit = bench.load_unit(name)
        print(f"\n== {name}")
        for label, defines, knobs in VARIANTS[name]:
            with _variant(unit, defines, knobs) as module:
                try:
                    bad = next((p for seed, size in enumerate(unit.TEST_SIZES)
                                if (p := bench.check(unit, module, size, seed=seed))), None)
                except Exception as exc:  # e.g. too many registers for the block: a result, not a crash
                    bad = f"{type(exc).__name__}: {exc}"
                if bad:
                    print(f"  {label:48s} WRONG: {bad[:150]}")
                    continue
                cells = []
                for size_label, size in unit.BENCH:
                    row = bench.measure(unit, module, size, copy, spec, with_torch=(name == "sgemm"))
                    if name == "sgemm":
                        cells.append(f"{size_label}: {row['ms']:.3f} ms {row['tflops']:.1f} TFLOP/s "
                                     f"= {100 * row['speedup_vs_torch']:.1f}% of cuBLAS")
                    else:
                        cells.append(f"{size_label}: {row['ms']:.3f} ms {row['pct_of_copy']:.1f}%")
                print(f"  {label:48s} " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

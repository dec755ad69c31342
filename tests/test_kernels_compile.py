"""Kernel units and CUDA labs on any machine: NVRTC compile, file:line errors, loader checks."""
from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.labs.cuda_compile import compile_file, compile_source, nvrtc_available, parse_log

REPO = Path(__file__).resolve().parents[1]
CU_FILES = sorted(p.relative_to(REPO).as_posix() for p in [*REPO.glob("kernels/*/*.cu"), *REPO.glob("labs/cuda/*/*/*.cu")])
needs_compiler = pytest.mark.skipif(not nvrtc_available(), reason="NVRTC not loadable (install nvidia-cuda-nvrtc)")


@needs_compiler
@pytest.mark.parametrize("rel", CU_FILES)
def test_every_cu_compiles_with_nvrtc(rel):
    result = compile_file(REPO / rel)
    assert result.backend == "nvrtc"
    assert result.ok, result.report()


@needs_compiler
def test_syntax_error_in_a_starter_is_reported_at_its_line(tmp_path):
    starter = REPO / "labs/cuda/cuda-vector-add/starter/vector_add.cu"
    lines = starter.read_text().splitlines()
    line_no = next(i for i, text in enumerate(lines, 1) if "TODO(you)" in text) + 1
    lines.insert(line_no - 1, "    int broken = ;")
    learner = tmp_path / "vector_add.cu"
    learner.write_text("\n".join(lines) + "\n")
    result = compile_file(learner)
    assert not result.ok
    assert [(d.path, d.line) for d in result.errors][0] == (str(learner), line_no)
    assert f"{learner}:{line_no}: error:" in result.report()


def test_parse_log_reads_nvrtc_and_nvcc_lines():
    log = ('k.cu(12): error: expected a ";"\n'
           'k.cu(3): warning #177-D: variable "i" was declared but never referenced\n'
           "k.cu(40): catastrophic error: cannot open source file \"x.h\"\n")
    found = parse_log(log, "labs/k.cu")
    assert [(d.line, d.severity) for d in found] == [(12, "error"), (3, "warning"), (40, "error")]
    assert found[0].message == 'expected a ";"' and found[0].path == "labs/k.cu"


def test_no_compiler_is_a_result_not_a_crash():
    result = compile_source("__global__ void k() {}", "k.cu", backend="nope")
    assert not result.ok and result.backend == "none" and "no CUDA compiler" in result.report()


@pytest.mark.skipif(not __import__("shutil").which("nvcc"), reason="nvcc not installed")
def test_nvcc_fallback_reports_the_same_line(tmp_path):
    bad = tmp_path / "bad.cu"
    bad.write_text('extern "C" __global__ void k(float* x) {\n  x[0] = 1\n}\n')
    result = compile_file(bad, backend="nvcc")
    assert not result.ok and result.errors[0].line in (2, 3)  # nvcc flags the line after the missing ';'


def test_lab_solutions_are_the_reference_kernels(catalog):
    """Each reference kernel is its CUDA lab's solution file (one source for both)."""
    labs = {k.lab: k for k in catalog.kernels.values()}
    assert len(labs) >= 6
    for lab_id, kernel in labs.items():
        lab = catalog.labs[lab_id]
        assert lab.track == "cuda" and lab.gpu == "required"
        solution = lab.path / "solution" / Path(kernel.source).name
        assert solution.resolve() == (REPO / kernel.source).resolve()
        starter = lab.path / "starter" / Path(kernel.source).name
        assert "TODO(you)" in starter.read_text() and starter.read_bytes() != solution.read_bytes()


def test_catalog_has_kernels_gpus_and_labs(catalog):
    assert len(catalog.kernels) >= 9
    assert {"h100-sxm", "h100-pcie", "h200", "a100-sxm-80gb", "l4", "rtx-4090"} <= set(catalog.gpus)
    tracks = [lab.track for lab in catalog.labs.values()]
    assert tracks.count("cuda") >= 6 and tracks.count("triton") >= 3
    mine = [p for p in catalog.errors if p.path.startswith(("kernels/", "data/gpus", "labs/cuda", "labs/triton"))]
    assert mine == []


def test_broken_kernel_yaml_is_reported_at_its_line(tmp_path):
    from tui.core.content import load_catalog

    folder = tmp_path / "kernels" / "demo"
    folder.mkdir(parents=True)
    (folder / "demo.cu").write_text("")
    (folder / "kernel.yaml").write_text("id: demo\ntitle: Demo\nsource: demo.cu\nbound: sideways\nlaunch: x\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "gpus.yaml").write_text("gpus:\n  - id: g\n    name: G\n    match: [G]\n    mem_gbps: -1\n"
                                                 "    fp16_tflops: 1\n    bf16_tflops: 1\n    fp32_tflops: 1\n")
    catalog = load_catalog(tmp_path)
    found = {(p.path, p.line): p.message for p in catalog.errors}
    assert any(path == "kernels/demo/kernel.yaml" and line == 4 and "bound" in msg for (path, line), msg in found.items())
    assert any(path == "kernels/demo/kernel.yaml" and "unit.py" in msg for (path, _), msg in found.items())
    assert any(path == "data/gpus.yaml" and line == 5 for (path, line) in found)
    assert catalog.kernels == {} and catalog.gpus == {}


def test_units_describe_sizes_and_models():
    from tui.core.bench import load_unit, unit_names

    names = unit_names()
    assert len(names) >= 9
    for name in names:
        unit = load_unit(name)
        assert unit.BENCH and unit.TEST_SIZES
        for _, size in unit.BENCH:
            nbytes, flops = unit.model(size)
            assert nbytes > 0 and flops >= 0


def test_paged_attention_says_which_group_sizes_it_runs():
    import importlib.util

    spec = importlib.util.spec_from_file_location("pa_unit", REPO / "kernels/paged_attention/unit.py")
    unit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unit)
    for heads, kv_heads in [(32, 32), (32, 8), (24, 8), (40, 8), (28, 4), (48, 8)]:  # 1, 4, 3, 5, 7, 6
        assert unit.group_size({"heads": heads, "kv_heads": kv_heads}) == heads // kv_heads
    with pytest.raises(ValueError, match="group of 16; the kernel is instantiated for groups 1-8"):
        unit.group_size({"heads": 128, "kv_heads": 8})
    with pytest.raises(ValueError, match="30 query heads do not divide into 8 KV heads"):
        unit.group_size({"heads": 30, "kv_heads": 8})
    sizes = {s["heads"] // s["kv_heads"] for s in unit.TEST_SIZES}
    assert {3, 5, 7} <= sizes  # the odd groups Qwen2.5 models use are among the checked sizes

"""Stage 3: the report: a Markdown table and a plain-text bar chart, every number exact.

Ceilings: the course H100's measured copy (2,962 GB/s) and bf16 GEMM (727 TFLOP/s).
The expected strings below were worked by hand:
  vector add fp32, n = 2^28: 3,221,225,472 B in 1.171 ms -> 2,750.8 GB/s, floor 1.0875 ms -> 92.9 %
  bf16 GEMM 8192^3: 1.0995e12 FLOP in 1.8 ms -> 610.84 TFLOP/s, floor 1.5124 ms -> 84.0 %
  fp32 copy, n = 2^20: 8,388,608 B in 4.2 us -> 1,997.3 GB/s, floor 2.832 us -> 67.4 %
"""
import pytest

from tui.core.labs.testing import load_lab_module


@pytest.fixture
def kb(lab_dir):
    return load_lab_module(lab_dir, "kernel_bench.py")


@pytest.fixture
def h100(kb):
    return kb.Ceilings(2962, 727)


@pytest.fixture
def runs(kb):
    n = 1 << 28
    return [
        kb.Measurement("vector_add_fp32", 3 * 4 * n, n, 1.171e-3),
        kb.Measurement("gemm_bf16_8192", 3 * 8192 * 8192 * 2, 2 * 8192**3, 1.8e-3),
        kb.Measurement("copy_fp32_1M", 2 * 4 * (1 << 20), 0, 4.2e-6),
    ]


# ------------------------------------------------------------ formatting helpers


@pytest.mark.parametrize("x, unit, text", [
    (0, "FLOP", "0 FLOP"),
    (999, "B", "999 B"),
    (1000, "B", "1.00 kB"),
    (12_582_912, "B", "12.58 MB"),  # 12 MiB is 12.58 MB: decimal prefixes throughout
    (3_221_225_472, "B", "3.22 GB"),
    (1_099_511_627_776, "FLOP", "1.10 TFLOP"),
    (2.5e15, "FLOP", "2.50 PFLOP"),
])
def test_format_si(kb, x, unit, text):
    assert kb.format_si(x, unit) == text


@pytest.mark.parametrize("seconds, text", [
    (1.5, "1.500 s"),
    (1.0, "1.000 s"),
    (1.171e-3, "1.171 ms"),
    (1e-3, "1.000 ms"),
    (999e-6, "999.0 µs"),
    (4.2e-6, "4.2 µs"),
])
def test_format_time(kb, seconds, text):
    assert kb.format_time(seconds) == text


def test_measurement_from_stats_uses_the_median(kb):
    stats = kb.summarize([1_171_000, 1_170_000, 5_000_000, 1_172_000, 1_171_500])
    m = kb.Measurement.from_stats("add", 12, 1, stats)
    assert m.name == "add" and m.nbytes == 12 and m.flops == 1
    assert m.seconds == pytest.approx(1.1715e-3)


# ------------------------------------------------------------ the table


TABLE = """\
| kernel | bytes | FLOPs | FLOP/B | time | GB/s | TFLOP/s | % of roof | bound |
| :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |
| vector_add_fp32 | 3.22 GB | 268.44 MFLOP | 0.08 | 1.171 ms | 2,750.8 | 0.23 | 92.9 % | memory |
| gemm_bf16_8192 | 402.65 MB | 1.10 TFLOP | 2730.67 | 1.800 ms | 223.7 | 610.84 | 84.0 % | compute |
| copy_fp32_1M | 8.39 MB | 0 FLOP | 0.00 | 4.2 µs | 1,997.3 | 0.00 | 67.4 % | memory |"""


def test_markdown_table_exact(kb, h100, runs):
    assert kb.markdown_table(runs, h100) == TABLE


def test_table_keeps_input_order(kb, h100, runs):
    lines = kb.markdown_table(runs[::-1], h100).splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| copy_fp32_1M", "| gemm_bf16_8192", "| vector_add_fp32"]


def test_table_escapes_pipes_in_names(kb, h100):
    table = kb.markdown_table([kb.Measurement("a|b", 8_388_608, 0, 4.2e-6)], h100)
    assert table.splitlines()[2].startswith("| a\\|b | 8.39 MB |")
    assert table.splitlines()[2].count(" | ") == 8  # still nine cells


def test_table_refuses_empty_and_duplicate_input(kb, h100, runs):
    with pytest.raises(ValueError):
        kb.markdown_table([], h100)
    with pytest.raises(ValueError, match="vector_add_fp32"):
        kb.markdown_table(runs + [runs[0]], h100)


# ------------------------------------------------------------ the bar chart


CHART = """\
vector_add_fp32 |#####################################...|  92.9 % memory
gemm_bf16_8192  |#################################.......|  84.0 % compute
copy_fp32_1M    |##########################..............|  67.4 % memory"""


def test_bar_chart_exact(kb, h100, runs):
    assert kb.bar_chart(runs, h100) == CHART


def test_bar_chart_width_and_floor(kb, h100, runs):
    # 67.43 % of 10 cells is 6.74: a bar never claims more than was achieved
    lines = kb.bar_chart(runs, h100, width=10).splitlines()
    assert lines[2] == "copy_fp32_1M    |######....|  67.4 % memory"
    assert all(len(line.split("|")[1]) == 10 for line in lines)


def test_bar_chart_marks_above_the_roof(kb, h100):
    n = 1 << 28
    line = kb.bar_chart([kb.Measurement("too_fast", 12 * n, n, 0.5e-3)], h100, width=8)
    assert line == "too_fast |########> 217.5 % memory"


def test_bar_chart_refuses_empty_input(kb, h100):
    with pytest.raises(ValueError):
        kb.bar_chart([], h100)

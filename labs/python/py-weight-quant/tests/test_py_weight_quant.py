"""Tests for py-weight-quant: ranges and scales at each granularity (with outliers, zero rows and
all-negative groups), int4 packing, and GPTQ against round-to-nearest on correlated inputs."""
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tui.core.labs.testing import examples, load_lab_module

SETTINGS = settings(max_examples=examples(60), derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture],
                    phases=[Phase.explicit, Phase.generate])


@pytest.fixture
def qz(lab_dir):
    return load_lab_module(lab_dir, "quant.py")


def weights(seed=0, out_f=16, in_f=64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(out_f, in_f, generator=g)


def test_ranges(qz):
    assert qz.qrange(8, True) == (-127, 127) and qz.qrange(4, True) == (-7, 7)
    assert qz.qrange(4, False) == (0, 15) and qz.qrange(8, False) == (0, 255)
    with pytest.raises(ValueError):
        qz.qrange(1, True)


def test_per_channel_symmetric_scales_and_error_bound(qz):
    w = weights()
    w[3] *= -50  # an outlier row, mostly negative values: the scale must come from |w|
    q, scale, zero = qz.quantize(w, 8)
    assert q.dtype == torch.int8 and scale.shape == (16, 1) and torch.all(zero == 0)
    assert torch.allclose(scale[:, 0], w.abs().amax(dim=1) / 127)
    err = (qz.dequantize(q, scale, zero) - w).abs()
    assert torch.all(err <= scale / 2 + 1e-6), "round-to-nearest error is at most half a step"
    assert int(q.abs().max()) == 127


def test_per_channel_beats_per_tensor_on_an_outlier_row(qz):
    w = weights()
    w[0] *= 100
    qt, st_ = qz.quantize_tensor(w, 8)
    per_tensor = (qt.float() * st_ - w)[1:].abs().mean()
    q, s, z = qz.quantize(w, 8)
    per_channel = (qz.dequantize(q, s, z) - w)[1:].abs().mean()
    assert per_channel < per_tensor / 20, "one outlier row must not coarsen every other row's scale"


def test_groups_run_along_input_features(qz):
    w = weights(out_f=4, in_f=64)
    w[:, 32:] *= 100  # the second half of every row is large
    q, scale, zero = qz.quantize(w, 4, group_size=32)
    assert scale.shape == (4, 2)
    assert torch.all(scale[:, 1] > 20 * scale[:, 0])
    with pytest.raises(ValueError):
        qz.quantize(w, 4, group_size=24)  # does not divide 64


def test_asymmetric_groups_use_the_full_range_and_keep_zero_exact(qz):
    w = torch.tensor([[-3.0, -2.0, -1.0, -0.5], [0.0, 0.0, 0.0, 0.0], [0.0, 0.2, -0.3, 4.0]])
    q, scale, zero = qz.quantize(w, 4, group_size=4, symmetric=False)
    assert int(q.min()) >= 0 and int(q.max()) <= 15
    assert torch.equal(zero, zero.round()), "zero points are integers: they are stored as 4-bit codes"
    assert not torch.isnan(scale).any() and not torch.isnan(zero).any()
    deq = qz.dequantize(q, scale, zero)
    assert torch.all(deq[1] == 0) and torch.all(q[1].long() == zero[1].long()), \
        "an all-zero group must stay exactly zero (no division by zero)"
    assert deq[2, 0] == 0, "0 inside a group's range must dequantize to exactly 0"
    assert torch.allclose(deq, w, atol=float(scale.max()) / 2 + 1e-6)
    # all-negative row: range [-3, 0] -> zero point at the top of the range
    assert int(zero[0, 0]) == 15 and torch.isclose(scale[0, 0], torch.tensor(3.0 / 15))


@SETTINGS
@given(st.integers(0, 10_000), st.sampled_from([2, 3, 4, 8]), st.sampled_from([8, 16, 32]), st.booleans())
def test_dequantized_error_is_within_half_a_step(qz, seed, bits, group, symmetric):
    w = weights(seed, 8, 32) * (1 + seed % 7) + (seed % 5 - 2)  # off-centre, different magnitudes
    q, scale, zero = qz.quantize(w, bits, group, symmetric)
    lo, hi = qz.qrange(bits, symmetric)
    assert int(q.min()) >= lo and int(q.max()) <= hi
    err = (qz.dequantize(q, scale, zero) - w).abs().reshape(8, 32 // group, group)
    assert torch.all(err <= scale[..., None] / 2 + 1e-5 * (1 + scale[..., None]))


def test_int4_packing(qz):
    q = torch.tensor([[1, 2, 15, 0], [7, 8, 3, 12]])
    packed = qz.pack_int4(q)
    assert packed.dtype == torch.uint8 and packed.tolist() == [[0x21, 0x0F], [0x87, 0xC3]]
    assert torch.equal(qz.unpack_int4(packed).long(), q)
    with pytest.raises(ValueError):
        qz.pack_int4(torch.tensor([[-1, 3]]))
    with pytest.raises(ValueError):
        qz.pack_int4(torch.tensor([[1, 2, 3]]))


def calibration(seed=0, n=512, in_f=128):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 16, generator=g) @ torch.randn(16, in_f, generator=g) + 0.1 * torch.randn(n, in_f, generator=g)
    x[:, :4] *= 20  # a few outlier features, as real activations have
    return x


def test_output_error_is_relative(qz):
    w, x = weights(1, 8, 128), calibration()
    assert qz.output_error(w, w, x) == 0.0
    assert qz.output_error(w, 1.1 * w, x) == pytest.approx(0.1, rel=1e-6)


def test_gptq_beats_round_to_nearest_on_correlated_inputs(qz):
    w, x = weights(2, 64, 128), calibration()
    for bits in (4, 3):
        q, s, z = qz.quantize(w, bits, 32, symmetric=False)
        rtn = qz.output_error(w, qz.dequantize(q, s, z), x)
        got = qz.gptq(w, x, bits, 32)
        assert got.shape == w.shape
        err = qz.output_error(w, got, x)
        print(f"int{bits} group 32: round-to-nearest {rtn:.4f}, GPTQ {err:.4f} ({rtn / err:.1f}x lower)")
        assert err < rtn / 3, f"int{bits}: GPTQ output error {err:.4f} should be well below RTN's {rtn:.4f}"
        # every GPTQ weight is still on its group's grid
        for group in range(4):
            cols = got[:, group * 32:(group + 1) * 32]
            assert torch.unique(cols.round(decimals=5), dim=None).numel() <= 64 * 2**bits

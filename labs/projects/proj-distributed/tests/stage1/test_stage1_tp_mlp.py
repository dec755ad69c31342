"""Stage 1: column- and row-parallel linear layers and a tensor-parallel MLP, checked in real
gloo process groups of 2 and 3 ranks against the single-process layers; the collectives each
forward calls are counted. Uneven shards are refused, as vLLM's divide() does."""
import pytest
import torch

from conftest import assert_close
from tui.core.labs.testing import load_lab_module

WORLDS = (2, 3)


@pytest.fixture(scope="module", autouse=True)
def runs(runs_for):
    return runs_for("tp")  # starts the processes now; they run while the in-process tests do


@pytest.fixture
def tp(lab_dir):
    return load_lab_module(lab_dir, "tp_layers.py")


class G:  # constructors read only rank and world_size
    def __init__(self, rank, world_size):
        self.rank, self.world_size = rank, world_size


def calls(c):
    return {k: v for k, v in c["calls"].items() if v}


# ------------------------------------------------------------------ sharding (no processes)


def test_divide_refuses_uneven_splits(tp):
    assert tp.divide(12, 3) == 4 and tp.divide(6, 6) == 1
    with pytest.raises(ValueError, match="8.*3"):
        tp.divide(8, 3)


def test_shard_takes_this_ranks_slice(tp):
    w = torch.arange(6 * 4, dtype=torch.float64).reshape(6, 4)
    assert torch.equal(tp.shard(w, 0, 1, 3), w[2:4])
    assert torch.equal(tp.shard(w, 1, 1, 2), w[:, 2:4])
    assert torch.equal(tp.shard(w, -1, 0, 2), w[:, :2])
    assert torch.equal(torch.cat([tp.shard(w, 0, r, 2) for r in range(2)]), w)


def test_layers_refuse_uneven_shards(tp):
    w = torch.zeros(8, 6, dtype=torch.float64)
    with pytest.raises(ValueError):
        tp.ColumnParallelLinear(w, None, G(0, 3))  # 8 output features over 3 ranks
    with pytest.raises(ValueError):
        tp.RowParallelLinear(torch.zeros(6, 8, dtype=torch.float64), None, G(2, 3))  # 8 input features
    with pytest.raises(ValueError):
        tp.TPMLP(w, w, torch.zeros(6, 8, dtype=torch.float64), G(1, 3))  # intermediate 8 over 3 ranks


def test_merged_gate_up_shards_each_part(tp):
    inter, hidden, world = 6, 4, 3
    gate = torch.arange(inter, dtype=torch.float64).unsqueeze(1).expand(inter, hidden).clone()
    up = -gate - 100
    n = inter // world
    for rank in range(world):
        layer = tp.MergedColumnParallelLinear([gate, up], G(rank, world))
        want = torch.cat([gate[rank * n:(rank + 1) * n], up[rank * n:(rank + 1) * n]])
        assert torch.equal(layer.weight, want), (
            f"rank {rank} must hold gate rows {rank * n}..{(rank + 1) * n - 1} then the same rows of up")
        assert list(layer.output_sizes) == [n, n]


def test_row_parallel_without_reduce_refuses_a_bias(tp):
    with pytest.raises(ValueError):
        tp.RowParallelLinear(torch.zeros(4, 6, dtype=torch.float64), torch.ones(4, dtype=torch.float64),
                             G(0, 2), reduce_results=False)


# ------------------------------------------------------------------ real process groups


@pytest.mark.parametrize("world", WORLDS)
def test_column_parallel_keeps_its_slice_without_communicating(runs, world):
    for rank in range(world):
        c = runs.check(world, rank, "column_local")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} column-parallel output slice")
        assert calls(c) == {}, f"a column-parallel layer without gather_output communicates nothing; called {calls(c)}"


@pytest.mark.parametrize("world", WORLDS)
def test_column_parallel_gathers_the_full_output(runs, world):
    for rank in range(world):
        c = runs.check(world, rank, "column_gather")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} gathered output")
        got = calls(c)
        assert got.get("all_gather", 0) + got.get("all_gather_into_tensor", 0) == 1 and "all_reduce" not in got, (
            f"gather_output costs one all-gather and no all-reduce; called {got}")


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("check", ["row", "row_split_input"])
def test_row_parallel_reduces_once_and_adds_the_bias_once(runs, world, check):
    for rank in range(world):
        c = runs.check(world, rank, check)
        assert_close(c["got"], c["want"], f"world {world} rank {rank} {check} output")
        assert calls(c) == {"all_reduce": 1}, f"one all-reduce per row-parallel forward; called {calls(c)}"


@pytest.mark.parametrize("world", WORLDS)
def test_row_parallel_without_reduce_returns_partial_sums(runs, world):
    for rank in range(world):
        c = runs.check(world, rank, "row_partial")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} partial sum x_local @ W_local^T")
        assert calls(c) == {}, f"reduce_results=False communicates nothing; called {calls(c)}"


@pytest.mark.parametrize("world", WORLDS)
def test_merged_column_parallel_gives_local_gate_and_up(runs, world):
    for rank in range(world):
        c = runs.check(world, rank, "merged")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} [gate slice | up slice]")
        assert calls(c) == {}, f"gate_up needs no communication; called {calls(c)}"


@pytest.mark.parametrize("world", WORLDS)
def test_tp_mlp_equals_the_single_process_mlp_with_one_all_reduce(runs, world):
    for rank in range(world):
        c = runs.check(world, rank, "mlp")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} MLP output")
        assert calls(c) == {"all_reduce": 1}, (
            f"a TP MLP costs exactly one all-reduce (after down_proj); called {calls(c)}")

"""Stage 2: tensor-parallel GQA attention. Query heads are split across ranks; KV heads are split
when there are at least as many as ranks and replicated (each KV head on world // kv ranks) when
there are fewer, as vllm/model_executor/layers/linear.py::QKVParallelLinear does. Checked in
real gloo groups of 2 and 4 ranks against single-process attention."""
import pytest

from conftest import assert_close
from tui.core.labs.testing import load_lab_module

CONFIGS = {2: [(8, 2), (8, 4)], 4: [(8, 2), (8, 1), (8, 8)]}  # (query heads, KV heads) per world
CASES = [(w, h, kv) for w, cs in CONFIGS.items() for h, kv in cs]
HEAD_DIM = 4


@pytest.fixture(scope="module", autouse=True)
def runs(runs_for):
    return runs_for("attn")


@pytest.fixture
def tp(lab_dir):
    return load_lab_module(lab_dir, "tp_layers.py")


class G:
    def __init__(self, rank, world_size):
        self.rank, self.world_size = rank, world_size


def expected_kv_heads(rank, world, kv):
    """The KV heads a rank must hold: its own 1/world of them, or one head shared by world // kv ranks."""
    if world >= kv:
        return [rank // (world // kv)]
    n = kv // world
    return list(range(rank * n, (rank + 1) * n))


def qkv_layer(tp, heads, kv, rank, world, hidden=16):
    import torch

    wq = torch.zeros(heads * HEAD_DIM, hidden, dtype=torch.float64)
    wk = torch.zeros(kv * HEAD_DIM, hidden, dtype=torch.float64)
    return tp.QKVParallelLinear(wq, wk, wk.clone(), heads, kv, G(rank, world))


# ------------------------------------------------------------------ head assignment (no processes)


@pytest.mark.parametrize("world,heads,kv,replicas,table", [
    (2, 8, 4, 1, [[0, 1], [2, 3]]),
    (4, 8, 8, 1, [[0, 1], [2, 3], [4, 5], [6, 7]]),
    (4, 8, 4, 1, [[0], [1], [2], [3]]),
    (4, 8, 2, 2, [[0], [0], [1], [1]]),
    (4, 8, 1, 4, [[0], [0], [0], [0]]),
    (8, 8, 2, 4, [[0]] * 4 + [[1]] * 4),
])
def test_kv_heads_split_or_replicated_like_vllm(tp, world, heads, kv, replicas, table):
    for rank in range(world):
        layer = qkv_layer(tp, heads, kv, rank, world)
        assert list(layer.kv_head_ids) == table[rank], f"world {world}, {kv} KV heads: rank {rank} holds {table[rank]}"
        assert layer.num_kv_head_replicas == replicas
        assert layer.num_kv_heads == len(table[rank])
        per = heads // world
        assert list(layer.q_head_ids) == list(range(rank * per, (rank + 1) * per))
        assert layer.num_heads == per


@pytest.mark.parametrize("world,heads,kv", [(3, 8, 2), (4, 12, 3), (4, 12, 6), (16, 8, 8)])
def test_uneven_head_splits_are_refused(tp, world, heads, kv):
    with pytest.raises(ValueError):
        qkv_layer(tp, heads, kv, 0, world)


# ------------------------------------------------------------------ real process groups


@pytest.mark.parametrize("world,heads,kv", CASES)
def test_qkv_projection_gives_each_rank_its_heads(runs, world, heads, kv):
    for rank in range(world):
        c = runs.check(world, rank, f"qkv_{heads}_{kv}")
        got, want = c["got"], c["want"]
        q_cols = slice(rank * (heads // world) * HEAD_DIM, (rank + 1) * (heads // world) * HEAD_DIM)
        assert_close(got["q"], want["q"][:, q_cols], f"world {world} rank {rank} q ({heads} heads)")
        kv_ids = expected_kv_heads(rank, world, kv)
        cols = [h * HEAD_DIM + d for h in kv_ids for d in range(HEAD_DIM)]
        for name in ("k", "v"):
            assert_close(got[name], want[name][:, cols],
                         f"world {world} rank {rank} {name} must be KV head(s) {kv_ids} of {kv}")
        assert c["calls"].get("all_reduce", 0) == 0 and c["calls"].get("all_gather", 0) == 0, (
            f"the QKV projection communicates nothing; called {c['calls']}")


@pytest.mark.parametrize("world,heads,kv", CASES)
def test_tp_attention_equals_single_process_attention(runs, world, heads, kv):
    for rank in range(world):
        c = runs.check(world, rank, f"attn_{heads}_{kv}")
        assert_close(c["got"], c["want"], f"world {world} rank {rank} attention output ({heads} heads, {kv} KV heads)")
        got = {k: v for k, v in c["calls"].items() if v}
        assert got == {"all_reduce": 1}, f"attention costs one all-reduce (after o_proj); called {got}"

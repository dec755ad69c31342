"""Tests for py-tensor-parallel-linear: real processes in real gloo groups (world sizes 2 and 3),
every rank's output equal to the unsharded layer, and the collectives a forward costs."""
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tui.core.labs.testing import load_lab_module

WORKER = Path(__file__).with_name("tp_worker.py")
WORLDS = (2, 3)


@pytest.fixture
def tp(lab_dir):
    return load_lab_module(lab_dir, "tp_linear.py")


def make_inputs(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, scale=1.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    hidden, out, inter, vocab = 6, 12, 6, 12  # all divisible by 2 and 3
    return {
        # large-magnitude, non-centred activations: a summed bias or a dropped shard is never lost in noise
        "x": rand(5, hidden, scale=30.0) + 7.0,
        "w1": rand(out, hidden), "b1": rand(out),
        "w2": rand(out, hidden), "b2": rand(out) + 100.0,
        "emb": rand(vocab, hidden),
        # every id once (each rank's range and both edges), then repeats in a 2-D batch
        "ids": torch.cat([torch.arange(vocab), torch.randint(0, vocab, (8,), generator=g)]).reshape(4, 5),
        "gate_up": rand(2 * inter, hidden), "down": rand(hidden, inter), "intermediate": inter,
    }


def reference(t: dict) -> dict:
    f = torch.nn.functional
    x = t["x"]
    gate, up = f.linear(x, t["gate_up"]).split(t["intermediate"], dim=-1)
    return {
        "column": f.linear(x, t["w1"], t["b1"]),
        "row": f.linear(x, t["w2"], t["b2"]),
        "embedding": f.embedding(t["ids"], t["emb"]),
        "mlp": f.linear(f.silu(gate) * up, t["down"]),
    }


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory, request):
    """{world: [results of rank 0, rank 1, ...]}: each rank a real process."""
    from tui.core.labs.testing import lab_directory

    lab = lab_directory()
    out = {}
    for world in WORLDS:
        folder = tmp_path_factory.mktemp(f"world{world}")
        torch.save(make_inputs(), folder / "inputs.pt")
        port = _free_port()
        procs = [subprocess.Popen([sys.executable, str(WORKER), str(lab), str(folder / "inputs.pt"), str(folder),
                                   str(rank), str(world), port], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True) for rank in range(world)]
        logs = []
        for p in procs:
            try:
                logs.append(p.communicate(timeout=60)[0])
            except subprocess.TimeoutExpired:
                for q in procs:
                    q.kill()
                pytest.fail(f"world {world}: a rank hung (a collective that not every rank calls?)", pytrace=False)
        ranks = []
        for rank in range(world):
            path = folder / f"rank{rank}.pt"
            if not path.is_file():
                pytest.fail(f"world {world} rank {rank} died before reporting:\n{logs[rank][-2000:]}", pytrace=False)
            ranks.append(torch.load(path, weights_only=False))
        out[world] = ranks
    return out


def result(runs, world, rank, name):
    got = runs[world][rank].get(name)
    if isinstance(got, str):
        pytest.fail(f"world {world}, rank {rank}, {name}: {got}", pytrace=False)
    return got


def close(got, want, what):
    assert got.shape == want.shape, f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    err = (got - want).abs().max().item()
    assert err < 1e-9, f"{what}: differs from the unsharded layer by up to {err:.3g}"


# ------------------------------------------------------------------ sharding (no processes)


def test_divide_refuses_uneven_splits(tp):
    assert tp.divide(12, 3) == 4
    with pytest.raises(ValueError):
        tp.divide(10, 4)


def test_shards_are_the_right_slices(tp):
    w = torch.arange(8 * 6, dtype=torch.float64).reshape(8, 6)
    for rank in range(2):
        assert torch.equal(tp.shard_rows(w, rank, 2), w[rank * 4:(rank + 1) * 4])
        assert torch.equal(tp.shard_cols(w, rank, 2), w[:, rank * 3:(rank + 1) * 3])
    assert torch.equal(torch.cat([tp.shard_rows(w, r, 4) for r in range(4)]), w)


def test_merged_gate_up_gives_each_rank_its_own_slice_of_both(tp):
    inter, hidden, world = 6, 4, 3
    gate = torch.full((inter, hidden), 1.0, dtype=torch.float64) * torch.arange(inter).unsqueeze(1)
    up = -gate - 100
    merged = torch.cat([gate, up])
    for rank in range(world):
        local = tp.shard_merged(merged, [inter, inter], rank, world)
        n = inter // world
        want = torch.cat([gate[rank * n:(rank + 1) * n], up[rank * n:(rank + 1) * n]])
        assert torch.equal(local, want), f"rank {rank} must hold gate rows and up rows {rank * n}..{(rank + 1) * n - 1}"


# ------------------------------------------------------------------ real process groups


@pytest.mark.parametrize("world", WORLDS)
def test_column_parallel_with_gather_equals_the_full_layer(runs, world):
    want = reference(make_inputs())["column"]
    for rank in range(world):
        got, calls = result(runs, world, rank, "column_gather")
        close(got, want, f"world {world} rank {rank} gathered output")
        assert calls == {"all_reduce": 0, "all_gather": 1}, f"one all-gather, no all-reduce; counted {calls}"


@pytest.mark.parametrize("world", WORLDS)
def test_column_parallel_without_gather_keeps_this_ranks_slice(runs, world):
    want = reference(make_inputs())["column"]
    n = want.shape[-1] // world
    for rank in range(world):
        got, calls = result(runs, world, rank, "column_local")
        close(got, want[..., rank * n:(rank + 1) * n], f"world {world} rank {rank} local output")
        assert calls == {"all_reduce": 0, "all_gather": 0}, f"no communication without gather; counted {calls}"


@pytest.mark.parametrize("world", WORLDS)
def test_row_parallel_reduces_once_and_adds_the_bias_once(runs, world):
    want = reference(make_inputs())["row"]
    for rank in range(world):
        got, calls = result(runs, world, rank, "row")
        close(got, want, f"world {world} rank {rank} reduced output")
        assert calls["all_reduce"] == 1, f"one all-reduce per forward; counted {calls}"


@pytest.mark.parametrize("world", WORLDS)
def test_vocab_parallel_embedding_covers_every_id(runs, world):
    want = reference(make_inputs())["embedding"]
    for rank in range(world):
        got, calls = result(runs, world, rank, "embedding")
        close(got, want, f"world {world} rank {rank} embedding rows")
        assert calls["all_reduce"] == 1, f"one all-reduce assembles the rows; counted {calls}"


@pytest.mark.parametrize("world", WORLDS)
def test_parallel_mlp_equals_the_full_mlp_with_one_all_reduce(runs, world):
    want = reference(make_inputs())["mlp"]
    for rank in range(world):
        got, calls = result(runs, world, rank, "mlp")
        close(got, want, f"world {world} rank {rank} MLP output")
        assert calls == {"all_reduce": 1, "all_gather": 0}, f"gate_up needs no gather, down one all-reduce; counted {calls}"

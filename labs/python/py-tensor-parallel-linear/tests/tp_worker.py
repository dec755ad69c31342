"""One rank of the tensor-parallel checks: a real process in a real gloo group.

Run by test_py_tensor_parallel_linear.py as
  python tp_worker.py LAB_DIR INPUTS.pt OUT_DIR RANK WORLD PORT
It imports the learner's tp_linear.py, runs every check, and saves what each
returned (or the error it raised) to OUT_DIR/rank{RANK}.pt.
"""
import datetime
import importlib.util
import os
import sys
import traceback
from pathlib import Path

import torch
import torch.distributed as dist


def load(lab_dir: Path):
    spec = importlib.util.spec_from_file_location("tp_linear_under_test", lab_dir / "tp_linear.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class CountingCollectives:
    """Counts all_reduce / all_gather calls, so a check can say how many a forward costs."""

    def __init__(self):
        self.calls = {"all_reduce": 0, "all_gather": 0}
        for name in self.calls:
            original = getattr(dist, name)

            def counted(*args, _name=name, _original=original, **kwargs):
                self.calls[_name] += 1
                return _original(*args, **kwargs)

            setattr(dist, name, counted)

    def take(self) -> dict:
        seen, self.calls = dict(self.calls), {k: 0 for k in self.calls}
        return seen


def checks(tp, t, rank, world, counter):
    x, ids = t["x"], t["ids"]
    inter = t["intermediate"]
    in_shard = x.shape[-1] // world
    yield "column_gather", lambda: (
        tp.ColumnParallelLinear(t["w1"], t["b1"], rank, world, gather_output=True)(x), counter.take())
    yield "column_local", lambda: (
        tp.ColumnParallelLinear(t["w1"], t["b1"], rank, world)(x), counter.take())
    yield "row", lambda: (
        tp.RowParallelLinear(t["w2"], t["b2"], rank, world)(x[..., rank * in_shard:(rank + 1) * in_shard]),
        counter.take())
    yield "embedding", lambda: (tp.VocabParallelEmbedding(t["emb"], rank, world)(ids), counter.take())
    yield "mlp", lambda: (tp.ParallelMLP(t["gate_up"], t["down"], inter, rank, world)(x), counter.take())


def main() -> None:
    lab_dir, inputs, out_dir = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    rank, world, port = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=datetime.timedelta(seconds=20))
    results = {}
    try:
        tp = load(lab_dir)
        counter = CountingCollectives()
        for name, run in checks(tp, torch.load(inputs), rank, world, counter):
            try:
                results[name] = run()
            except Exception as exc:  # reported by the parent test with the learner's words
                results[name] = "".join(traceback.format_exception_only(exc)).strip()
            dist.barrier()  # a rank that skipped a collective shows up here, not in the next check
    finally:
        torch.save(results, out_dir / f"rank{rank}.pt")
        dist.destroy_process_group()


if __name__ == "__main__":
    main()

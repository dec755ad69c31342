"""Starts real process groups for the project's tests.

conftest.py forks a child of the test process that calls run(LAB_DIR, OUT_DIR, JOB)
before any test has computed anything (`python launcher.py LAB_DIR OUT_DIR JOB`
does the same by hand). Importing torch takes seconds on a busy machine, so
every rank is forked from that child and inherits the imported modules (no
OpenMP pool exists yet because nothing has computed). Each world gets its
own port and its own gloo group (NCCL when every rank has a GPU: comm.pick_backend).
A child imports the learner's files afresh, runs the job's checks in order, and
saves, for every check, what it returned (or the error it raised), the reference
answer and the collectives it called, to OUT_DIR/w{WORLD}_rank{RANK}.pt.
The group times out after 20 s and the whole launch after 75 s, so a deadlock
fails the test with a message instead of hanging it.
"""
import importlib.util
import os
import signal
import socket
import sys
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

GROUP_TIMEOUT_S = 20
LAUNCH_TIMEOUT_S = 75
COUNTED = ("all_reduce", "all_gather", "all_gather_into_tensor", "reduce_scatter", "broadcast",
           "send", "recv", "isend", "irecv")


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def load(lab: Path, filename: str):
    name = Path(filename).stem
    spec = importlib.util.spec_from_file_location(name, lab / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Counter:
    """Counts torch.distributed calls (every way in: comm.Group and direct calls alike)."""

    def __init__(self):
        self.calls = {}
        self.sizes = []  # numel of every all_reduce, in order
        for name in COUNTED:
            original = getattr(dist, name)

            def counted(*args, _name=name, _original=original, **kwargs):
                self.calls[_name] = self.calls.get(_name, 0) + 1
                if _name == "all_reduce":
                    self.sizes.append(args[0].numel() if args else kwargs["tensor"].numel())
                return _original(*args, **kwargs)

            setattr(dist, name, counted)

    def take(self) -> dict:
        seen, self.calls, self.sizes = dict(self.calls), {}, []
        return seen


# ------------------------------------------------------------------ jobs: (name, fn) per rank


def on(group, *tensors):
    """The tensors on this rank's device (CPU under gloo, cuda:RANK under NCCL); references stay on the CPU."""
    return [t.to(group.device) for t in tensors]


def to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    return obj


def job_tp(lab, ref, group):
    tp = load(lab, "tp_layers.py")
    rank, world = group.rank, group.world_size
    hidden, out, inter = 6, 12, 12  # divisible by 2 and by 3
    w_col, b_col, w_row, gate, up, down = ref.weights(1, (out, hidden), (out,), (hidden, out),
                                                     (inter, hidden), (inter, hidden), (hidden, inter))
    b_row = ref.weights(2, (hidden,))[0] + 50.0  # large: a bias added world times shows
    x = ref.weights(3, (5, hidden), scale=10.0)[0] + 3.0
    x_wide = ref.weights(4, (5, out), scale=10.0)[0] - 2.0
    n_out, n_in, gi = out // world, out // world, inter // world
    local_in = x_wide[:, rank * n_in:(rank + 1) * n_in]
    full_col = torch.nn.functional.linear(x, w_col, b_col)
    full_row = torch.nn.functional.linear(x_wide, w_row, b_row)
    Wc, Bc, Wr, Br, G, U, D, X, XW, XL = on(group, w_col, b_col, w_row, b_row, gate, up, down, x, x_wide, local_in)
    yield "column_local", lambda: (tp.ColumnParallelLinear(Wc, Bc, group)(X),
                                   full_col[:, rank * n_out:(rank + 1) * n_out])
    yield "column_gather", lambda: (tp.ColumnParallelLinear(Wc, Bc, group, gather_output=True)(X), full_col)
    yield "row", lambda: (tp.RowParallelLinear(Wr, Br, group)(XL), full_row)
    yield "row_split_input", lambda: (tp.RowParallelLinear(Wr, Br, group, input_is_parallel=False)(XW), full_row)
    yield "row_partial", lambda: (tp.RowParallelLinear(Wr, None, group, reduce_results=False)(XL),
                                  torch.nn.functional.linear(local_in, w_row[:, rank * n_in:(rank + 1) * n_in]))
    yield "merged", lambda: (tp.MergedColumnParallelLinear([G, U], group)(X),
                             torch.cat([(x @ gate.T)[:, rank * gi:(rank + 1) * gi], (x @ up.T)[:, rank * gi:(rank + 1) * gi]], -1))
    yield "mlp", lambda: (tp.TPMLP(G, U, D, group)(X), ref.mlp(x, gate, up, down))


ATTN_CONFIGS = {2: [(8, 2), (8, 4)], 4: [(8, 2), (8, 1), (8, 8)]}  # (query heads, KV heads)


def job_attn(lab, ref, group):
    tp = load(lab, "tp_layers.py")
    hidden, head_dim, t = 16, 4, 6
    x = ref.weights(10, (t, hidden), scale=2.0)[0]
    (X,) = on(group, x)
    for heads, kv in ATTN_CONFIGS[group.world_size]:
        w = ref.weights(100 + heads * 10 + kv, (heads * head_dim, hidden), (kv * head_dim, hidden),
                        (kv * head_dim, hidden), (hidden, heads * head_dim))
        wd = on(group, *w)

        def qkv(wd=wd, heads=heads, kv=kv):
            layer = tp.QKVParallelLinear(wd[0], wd[1], wd[2], heads, kv, group)
            q, k, v = layer(X)
            return {"q": q, "k": k, "v": v, "q_head_ids": list(layer.q_head_ids),
                    "kv_head_ids": list(layer.kv_head_ids), "replicas": layer.num_kv_head_replicas}

        yield f"qkv_{heads}_{kv}", lambda f=qkv, w=w: (f(), {"q": x @ w[0].T, "k": x @ w[1].T, "v": x @ w[2].T})
        yield f"attn_{heads}_{kv}", lambda w=w, wd=wd, heads=heads, kv=kv: (
            tp.TPAttention(*wd, heads, kv, group)(X), ref.attention(x, *w, heads, kv))


PP_CONFIGS = [(8, 4), (7, 3), (5, 1)]  # (rows, micro-batches)


def job_pp(lab, ref, group):
    pp = load(lab, "pipeline.py")
    model = ref.TinyDecoder(num_layers=6, hidden=16, intermediate=32, seed=5)
    here = ref.TinyDecoder(num_layers=6, hidden=16, intermediate=32, seed=5)  # the copy on this rank's device
    here.params = [on(group, *ps) for ps in here.params]
    for rows, m in PP_CONFIGS:
        # distinct rows, so any reordering of micro-batches shows in the output
        x = ref.weights(20 + rows, (rows, 16), scale=3.0)[0] + torch.arange(rows, dtype=torch.float64).unsqueeze(1)
        yield f"pp_{rows}_{m}", lambda x=x, m=m: (pp.run_pipeline(here, x.to(group.device), m, group),
                                                 model.forward(x) if group.rank == group.world_size - 1 else None)


FIT_SIZES = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20]
HELD_OUT_SIZES = [32 << 10, 512 << 10, 8 << 20]
REPEATS = 5


def job_allreduce(lab, ref, group):
    cm = load(lab, "cost_model.py")
    for nbytes in FIT_SIZES + HELD_OUT_SIZES:
        yield f"ar_{nbytes}", lambda n=nbytes: (cm.time_all_reduce(group, n, REPEATS, warmup=1), n)


JOBS = {  # name: (function, worlds, run the worlds one after another)
    "tp": (job_tp, [2, 3], False),
    "attn": (job_attn, [2, 4], False),
    "pp": (job_pp, [2], False),
    "allreduce": (job_allreduce, [2, 3, 4], True),  # timed: one world at a time
}


def child(lab: Path, out: Path, job: str, rank: int, world: int, port: str) -> None:
    torch.set_num_threads(1)
    result = {"rank": rank, "world": world, "checks": {}}
    try:
        comm = load(lab, "comm.py")
        ref = load(lab, "reference.py")
        group = comm.init(rank, world, port, timeout_s=GROUP_TIMEOUT_S)
        result["backend"] = dist.get_backend()
        counter = Counter()
        for name, run in JOBS[job][0](lab, ref, group):
            counter.take()
            try:
                got, want = run()
                sizes = list(counter.sizes)
                result["checks"][name] = {"got": to_cpu(got), "want": want, "calls": counter.take(), "sizes": sizes}
            except Exception as exc:  # reported by the test in the learner's words
                result["checks"][name] = {"error": "".join(traceback.format_exception_only(exc)).strip(),
                                          "traceback": traceback.format_exc()[-2500:]}
            dist.barrier()  # a rank that skipped a collective shows up here, not in the next check
    except BaseException as exc:
        result["error"] = "".join(traceback.format_exception_only(exc)).strip()
        result["traceback"] = traceback.format_exc()[-3000:]
    finally:
        torch.save(result, out / f"w{world}_rank{rank}.pt")
        if dist.is_initialized():
            dist.destroy_process_group()


def run(lab: Path, out: Path, job: str) -> None:
    lab = Path(lab).resolve()
    sys.path.insert(0, str(lab))
    _, worlds, one_at_a_time = JOBS[job]
    children = {}

    def give_up(signum, frame):
        for pid, (world, rank) in children.items():
            try:
                os.kill(pid, signal.SIGKILL)
                print(f"killed world {world} rank {rank}: still running after {LAUNCH_TIMEOUT_S} s", flush=True)
            except ProcessLookupError:
                pass
        os._exit(3)

    signal.signal(signal.SIGALRM, give_up)
    signal.signal(signal.SIGTERM, give_up)  # the test gave up waiting
    signal.alarm(LAUNCH_TIMEOUT_S)

    def wait_all():
        while children:
            pid, _ = os.wait()
            children.pop(pid, None)

    for world in worlds:
        port = free_port()
        for rank in range(world):
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    child(lab, out, job, rank, world, port)
                finally:
                    os._exit(0)
            children[pid] = (world, rank)
        if one_at_a_time:
            wait_all()
    wait_all()


if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])

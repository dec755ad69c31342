"""Starts the pipeline's processes for the tests: real processes in real gloo groups.

Run by test_sys_multiprocess_inference.py as
  python pp_launch.py LAB_DIR OUT_DIR CONFIGS_JSON
Importing torch takes seconds on a busy machine, so this script imports it once
and forks every rank from here (a forked child inherits the imported modules;
no OpenMP pool exists yet because nothing has computed). Each config (pipeline
size P, micro-batches, prompts, steps) gets P + 1 processes on its own port:
rank 0 runs the learner's run_front_end, rank s + 1 runs run_stage(s). Each rank
saves what it returned, or the error it raised, plus what the instrumentation
saw (every wire call in order, every model call, the time spent in each) to
OUT_DIR/pp{P}_rank{R}.pt. The group times out after 20 s and the whole launch
after 90 s, so a deadlock fails the test with a message instead of hanging it.
"""
import dataclasses
import datetime
import importlib.util
import json
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

GROUP_TIMEOUT_S = 20
LAUNCH_TIMEOUT_S = 90


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class Instruments:
    """Wraps wire's calls and the model's calls: the order of messages and the time really spent
    in communication and in compute, to check the learner's own accounting against."""

    def __init__(self, wire, model):
        self.on = True
        self.log = []  # (op, peer) in the order the calls were made
        self.calls = []  # (what, layer index or -1, rows)
        self.truth = {"recv_s": 0.0, "send_s": 0.0, "compute_s": 0.0}
        send, recv, send_stop, pending_wait = wire.send, wire.recv, wire.send_stop, wire.Pending.wait

        def timed(kind, fn):
            def run(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    if self.on:
                        self.truth[kind] += time.perf_counter() - t
            return run

        def logged_send(tensor, dst):
            if self.on:
                self.log.append(("send", dst))
            return timed("send_s", send)(tensor, dst)

        def logged_recv(src, device="cpu"):
            got = timed("recv_s", recv)(src, device)
            if self.on:
                self.log.append(("recv" if got is not None else "recv_stop", src))
            return got

        def logged_stop(dst, device="cpu"):
            if self.on:
                self.log.append(("stop", dst))
            return timed("send_s", send_stop)(dst, device)

        wire.send, wire.recv, wire.send_stop = logged_send, logged_recv, logged_stop
        wire.Pending.wait = lambda p: timed("send_s", pending_wait)(p)

        embed, layer, logits = model.embed, model.layer, model.logits

        def call(what, fn, index=-1):
            def run(*args):
                x = args[-1]
                if self.on:
                    self.calls.append((what, index if what != "layer" else args[0], int(x.shape[0])))
                return timed("compute_s", fn)(*args) if self.on else fn(*args)
            return run

        model.embed = call("embed", embed)
        model.layer = call("layer", layer)
        model.logits = call("logits", logits)


def child(lab: Path, out: Path, cfg: dict, rank: int, world: int, port: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
    pp = cfg["pp"]
    result = {"rank": rank}
    try:
        wire = sys.modules["wire"]
        model_mod = sys.modules["model"]
        pipeline = load(lab / "pipeline.py", "pipeline")
        backend = pipeline.choose_backend(world)
        device = pipeline.device_for(rank, backend)
        result["backend"] = backend
        dist.init_process_group(backend, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=GROUP_TIMEOUT_S))
        model = model_mod.TinyLM(seed=cfg["seed"], device=device)
        inst = Instruments(wire, model)
        t = time.perf_counter()
        try:
            if rank == 0:
                tokens, logits = pipeline.run_front_end(model, cfg["prompts"], cfg["steps"], cfg["microbatches"],
                                                        pp, device)
                result.update(tokens=tokens.cpu(), logits=logits.cpu())
            else:
                stats = pipeline.run_stage(model, rank - 1, pp, device)
                fields = dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) else dict(vars(stats))
                result["stats"] = {**fields, "comm_share": stats.comm_share()}
        finally:
            result["wall_s"] = time.perf_counter() - t
            inst.on = False
            result.update(log=inst.log, calls=inst.calls, truth=inst.truth)
        if rank == 0:
            ref_tokens, ref_logits = model.generate(cfg["prompts"], cfg["steps"])
            result.update(ref_tokens=ref_tokens.cpu(), ref_logits=ref_logits.cpu())
    except BaseException as exc:  # reported by the test in the learner's words
        result["error"] = "".join(traceback.format_exception_only(exc)).strip()
        result["traceback"] = traceback.format_exc()[-3000:]
    finally:
        torch.save(result, out / f"pp{pp}_rank{rank}.pt")
        if dist.is_initialized():
            dist.destroy_process_group()


def main() -> None:
    lab, out, configs = Path(sys.argv[1]).resolve(), Path(sys.argv[2]), json.loads(sys.argv[3])
    sys.path.insert(0, str(lab))
    load(lab / "model.py", "model")
    load(lab / "wire.py", "wire")
    children = {}
    for cfg in configs:
        world, port = cfg["pp"] + 1, free_port()
        for rank in range(world):
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    child(lab, out, cfg, rank, world, port)
                finally:
                    os._exit(0)
            children[pid] = (cfg["pp"], rank)

    def give_up(signum, frame):
        for pid, (pp, rank) in children.items():
            try:
                os.kill(pid, signal.SIGKILL)
                print(f"killed pp={pp} rank {rank}: still running after {LAUNCH_TIMEOUT_S} s", flush=True)
            except ProcessLookupError:
                pass
        os._exit(3)

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(LAUNCH_TIMEOUT_S)
    while children:
        pid, _ = os.wait()
        children.pop(pid, None)


if __name__ == "__main__":
    main()

"""Continuous against static batching on the capstone's mini engine (proj-mini-engine).

Same random-weight Llama-shaped model, same requests (prompt and output lengths
drawn log-normal like ShareGPT: many short, a long tail; fixed seed), two ways:

- continuous: the reference solution's LLMEngine (paged KV cache, token budget,
  chunked prefill), every request submitted at t = 0;
- static: batches of --batch requests in arrival order, prompts left-padded to
  the batch's longest, one padded prefill, then decode steps for every row
  until the batch's longest output is done (as `generate` does), on a
  contiguous KV cache reserved for batch x (longest prompt + longest output).

Reports output tokens/s, TTFT and TPOT (median, p90; TTFT counts queueing from
t = 0), KV memory used against reserved, and the prefix-cache hit rate on a
second, shared-prefix workload. A table, then one JSON object as the last line.

    .venv/bin/python bench/engine_throughput.py [--preset cpu|gpu] [--requests N] [--engine-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
PRESETS = {
    # tiny enough for a busy 2-core CPU, big enough that a step is not all Python
    "cpu": dict(vocab_size=512, hidden_size=128, intermediate_size=384, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, dtype="float32"),
    # 1B-shaped (Llama 3.2 1B: hidden 2048, 16 layers, 32 heads, 8 KV heads), random weights
    "gpu": dict(vocab_size=32000, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                num_attention_heads=32, num_key_value_heads=8, dtype="bfloat16"),
}


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))] if s else float("nan")


def lognormal_lengths(rng, n, median, sigma, lo, hi):
    return [max(lo, min(hi, int(round(rng.lognormvariate(math.log(median), sigma))))) for _ in range(n)]


def build_model(mods, preset, device):
    p = dict(PRESETS[preset])
    dtype = getattr(torch, p.pop("dtype"))
    cfg = mods["model"].ModelConfig(head_dim=p["hidden_size"] // p["num_attention_heads"], rms_norm_eps=1e-5,
                                    rope_theta=10000.0, tie_word_embeddings=False, **p)
    torch.manual_seed(0)
    model = mods["model"].LlamaForCausalLM(cfg)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" not in name:
                param.normal_(0, 0.05)
    return model.to(device=device, dtype=dtype).eval(), dtype


def load_engine(engine_dir):
    sys.path.insert(0, str(engine_dir))
    import importlib

    return {n: importlib.import_module(n) for n in ("model", "sampler", "engine")}


# ------------------------------------------------------------------ continuous (the engine)

def run_continuous(mods, model, workload, args, caching=False):
    E = mods["engine"]
    cfg = E.EngineConfig(block_size=args.block_size, num_blocks=args.num_blocks, max_num_seqs=args.max_num_seqs,
                         max_num_batched_tokens=args.budget, enable_chunked_prefill=True,
                         enable_prefix_caching=caching, device=str(args.device), dtype=next(model.parameters()).dtype)
    eng = E.LLMEngine(model, cfg)
    SP = mods["sampler"].SamplingParams
    t0 = time.perf_counter()
    reqs = []
    for i, (prompt, out) in enumerate(workload):
        eng.add_request(str(i), prompt, SP(temperature=0, max_tokens=out, ignore_eos=True))
        reqs.append(eng.requests[str(i)])
    used_slots, held_tokens = [], []
    while eng.has_unfinished_requests():
        eng.step()
        used_slots.append(eng.kv.pool.num_used_blocks * args.block_size)
        held_tokens.append(sum(r.num_computed_tokens for r in eng.scheduler.running))
    if args.device.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    ttft = [r.token_times[0] - t0 for r in reqs]
    tpot = [(r.token_times[-1] - r.token_times[0]) / (len(r.token_times) - 1) for r in reqs if len(r.token_times) > 1]
    n_out = sum(len(r.output_token_ids) for r in reqs)
    return dict(wall_s=wall, out_tokens=n_out, tok_s=n_out / wall, steps=eng.num_steps,
                ttft=ttft, tpot=tpot, reserved_slots=(args.num_blocks - 1) * args.block_size,
                peak_used_slots=max(used_slots), util=sum(held_tokens) / max(1, sum(used_slots)),
                hit_rate=eng.kv.prefix_hits / max(1, eng.kv.prefix_queries),
                preemptions=eng.scheduler.num_preemptions)


# ------------------------------------------------------------------ static batching

class ContiguousAttention:
    """Padded [B, T] batch over a contiguous cache [B, L, KVH, d]; pads are masked out."""

    def __init__(self, caches, batch, start, n_new, valid):
        self.caches, self.b, self.start, self.n, self.valid = caches, batch, start, n_new, valid

    def __call__(self, layer, q, k, v):
        kc, vc = self.caches[layer]
        b, s, n = self.b, self.start, self.n
        kc[:, s:s + n] = k.view(b, n, *k.shape[1:])
        vc[:, s:s + n] = v.view(b, n, *v.shape[1:])
        L = s + n
        qpos = torch.arange(s, L, device=q.device)
        mask = (torch.arange(L, device=q.device)[None, :] <= qpos[:, None])[None] & self.valid[:, None, :L]
        o = F.scaled_dot_product_attention(q.view(b, n, *q.shape[1:]).transpose(1, 2), kc[:, :L].transpose(1, 2),
                                           vc[:, :L].transpose(1, 2), attn_mask=mask[:, None],
                                           enable_gqa=q.shape[1] != k.shape[1])
        return o.transpose(1, 2).reshape(b * n, *q.shape[1:])


@torch.inference_mode()
def run_static(model, workload, args):
    cfg = model.config
    dev, dtype = args.device, next(model.parameters()).dtype
    t0 = time.perf_counter()
    first, last, counts, reserved, real = [], [], [], [], []
    for b0 in range(0, len(workload), args.batch):
        batch = workload[b0:b0 + args.batch]
        B, P, O = len(batch), max(len(p) for p, _ in batch), max(o for _, o in batch)
        L = P + O
        caches = [(torch.zeros(B, L, cfg.num_key_value_heads, cfg.head_dim, device=dev, dtype=dtype),
                   torch.zeros(B, L, cfg.num_key_value_heads, cfg.head_dim, device=dev, dtype=dtype))
                  for _ in range(cfg.num_hidden_layers)]
        reserved.append(B * L)
        real.append(sum(len(p) + o for p, o in batch))
        ids = torch.zeros(B, P, dtype=torch.long, device=dev)
        valid = torch.zeros(B, L, dtype=torch.bool, device=dev)
        pos = torch.zeros(B, P, dtype=torch.long, device=dev)
        for i, (p, _) in enumerate(batch):  # left padding, positions counted from the first real token
            ids[i, P - len(p):] = torch.tensor(p)
            valid[i, P - len(p):] = True
            pos[i, P - len(p):] = torch.arange(len(p))
        valid[:, P:] = True
        times = [[] for _ in batch]
        hidden = model(ids.view(-1), pos.view(-1), attn=ContiguousAttention(caches, B, 0, P, valid))
        nxt = model.compute_logits(hidden.view(B, P, -1)[:, -1]).argmax(-1)
        step_pos = pos[:, -1] + 1
        for step in range(O):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            for i, (_, o) in enumerate(batch):
                if step < o:
                    times[i].append(now)
            if step == O - 1:
                break
            hidden = model(nxt, step_pos, attn=ContiguousAttention(caches, B, P + step, 1, valid))
            nxt = model.compute_logits(hidden).argmax(-1)
            step_pos = step_pos + 1
        for i, (_, o) in enumerate(batch):
            first.append(times[i][0] - t0)
            last.append(times[i][-1])
            counts.append(o)
    wall = time.perf_counter() - t0
    tpot = [(la - (f + t0)) / (c - 1) for f, la, c in zip(first, last, counts, strict=True) if c > 1]
    n_out = sum(counts)
    return dict(wall_s=wall, out_tokens=n_out, tok_s=n_out / wall, ttft=first, tpot=tpot,
                reserved_slots=max(reserved), peak_used_slots=max(real), util=sum(real) / sum(reserved))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", choices=PRESETS, default=None, help="cpu (default without a GPU) or gpu")
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32, help="static batching: requests per batch")
    ap.add_argument("--max-num-seqs", type=int, default=128,
                    help="the engine's cap on running requests (its KV memory is what static reserves)")
    ap.add_argument("--budget", type=int, default=512, help="max_num_batched_tokens")
    ap.add_argument("--block-size", type=int, default=16)
    ap.add_argument("--num-blocks", type=int, default=0, help="0: as many slots as static batching reserves")
    ap.add_argument("--threads", type=int, default=0, help="torch threads on CPU (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine-dir", default=str(ROOT / "labs/projects/proj-mini-engine/solution"))
    args = ap.parse_args()
    args.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.preset = args.preset or ("gpu" if args.device.type == "cuda" else "cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    mods = load_engine(Path(args.engine_dir))
    model, dtype = build_model(mods, args.preset, args.device)
    vocab = model.config.vocab_size

    rng = random.Random(args.seed)
    n = args.requests
    prompts = lognormal_lengths(rng, n, 48, 0.9, 4, 512)
    outs = lognormal_lengths(rng, n, 24, 1.1, 2, 512)
    workload = [([rng.randrange(vocab) for _ in range(p)], o) for p, o in zip(prompts, outs, strict=True)]

    static = run_static(model, workload, args)
    if not args.num_blocks:  # the same KV memory static batching reserved for its largest batch
        args.num_blocks = static["reserved_slots"] // args.block_size + 1
    cont = run_continuous(mods, model, workload, args)

    # shared-prefix workload: 4 system prompts of 128 tokens, short user turns
    sys_prompts = [[rng.randrange(vocab) for _ in range(128)] for _ in range(4)]
    shared = [(sys_prompts[i % 4] + [rng.randrange(vocab) for _ in range(rng.randint(8, 64))], rng.randint(4, 32))
              for i in range(64)]
    pref = run_continuous(mods, model, shared, args, caching=True)
    shared_frac = sum(128 // args.block_size * args.block_size for _ in shared) / sum(len(p) for p, _ in shared)

    bytes_per_slot = 2 * model.config.num_hidden_layers * model.config.num_key_value_heads * model.config.head_dim \
        * torch.finfo(dtype).bits // 8
    mib = lambda slots: slots * bytes_per_slot / 2**20  # noqa: E731
    ratio = cont["tok_s"] / static["tok_s"]
    print(f"mini-engine bench: preset {args.preset} on {args.device.type} ({torch.get_num_threads()} threads), "
          f"{n} requests, prompt median {statistics.median(prompts)} / max {max(prompts)}, "
          f"output median {statistics.median(outs)} / mean {statistics.mean(outs):.0f} / max {max(outs)} tokens")
    print(f"static: batches of {args.batch}; engine: up to {args.max_num_seqs} sequences, budget {args.budget} "
          f"tokens, {args.num_blocks} blocks of {args.block_size} (the slots static batching reserved)")
    print(f"{'':<12}{'out tok/s':>10}{'wall s':>8}{'TTFT p50':>10}{'TTFT p90':>10}{'TPOT p50':>10}{'TPOT p90':>10}"
          f"{'KV used/reserved MiB':>24}{'slot use':>10}")
    for name, r in (("static", static), ("continuous", cont)):
        used = r["peak_used_slots"]
        print(f"{name:<12}{r['tok_s']:>10.0f}{r['wall_s']:>8.1f}"
              f"{statistics.median(r['ttft']) * 1e3:>8.0f}ms{pct(r['ttft'], .9) * 1e3:>8.0f}ms"
              f"{statistics.median(r['tpot']) * 1e3:>8.1f}ms{pct(r['tpot'], .9) * 1e3:>8.1f}ms"
              f"{mib(used):>12.1f} / {mib(r['reserved_slots']):<9.1f}{r['util']:>10.0%}")
    print(f"continuous / static output tokens/s: {ratio:.2f}x; engine steps {cont['steps']}, "
          f"preemptions {cont['preemptions']}")
    print(f"prefix caching: 64 requests on 4 shared 128-token system prompts: hit rate {pref['hit_rate']:.0%} "
          f"of prompt tokens (shared full blocks are {shared_frac:.0%}; the first request of each prefix misses)")
    print("KV used: static = most real tokens in one batch's padded cache, continuous = peak blocks held; "
          "slot use = real tokens / slots reserved (static) or held in blocks (continuous), over the run")
    result = {
        "preset": args.preset, "device": args.device.type, "threads": torch.get_num_threads(), "requests": n,
        "batch": args.batch, "max_num_seqs": args.max_num_seqs, "budget": args.budget, "block_size": args.block_size, "num_blocks": args.num_blocks,
        "static_tok_s": round(static["tok_s"], 1), "continuous_tok_s": round(cont["tok_s"], 1),
        "continuous_vs_static": round(ratio, 2),
        "ttft_ms": {k: [round(statistics.median(r["ttft"]) * 1e3, 1), round(pct(r["ttft"], .9) * 1e3, 1)]
                    for k, r in (("static", static), ("continuous", cont))},
        "tpot_ms": {k: [round(statistics.median(r["tpot"]) * 1e3, 2), round(pct(r["tpot"], .9) * 1e3, 2)]
                    for k, r in (("static", static), ("continuous", cont))},
        "kv_reserved_mib": round(mib(cont["reserved_slots"]), 2),
        "kv_peak_used_mib": round(mib(cont["peak_used_slots"]), 2),
        "kv_static_batch_used_mib": round(mib(static["peak_used_slots"]), 2),
        "slot_use": {"static": round(static["util"], 3), "continuous": round(cont["util"], 3)},
        "prefix_hit_rate": round(pref["hit_rate"], 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

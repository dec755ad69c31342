"""Stage 7: the offline API (vllm/entrypoints/llm.py::LLM.generate) and a streaming iterator.

    python llm.py /path/to/llama-folder "Once upon a time" --max-tokens 40
generates with any Llama-family checkpoint folder (config.json + safetensors
+ a tokenizer, which needs `transformers`).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

from engine import EngineConfig, LLMEngine, RequestOutput
from sampler import SamplingParams


class LLM:
    def __init__(self, model, tokenizer=None, **config) -> None:
        self.engine = LLMEngine(model, EngineConfig(**config))
        self.tokenizer = tokenizer
        self._ids = itertools.count()

    def _add(self, prompts, params) -> list[str]:
        if isinstance(prompts, str) or (prompts and isinstance(prompts[0], int)):
            prompts = [prompts]
        if not isinstance(params, list):
            params = [params or SamplingParams()] * len(prompts)
        ids = []
        for prompt, p in zip(prompts, params, strict=True):
            tokens = self.tokenizer.encode(prompt) if isinstance(prompt, str) else list(prompt)
            rid = str(next(self._ids))
            self.engine.add_request(rid, tokens, p)
            ids.append(rid)
        return ids

    def stream(self, prompts, params: SamplingParams | list[SamplingParams] | None = None) -> Iterator[RequestOutput]:
        """Yield each request's new tokens as the engine steps (delta outputs)."""
        self._add(prompts, params)
        while self.engine.has_unfinished_requests():
            for out in self.engine.step():
                if self.tokenizer is not None:
                    out.text = self.tokenizer.decode(out.token_ids, skip_special_tokens=True)
                yield out

    def generate(self, prompts, params: SamplingParams | list[SamplingParams] | None = None) -> list[RequestOutput]:
        """Run every prompt to completion; outputs in the order of the prompts."""
        ids = self._add(prompts, params)
        final: dict[str, RequestOutput] = {}
        while self.engine.has_unfinished_requests():
            for out in self.engine.step():
                if out.finished:
                    final[out.request_id] = out
        outs = [final[i] for i in ids]
        if self.tokenizer is not None:
            for out in outs:
                out.text = self.tokenizer.decode(out.token_ids, skip_special_tokens=True)
        return outs


if __name__ == "__main__":
    import argparse
    import sys
    import time

    ap = argparse.ArgumentParser(description="generate with a Llama-family checkpoint folder")
    ap.add_argument("model")
    ap.add_argument("prompt", nargs="+")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--top-p", type=float, default=1.0)
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.model)
    kw = {"device": args.device} if args.device else {}
    llm = LLM(args.model, tokenizer=tok, **kw)
    t = time.perf_counter()
    outs = llm.generate(args.prompt, SamplingParams(temperature=args.temperature, top_p=args.top_p,
                                                    max_tokens=args.max_tokens, seed=0))
    for p, o in zip(args.prompt, outs, strict=True):
        print(f"{p!r} -> {o.text!r}")
    n = sum(len(o.token_ids) for o in outs)
    print(f"{n} tokens in {time.perf_counter() - t:.2f} s", file=sys.stderr)

"""Shared fixtures: tiny random-weight Llama checkpoints and transformers' answers on them.

The reference is Hugging Face transformers: `LlamaForCausalLM(config)` with a
fixed seed, written with `save_pretrained` (config.json + model.safetensors),
its logits on a fixed batch and its greedy `generate` for every prompt (one
prompt at a time, so no padding enters the reference). Importing transformers
costs several CPU-seconds, so the first run computes everything and stores it
under a cache folder keyed by the transformers and torch versions and the
recipe below; later runs (every stage, every save) read it back. Set
VLEARN_MINI_ENGINE_CACHE to move the cache, or delete it to recompute.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

BLOCK_SIZE = 8  # small blocks: prompts cross many block boundaries

CONFIGS = {
    # GQA (4 query heads share 2 KV heads), separate LM head
    "gqa": dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False, initializer_range=0.1, seed=11),
    # MHA, LM head tied to the embedding, another RoPE base
    "mha": dict(vocab_size=192, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True, rope_theta=500.0, initializer_range=0.25, seed=12),
}
RECIPE_VERSION = 4


def _prompts(vocab: int, seed: int) -> tuple[list[list[int]], list[int]]:
    """24 prompts: 14 random (1..70 tokens), 8 sharing a 37-token prefix, 2 long (150, 200);
    3..24 new tokens each."""
    rng = random.Random(seed)
    prompts = [[rng.randrange(3, vocab) for _ in range(rng.randint(1, 70))] for _ in range(14)]
    shared = [rng.randrange(3, vocab) for _ in range(37)]
    prompts += [shared + [rng.randrange(3, vocab) for _ in range(rng.randint(1, 20))] for _ in range(7)]
    prompts.append(shared[:32])  # exactly four full blocks: a full hit must still compute one token
    prompts += [[rng.randrange(3, vocab) for _ in range(n)] for n in (150, 200)]
    new = [rng.randint(3, 24) for _ in prompts]
    return prompts, new


@dataclass
class Reference:
    name: str
    path: str  # the checkpoint folder
    prompts: list[list[int]]
    max_new: list[int]
    greedy: list[list[int]]  # transformers' greedy continuation of each prompt
    logits_input: torch.Tensor  # [3, 40]
    logits: torch.Tensor  # transformers' logits on logits_input, float32
    config: dict


def _build(name: str, spec: dict, folder: Path) -> None:
    from transformers import GenerationConfig, LlamaConfig
    from transformers import LlamaForCausalLM as HFLlama

    spec = dict(spec)
    seed = spec.pop("seed")
    torch.manual_seed(seed)
    cfg = LlamaConfig(max_position_embeddings=512, rms_norm_eps=1e-5,
                      bos_token_id=None, eos_token_id=None, pad_token_id=None, **spec)
    model = HFLlama(cfg).eval()
    model.save_pretrained(folder / "ckpt")
    prompts, new = _prompts(spec["vocab_size"], seed)
    gen = GenerationConfig(do_sample=False, eos_token_id=None, pad_token_id=0, bos_token_id=None)
    greedy = []
    with torch.no_grad():
        for p, n in zip(prompts, new, strict=True):
            ids = torch.tensor([p])
            gen.max_new_tokens = gen.min_new_tokens = n
            out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen)
            greedy.append(out[0, len(p):].tolist())
        g = torch.Generator().manual_seed(seed)
        x = torch.randint(0, spec["vocab_size"], (3, 40), generator=g)
        logits = model(x).logits.float()
    torch.save({"prompts": prompts, "max_new": new, "greedy": greedy, "logits_input": x, "logits": logits},
               folder / "reference.pt")


def _cache_root() -> Path:
    root = os.environ.get("VLEARN_MINI_ENGINE_CACHE")
    if root:
        return Path(root)
    # Lab runs get a fresh TMPDIR each time but a lasting XDG_CACHE_HOME (tui.core.labs.contain).
    return Path(os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir()) / f"vlearn-mini-engine-{os.getuid()}"


def reference(name: str) -> Reference:
    spec = CONFIGS[name]
    key = json.dumps([RECIPE_VERSION, name, spec, version("transformers"), torch.__version__], sort_keys=True)
    folder = _cache_root() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if not (folder / "reference.pt").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder.parent))
        _build(name, spec, tmp)
        try:
            os.replace(tmp, folder)
        except OSError:  # another run got there first
            shutil.rmtree(tmp, ignore_errors=True)
    data = torch.load(folder / "reference.pt")
    return Reference(name, str(folder / "ckpt"), data["prompts"], data["max_new"], data["greedy"],
                     data["logits_input"], data["logits"], spec)


@pytest.fixture(scope="session")
def refs() -> dict[str, Reference]:
    return {name: reference(name) for name in CONFIGS}


@pytest.fixture(scope="session", params=list(CONFIGS))
def ref(request, refs) -> Reference:
    return refs[request.param]


# ------------------------------------------------------------------ the engine under test

torch.set_num_threads(1)  # tiny matmuls: one thread is faster than two fighting over a loaded machine

ENGINE_FILES = ("model", "sampler", "request", "block_pool", "kv_cache_manager", "model_runner",
                "scheduler", "engine", "llm")


@pytest.fixture
def lab(lab_dir):
    """The engine's modules as they import each other (one module object per file)."""
    import sys
    import types

    from tui.core.labs.testing import load_lab_module

    llm = load_lab_module(lab_dir, "llm.py")  # imports every other file of the engine, as the engine itself does
    ns = types.SimpleNamespace(llm=llm)
    for name in ENGINE_FILES[:-1]:
        mod = sys.modules.get(name)
        if mod is None:
            pytest.fail(f"llm.py (through its imports) never imported {name}.py", pytrace=False)
        if Path(mod.__file__).resolve().parent != Path(lab_dir).resolve():
            pytest.fail(f"'import {name}' found {mod.__file__}, not the file in {lab_dir}", pytrace=False)
        setattr(ns, name, mod)
    return ns


_models: dict = {}


def model_for(lab, ref: Reference):
    """The engine's model on ref's checkpoint, loaded once per session."""
    key = (id(lab.model), ref.name)
    if key not in _models:
        _models[key] = lab.model.load_model(ref.path)
    return _models[key]


def greedy(lab, max_tokens: int, **kw):
    return lab.sampler.SamplingParams(temperature=0.0, max_tokens=max_tokens, ignore_eos=True, **kw)


def run_engine(lab, ref: Reference, indices=None, *, block_size=BLOCK_SIZE, num_blocks=400, **config):
    """Greedy-decode ref.prompts[indices] through LLMEngine; returns (engine, {index: tokens})."""
    indices = list(range(len(ref.prompts))) if indices is None else list(indices)
    engine = lab.engine.LLMEngine(model_for(lab, ref), lab.engine.EngineConfig(
        block_size=block_size, num_blocks=num_blocks, device="cpu", **config))
    for i in indices:
        engine.add_request(str(i), ref.prompts[i], greedy(lab, ref.max_new[i]))
    done: dict[int, list[int]] = {}
    for _ in range(5000):
        if not engine.has_unfinished_requests():
            break
        for out in engine.step():
            if out.finished:
                done[int(out.request_id)] = out.token_ids
    else:
        pytest.fail("the engine did not finish within 5000 steps")
    return engine, done


def assert_matches_transformers(ref: Reference, done: dict[int, list[int]], indices=None) -> None:
    indices = range(len(ref.prompts)) if indices is None else indices
    missing = [i for i in indices if i not in done]
    assert not missing, f"{ref.name}: prompts {missing} never finished"
    bad = [i for i in indices if done[i] != ref.greedy[i]]
    assert not bad, (f"{ref.name}: {len(bad)} of {len(done)} prompts differ from transformers' greedy generate; "
                     f"first: prompt {bad[0]} ({len(ref.prompts[bad[0]])} tokens): "
                     f"got {done[bad[0]]}, expected {ref.greedy[bad[0]]}")

"""Stage 1: the decoder's logits equal transformers' LlamaForCausalLM on the same checkpoint."""
import torch
import torch.nn.functional as F
from conftest import CONFIGS

from tui.core.labs.testing import load_lab_module


def load(lab_dir, ref):
    return load_lab_module(lab_dir, "model.py").load_model(ref.path)


def test_config_is_read_from_the_checkpoint(lab_dir, ref):
    cfg = load(lab_dir, ref).config
    spec = CONFIGS[ref.name]
    assert cfg.num_key_value_heads == spec["num_key_value_heads"]
    assert cfg.head_dim == spec["hidden_size"] // spec["num_attention_heads"]
    assert cfg.tie_word_embeddings == spec["tie_word_embeddings"]
    assert cfg.rope_theta == spec.get("rope_theta", 10000.0)


def test_logits_equal_transformers(lab_dir, ref):
    model = load(lab_dir, ref)
    with torch.no_grad():
        logits = model(ref.logits_input)
    assert logits.shape == ref.logits.shape
    err = (logits.float() - ref.logits).abs().max().item()
    assert err < 1e-4, f"{ref.name}: max |logits - transformers| = {err:.3g} (tolerance 1e-4)"


class CausalBackend:
    """The engine interface with a plain causal attention and no cache: one sequence, flattened."""

    def __init__(self):
        self.calls = []

    def __call__(self, layer, q, k, v):
        self.calls.append((layer, q.shape, k.shape, v.shape))
        o = F.scaled_dot_product_attention(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), is_causal=True,
                                           enable_gqa=q.shape[1] != k.shape[1])
        return o.transpose(0, 1)


def test_flattened_path_calls_the_backend_once_per_layer(lab_dir, ref):
    model = load(lab_dir, ref)
    ids = ref.logits_input[0]
    backend = CausalBackend()
    with torch.no_grad():
        hidden = model(ids, torch.arange(len(ids)), attn=backend)
        logits = model.compute_logits(hidden)
    cfg = model.config
    assert [c[0] for c in backend.calls] == list(range(cfg.num_hidden_layers))
    _, qs, ks, vs = backend.calls[0]
    assert tuple(qs) == (len(ids), cfg.num_attention_heads, cfg.head_dim)
    assert tuple(ks) == tuple(vs) == (len(ids), cfg.num_key_value_heads, cfg.head_dim)
    assert (logits - ref.logits[0]).abs().max().item() < 1e-4


def test_positions_are_explicit(lab_dir, ref):
    """RoPE must use the positions it is given, not 0..n-1 (the engine feeds chunks at an offset)."""
    model = load(lab_dir, ref)
    ids = ref.logits_input[0, :5]
    with torch.no_grad():
        a = model.compute_logits(model(ids, torch.arange(5), attn=CausalBackend()))
        b = model.compute_logits(model(ids, torch.arange(0, 10, 2), attn=CausalBackend()))
    assert (a[1:] - b[1:]).abs().max() > 1e-3, "positions 0,2,4,6,8 gave the logits of 0,1,2,3,4: RoPE ignores them"


def test_greedy_without_cache_equals_generate(lab_dir, ref):
    """Recompute the whole sequence each step: the simplest correct decoder."""
    model = load(lab_dir, ref)
    for i in (0, 3, 7, 15):
        seq = list(ref.prompts[i])
        with torch.no_grad():
            for _ in range(ref.max_new[i]):
                seq.append(int(model(torch.tensor([seq]))[0, -1].argmax()))
        assert seq[len(ref.prompts[i]):] == ref.greedy[i], f"{ref.name} prompt {i}"

"""Stage 7: sampling (temperature, top-k, top-p, seeds, stops) and the LLM API with streaming."""
import math
from types import SimpleNamespace

import pytest
import torch
from conftest import BLOCK_SIZE


def llm_for(lab, ref, **kw):
    return lab.llm.LLM(ref.path, block_size=BLOCK_SIZE, num_blocks=kw.pop("num_blocks", 300), device="cpu",
                       max_num_batched_tokens=64, max_num_seqs=8, **kw)


def test_generate_greedy_equals_transformers(lab, ref):
    llm = llm_for(lab, ref, num_blocks=60)  # small: prefix caching, chunking and preemption all at work
    SP = lab.sampler.SamplingParams
    params = [SP(temperature=0, max_tokens=n, ignore_eos=True) for n in ref.max_new]
    outs = llm.generate(ref.prompts, params)
    assert [o.token_ids for o in outs] == ref.greedy
    assert all(o.finished and o.finish_reason == "length" for o in outs)


def test_streaming_yields_tokens_as_they_come(lab, ref):
    llm = llm_for(lab, ref)
    SP = lab.sampler.SamplingParams
    got, events = {}, 0
    prompts = ref.prompts[:4]
    for out in llm.stream(prompts, SP(temperature=0, max_tokens=6, ignore_eos=True)):
        events += 1
        got.setdefault(out.request_id, []).extend(out.new_token_ids)
        assert out.token_ids == got[out.request_id]
    assert events == 4 * 6, "one event per request per new token"
    assert sorted(got.values()) == sorted(g[:6] for g in ref.greedy[:4])


def test_stop_tokens_and_max_tokens(lab, ref):
    llm = llm_for(lab, ref)
    SP = lab.sampler.SamplingParams
    g = ref.greedy[5]
    stop = g[3]
    first = g.index(stop)
    out = llm.generate([ref.prompts[5]], SP(temperature=0, max_tokens=30, stop_token_ids=[stop], ignore_eos=True))[0]
    assert out.token_ids == g[:first + 1] and out.finish_reason == "stop", "the stop token ends the output and is kept"
    out = llm.generate([ref.prompts[5]], SP(temperature=0, max_tokens=2, ignore_eos=True))[0]
    assert out.token_ids == g[:2] and out.finish_reason == "length"


PROBS = [0.5, 0.3, 0.15, 0.05]


def kept(lab, k=None, p=None):
    logits = torch.tensor([PROBS]).log()
    out = lab.sampler.apply_top_k_top_p(logits, None if k is None else torch.tensor([k]),
                                        None if p is None else torch.tensor([p]))
    return [i for i in range(4) if out[0, i] > -math.inf]


def test_top_k_and_top_p_masks(lab):
    assert kept(lab, k=2) == [0, 1]
    assert kept(lab, k=1) == [0]
    assert kept(lab, p=0.7) == [0, 1], "0.5 < 0.7: the token that crosses p (0.3) is in the nucleus"
    assert kept(lab, p=0.4) == [0]
    assert kept(lab, p=0.9) == [0, 1, 2]
    assert kept(lab, p=0.97) == [0, 1, 2, 3]
    assert kept(lab, k=3, p=0.9) == [0, 1, 2]


def fake(lab, n, **params):
    return [SimpleNamespace(params=lab.sampler.SamplingParams(**params),
                            generator=torch.Generator().manual_seed(1234 + i)) for i in range(n)]


def test_sampled_distribution_matches_the_softmax(lab):
    """4000 draws at temperature 0.7: frequencies within 0.03 of softmax(logits / 0.7)."""
    logits = torch.tensor([PROBS]).log().repeat(4000, 1)
    tokens = lab.sampler.Sampler()(logits, fake(lab, 4000, temperature=0.7))
    freq = torch.bincount(torch.tensor(tokens), minlength=4).float() / 4000
    expected = (torch.tensor(PROBS).log() / 0.7).softmax(-1)
    assert (freq - expected).abs().max() < 0.03, (freq.tolist(), expected.tolist())


def test_sampling_respects_top_k_and_top_p(lab):
    logits = torch.tensor([PROBS]).log().repeat(500, 1)
    assert set(lab.sampler.Sampler()(logits, fake(lab, 500, temperature=1.0, top_k=2))) == {0, 1}
    assert set(lab.sampler.Sampler()(logits, fake(lab, 500, temperature=1.0, top_p=0.9))) == {0, 1, 2}


def test_seeded_requests_are_reproducible_whatever_the_batch(lab, ref):
    SP = lab.sampler.SamplingParams
    p = SP(temperature=1.0, top_p=0.95, seed=7, max_tokens=12, ignore_eos=True)
    alone = llm_for(lab, ref).generate([ref.prompts[2]], p)[0].token_ids
    other = SP(temperature=1.0, max_tokens=12, ignore_eos=True)
    batch = llm_for(lab, ref).generate([ref.prompts[0], ref.prompts[2], ref.prompts[4]], [other, p, other])
    assert batch[1].token_ids == alone
    reseeded = llm_for(lab, ref).generate([ref.prompts[2]], SP(temperature=1.0, top_p=0.95, seed=8, max_tokens=12,
                                                               ignore_eos=True))[0].token_ids
    assert reseeded != alone


@pytest.mark.parametrize("bad", [dict(temperature=-1), dict(top_p=0), dict(max_tokens=0)])
def test_invalid_params(lab, bad):
    with pytest.raises(ValueError):
        lab.sampler.SamplingParams(**bad)

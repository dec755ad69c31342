"""Stage 2: block pool, block tables, slot mapping and paged attention, driven without a scheduler."""
import pytest
import torch
from conftest import BLOCK_SIZE, greedy, model_for


def test_block_pool_reserves_the_null_block(lab):
    pool = lab.block_pool.BlockPool(6, enable_caching=False)
    assert pool.num_free_blocks == 5
    got = pool.get_new_blocks(5)
    assert sorted(b.block_id for b in got) == [1, 2, 3, 4, 5]
    assert all(b.ref_cnt == 1 for b in got) and pool.num_free_blocks == 0
    with pytest.raises(ValueError):
        pool.get_new_blocks(1)
    pool.free_blocks(got)
    assert pool.num_free_blocks == 5 and all(b.ref_cnt == 0 for b in got)


def test_slot_mapping(lab):
    f = lab.model_runner.compute_slot_mapping
    # block table [3, 7, 2], 4 slots a block: positions 2..9
    assert f([3, 7, 2], 2, 10, 4) == [14, 15, 28, 29, 30, 31, 8, 9]
    assert f([5], 0, 1, 16) == [80]
    assert f([1, 9], 16, 17, 16) == [144]


def test_allocate_slots_grows_at_block_boundaries(lab):
    kv = lab.kv_cache_manager.KVCacheManager(8, 4)
    req = lab.request.Request("a", list(range(10)), greedy(lab, 4))
    assert len(kv.allocate_slots(req, 10)) == 3
    req.num_computed_tokens = 10
    for total, blocks in ((11, 3), (12, 3), (13, 4)):
        assert kv.allocate_slots(req, 1) is not None
        req.num_computed_tokens = total
        assert len(kv.block_ids("a")) == blocks
    other = lab.request.Request("b", list(range(20)), greedy(lab, 4))
    assert kv.allocate_slots(other, 20) is None, "5 blocks needed, 3 free: must refuse"
    assert kv.block_ids("b") == [] and kv.pool.num_free_blocks == 3, "a refused allocation changes nothing"
    kv.free(req)
    assert kv.pool.num_free_blocks == 7


def drive(lab, ref, indices, stagger, num_blocks=300):
    """A hand-made schedule: request k joins at step k*stagger with its whole prompt;
    every later step decodes one token of every unfinished request; one forward per step."""
    model = model_for(lab, ref)
    kv = lab.kv_cache_manager.KVCacheManager(num_blocks, BLOCK_SIZE)
    runner = lab.model_runner.ModelRunner(model, kv, num_blocks, BLOCK_SIZE)
    reqs = [lab.request.Request(str(i), ref.prompts[i], greedy(lab, ref.max_new[i])) for i in indices]
    active, step = [], 0
    while step == 0 or active or len(reqs):
        batch = [(r, 1) for r in active]
        while reqs and step >= (len(indices) - len(reqs)) * stagger:
            r = reqs.pop(0)
            batch.append((r, r.num_tokens))
            active.append(r)
        if batch:
            for r, n in batch:
                assert kv.allocate_slots(r, n) is not None
            sampled = runner.execute_model(lab.model_runner.SchedulerOutput(batch))
            for r, n in batch:
                r.num_computed_tokens += n
                r.append_output_token(sampled[r.request_id])
                if len(r.output_token_ids) == r.params.max_tokens:
                    active.remove(r)
                    kv.free(r)
                    yield r
        step += 1
        if not active and not reqs:
            break
    assert kv.pool.num_free_blocks == num_blocks - 1, "finished requests must give every block back"


@pytest.mark.parametrize("stagger", [0, 3])
def test_paged_greedy_equals_transformers(lab, ref, stagger):
    """All 24 prompts: stagger 0 prefills them in one ragged batch; stagger 3 mixes prefills and decodes."""
    idx = list(range(len(ref.prompts)))
    done = {int(r.request_id): r.output_token_ids for r in drive(lab, ref, idx, stagger)}
    bad = [i for i in idx if done[i] != ref.greedy[i]]
    assert not bad, f"{ref.name}: prompts {bad} differ from transformers, e.g. {done[bad[0]]} vs {ref.greedy[bad[0]]}"


def test_kv_lands_in_the_slots(lab, ref):
    """After a prefill, the cache holds K at exactly the slots of the request's block table."""
    model = model_for(lab, ref)
    kv = lab.kv_cache_manager.KVCacheManager(40, BLOCK_SIZE)
    runner = lab.model_runner.ModelRunner(model, kv, 40, BLOCK_SIZE)
    filler = lab.request.Request("x", [5] * 11, greedy(lab, 1))  # takes blocks so the next table is not 1, 2, ...
    kv.allocate_slots(filler, 11)
    req = lab.request.Request("r", ref.prompts[0], greedy(lab, 1))
    kv.allocate_slots(req, req.num_tokens)
    runner.execute_model(lab.model_runner.SchedulerOutput([(req, req.num_tokens)]))
    slots = lab.model_runner.compute_slot_mapping(kv.block_ids("r"), 0, req.num_tokens, BLOCK_SIZE)
    k_cache = runner.kv_caches[0][0]
    flat = k_cache.view(-1, *k_cache.shape[2:])
    written = flat[slots]
    assert written.abs().sum(dim=(1, 2)).min() > 0, "some slots of the block table were never written"
    others = torch.ones(flat.shape[0], dtype=torch.bool)
    others[slots] = False
    assert flat[others].abs().sum() == 0, "K was written outside the request's slots"

"""Stage 1: enumerate tile configs and prune them by an H100's and an A100's limits.

Every expected number below is worked out by hand in its comment from the
formulas in the README (CUDA Programming Guide, compute capability 8.0 and 9.0
limits: 64K registers/SM, 2048 threads/SM, 32 blocks/SM, 255 registers/thread,
228 KB smem/SM and 227 KB/block on H100, 164 KB/SM and 163 KB/block on A100,
1 KB smem reserved per block).
"""
import pytest

from tui.core.labs.testing import load_lab_module

KB = 1024


@pytest.fixture
def ss(lab_dir):
    return load_lab_module(lab_dir, "search_space.py")


def cfg(m, n, k, warps, stages, vec=8):
    return {"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k, "num_warps": warps, "num_stages": stages, "VEC": vec}


# The CUDA (non-ROCm) ranges of vLLM's benchmarks/kernels/benchmark_moe.py::get_configs_compute_bound,
# without GROUP_SIZE_M (it changes the launch order, not the resources), plus an 8-wide vector load.
VLLM_SPACE = {"BLOCK_M": [16, 32, 64, 128, 256], "BLOCK_N": [32, 64, 128, 256], "BLOCK_K": [64, 128, 256],
              "num_warps": [4, 8], "num_stages": [2, 3, 4, 5], "VEC": [8]}


def test_device_descriptions(ss):
    for dev in (ss.H100, ss.A100):
        assert (dev.max_threads_per_block, dev.max_threads_per_sm, dev.max_blocks_per_sm) == (1024, 2048, 32)
        assert (dev.regs_per_sm, dev.max_regs_per_thread, dev.reg_alloc_unit) == (65536, 255, 256)
        assert (dev.smem_reserved_per_block, dev.smem_alloc_unit, dev.warp_size) == (1024, 128, 32)
    assert (ss.H100.smem_per_sm, ss.H100.smem_per_block, ss.H100.sm_count) == (228 * KB, 227 * KB, 132)
    assert (ss.A100.smem_per_sm, ss.A100.smem_per_block, ss.A100.sm_count) == (164 * KB, 163 * KB, 108)


def test_enumerate_is_the_product_in_order(ss):
    got = ss.enumerate_configs({"BLOCK_M": [16, 32], "num_warps": [4, 8], "num_stages": [3]})
    assert got == [{"BLOCK_M": 16, "num_warps": 4, "num_stages": 3}, {"BLOCK_M": 16, "num_warps": 8, "num_stages": 3},
                   {"BLOCK_M": 32, "num_warps": 4, "num_stages": 3}, {"BLOCK_M": 32, "num_warps": 8, "num_stages": 3}]
    assert len(ss.enumerate_configs(VLLM_SPACE)) == 5 * 4 * 3 * 2 * 4 * 1


@pytest.mark.parametrize("space", [{"BLOCK_M": []}, {"BLOCK_Q": [16]}])
def test_enumerate_rejects_bad_spaces(ss, space):
    with pytest.raises(ValueError):
        ss.enumerate_configs(space)


def test_resources_of_one_tile(ss):
    # 128x128 tile, K slice 64, 3 stages, fp16: 3 * (128*64 + 64*128) * 2 = 98,304 B;
    # 8 warps = 256 threads; accumulator 128*128 / 256 = 64 fp32 per thread, + 32 = 96 registers.
    assert ss.resources(cfg(128, 128, 64, 8, 3), ss.H100) == {"threads": 256, "smem_bytes": 98304, "regs_per_thread": 96}
    # fp32 operands double the smem; base_regs moves the register estimate.
    r = ss.resources(cfg(64, 32, 32, 4, 2), ss.H100, elem_bytes=4, base_regs=40)
    assert r == {"threads": 128, "smem_bytes": 2 * (64 * 32 + 32 * 32) * 4, "regs_per_thread": 40 + 16}


def test_occupancy_of_one_tile_h100_vs_a100(ss):
    # regs: 96 * 32 = 3,072 per warp, * 8 warps = 24,576 per block -> 65,536 // 24,576 = 2 blocks.
    # smem: 98,304 + 1,024 = 99,328 B per block. H100: 233,472 // 99,328 = 2. A100: 167,936 // 99,328 = 1.
    # warps: 2048 // 256 = 8 blocks. H100 ties registers and smem at 2: the first in order names it.
    assert ss.occupancy(256, 96, 98304, ss.H100) == (2, "registers")
    assert ss.occupancy(256, 96, 98304, ss.A100) == (1, "smem")


def test_occupancy_limited_by_registers(ss):
    # 128x128 tile, 4 warps: 128*128 / 128 = 128 + 32 = 160 registers; 160 * 32 = 5,120 per warp,
    # 20,480 per block -> 65,536 // 20,480 = 3 blocks. smem 2 * (128*32 + 32*128) * 2 = 32,768 + 1,024:
    # H100 233,472 // 33,792 = 6, A100 167,936 // 33,792 = 4; warps 2048 // 128 = 16. Registers win: 3.
    r = ss.resources(cfg(128, 128, 32, 4, 2), ss.H100)
    assert (r["regs_per_thread"], r["smem_bytes"]) == (160, 32768)
    assert ss.occupancy(r["threads"], 160, 32768, ss.H100) == (3, "registers")
    assert ss.occupancy(r["threads"], 160, 32768, ss.A100) == (3, "registers")


def test_registers_are_allocated_per_warp_in_units_of_256(ss):
    # 100 registers * 32 lanes = 3,200 -> rounded up to 3,328 (13 * 256); * 4 warps = 13,312 per block;
    # 65,536 // 13,312 = 4 (without the rounding: 65,536 // 12,800 = 5).
    assert ss.occupancy(128, 100, 0, ss.H100) == (4, "registers")


def test_reserved_shared_memory_per_block(ss):
    # 58,368 B (57 KB) per block: H100 233,472 // 58,368 would be exactly 4, but each block also
    # takes the 1 KB CUDA reserves: 233,472 // 59,392 = 3.
    assert ss.occupancy(128, 32, 57 * KB, ss.H100) == (3, "smem")


def test_shared_memory_is_allocated_in_128_byte_units(ss):
    # 54,926 + 1,024 = 55,950 B -> 56,064 (438 * 128): A100 167,936 // 56,064 = 2
    # (unrounded, 167,936 // 55,950 would be 3).
    assert ss.occupancy(128, 32, 54926, ss.A100) == (2, "smem")


def test_warp_and_block_limits(ss):
    # 1024 threads: 2048 // 1024 = 2 blocks (warps); 32 threads with nothing else: 32 blocks (blocks).
    assert ss.occupancy(1024, 32, 0, ss.H100) == (2, "warps")
    assert ss.occupancy(32, 32, 0, ss.H100) == (32, "blocks")


def test_vllm_h100_config_fits_h100_not_a100(ss):
    # vLLM's tuned H100 file E=1,N=3072,device_name=NVIDIA_H100_80GB_HBM3.json uses, at batch 1,
    # BLOCK 16x64, K 256, 4 warps, 5 stages: 5 * (16*256 + 256*64) * 2 = 204,800 B = 200 KB.
    # Under H100's 227 KB per block; over A100's 163 KB. On H100: (204,800 + 1,024) -> 1 block.
    c = cfg(16, 64, 256, 4, 5)
    assert ss.prune_reason(c, ss.H100) is None
    assert ss.prune_reason(c, ss.A100) == "smem"
    assert ss.prune([c], ss.H100) == [{**c, "occupancy": 1, "limiter": "smem"}]
    assert ss.prune([c], ss.A100) == []


@pytest.mark.parametrize("c,elem_bytes,reason", [
    (cfg(64, 64, 64, 64, 2), 2, "threads"),           # 64 warps = 2,048 threads > 1,024
    (cfg(64, 64, 64, 4, 2, vec=16), 2, "vector"),      # 16 * 2 B = 32 B > one 16 B load
    (cfg(64, 64, 64, 4, 2, vec=8), 4, "vector"),       # 8 * 4 B = 32 B
    (cfg(64, 64, 8, 4, 2, vec=16), 1, "vector"),       # 16 B is fine, but BLOCK_K = 8 is not a multiple of 16
    (cfg(64, 64, 64, 4, 2, vec=4), 4, None),           # 16 B: fine
    (cfg(256, 256, 64, 8, 4), 2, "smem"),              # 4 * (256*64 + 64*256) * 2 = 262,144 > 232,448
    (cfg(256, 256, 32, 4, 2), 2, "registers"),         # 65,536 / 128 + 32 = 544 > 255
    (cfg(256, 256, 32, 32, 2), 2, "occupancy"),        # 96 regs * 1,024 threads = 98,304 > 65,536
])
def test_prune_reasons_h100(ss, c, elem_bytes, reason):
    assert ss.prune_reason(c, ss.H100, elem_bytes=elem_bytes) == reason


def test_smem_limit_is_per_device(ss):
    # 4 stages of a 128x256x64 fp16 tile: 4 * (128*64 + 64*256) * 2 = 196,608 B = 192 KB:
    # fits H100 (227 KB), not A100 (163 KB). Registers: 128*256 / 256 + 32 = 160, fine on both.
    c = cfg(128, 256, 64, 8, 4)
    assert ss.prune_reason(c, ss.H100) is None
    assert ss.prune_reason(c, ss.A100) == "smem"


def test_prune_keeps_order_and_annotates(ss):
    configs = [cfg(128, 128, 64, 8, 3), cfg(256, 256, 64, 8, 4), cfg(128, 128, 32, 4, 2)]
    got = ss.prune(configs, ss.H100)
    assert got == [{**configs[0], "occupancy": 2, "limiter": "registers"},
                   {**configs[2], "occupancy": 3, "limiter": "registers"}]
    assert configs[0] == cfg(128, 128, 64, 8, 3), "prune must not modify its input"
    assert ss.prune(configs, ss.H100, min_blocks_per_sm=3) == [got[1]]
    assert ss.prune(configs, ss.A100) == [{**configs[0], "occupancy": 1, "limiter": "smem"},
                                         {**configs[2], "occupancy": 3, "limiter": "registers"}]


def test_vllm_space_counts(ss):
    # 480 configs. Over 227 KB of smem: 168 (H100); over 163 KB: 220 (A100). Of the rest, 12 (H100)
    # and 6 (A100) need more than 255 registers (a 256x256 tile on 4 warps: 544; 256x128: 288).
    configs = ss.enumerate_configs(VLLM_SPACE)
    reasons = {dev.name: [ss.prune_reason(c, dev) for c in configs] for dev in (ss.H100, ss.A100)}
    assert reasons[ss.H100.name].count("smem") == 168 and reasons[ss.H100.name].count("registers") == 12
    assert reasons[ss.A100.name].count("smem") == 220 and reasons[ss.A100.name].count("registers") == 6
    h100, a100 = ss.prune(configs, ss.H100), ss.prune(configs, ss.A100)
    assert (len(h100), len(a100)) == (300, 254)
    assert sum(c["limiter"] == "registers" for c in h100) == 38
    assert sum(c["limiter"] == "registers" for c in a100) == 17

// Paged-attention decode: one new query token per sequence attends over its
// cached K/V, which live in fixed-size blocks scattered through the cache.
//   q:            [num_seqs, num_heads, 128] fp16
//   k/v_cache:    [num_blocks, 16, num_kv_heads, 128] fp16 (vLLM 0.33.0 flash layout)
//   block_tables: [num_seqs, max_blocks] int32; seq_lens: [num_seqs] int32
//   out:          [num_seqs, num_heads, 128] fp16
// GQA: G = num_heads / num_kv_heads query heads share one KV head, so one
// block serves all G of them and reads each K/V byte once.
//
// Work split: grid (num_kv_heads, num_seqs, num_partitions), 128 threads.
// 16 lanes share one token (16 lanes x 8 halves = 128 dims = 256 bytes),
// so each half-warp walks its own stream of tokens with its own online
// softmax state (max m, sum l, output acc); the 8 half-warps merge at the end.
// With one partition the block writes the final output. With several (the
// split-context variant, for long contexts and few sequences) each block
// writes a partial (out, m, l) and paged_attention_reduce_f16 merges them.
#include <cuda_fp16.h>

#define NEG_INF __int_as_float(0xff800000)  // -inf without <math.h> (NVRTC has none)

#define HEAD 128
#define KV_BLOCK 16
#define NTHREADS 128
#define NHW (NTHREADS / 16)  // half-warps per block

__device__ __forceinline__ void unpack8(const uint4& v, float (&f)[8]) {
    const __half2* h = reinterpret_cast<const __half2*>(&v);
    #pragma unroll
    for (int i = 0; i < 4; ++i) { const float2 t = __half22float2(h[i]); f[2 * i] = t.x; f[2 * i + 1] = t.y; }
}

// G query heads per KV head; TPI tokens per half-warp per step (loads in flight).
template <int G, int TPI>
__device__ void decode(__half* __restrict__ out, float* __restrict__ tmp_out, float* __restrict__ tmp_m,
                       float* __restrict__ tmp_l, const __half* __restrict__ q,
                       const __half* __restrict__ k_cache, const __half* __restrict__ v_cache,
                       const int* __restrict__ block_tables, const int* __restrict__ seq_lens,
                       float scale, int max_blocks, int num_heads,
                       long long block_stride, long long page_stride, int partition_size) {
    // TODO(you): q . k over the block table, online softmax per half-warp, merge the
    // half-warps in shared memory; write out (one partition) or tmp_out/tmp_m/tmp_l (several).
}

#define DECODE_ENTRY(G, TPI)                                                                                   \
    extern "C" __global__ void __launch_bounds__(NTHREADS) paged_attention_decode_f16_g##G(                   \
        __half* out, float* tmp_out, float* tmp_m, float* tmp_l, const __half* q, const __half* k_cache,       \
        const __half* v_cache, const int* block_tables, const int* seq_lens, float scale, int max_blocks,      \
        int num_heads, long long block_stride, long long page_stride, int partition_size) {                    \
        decode<G, TPI>(out, tmp_out, tmp_m, tmp_l, q, k_cache, v_cache, block_tables, seq_lens, scale,        \
                       max_blocks, num_heads, block_stride, page_stride, partition_size);                       \
    }

DECODE_ENTRY(1, 4)
DECODE_ENTRY(2, 4)
DECODE_ENTRY(4, 2)
DECODE_ENTRY(8, 2)

// Split-context second pass: merge the partitions' (out, m, l) of one head.
// grid (num_heads, num_seqs), HEAD threads: one output dimension each.
extern "C" __global__ void paged_attention_reduce_f16(__half* __restrict__ out, const float* __restrict__ tmp_out,
                                                      const float* __restrict__ tmp_m, const float* __restrict__ tmp_l,
                                                      int nparts) {
    // TODO(you): merge the partitions of one (sequence, head), one output dim per thread.
}

// Stage 3 of proj-paged-attention: paged decode attention in CUDA (fp16 and bf16).
//
// One thread block per (KV head, sequence): grid (num_kv_heads, num_seqs), 128 threads.
// The block serves all `group = num_heads / num_kv_heads` query heads that share its
// KV head, so each K/V row is read from memory once per KV head, not once per query
// head (vLLM's kernels do the same: the ROCm paged-attention kernel's GQA_RATIO, the
// Triton kernel's num_queries_per_kv rows per program).
// Each of the 4 warps walks every 4th token of the sequence; a lane owns 4 of the
// 128 head dimensions. Per token: one 8-byte K load and one 8-byte V load per lane,
// a warp-wide dot product per query head, and an online-softmax update (running max
// m, running sum l, accumulator acc) in float32. At the end the 4 warps' states are
// merged through shared memory, rescaling each by exp(m_warp - m_max).
// Only tokens t < seq_len are touched: stale slots of the last block and blocks the
// table merely points at are never read.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define NEG_INF __int_as_float(0xff800000)  // -inf without <math.h> (NVRTC has none)

constexpr int HEAD_SIZE = 128;
constexpr int NUM_WARPS = 4;
constexpr int NUM_THREADS = NUM_WARPS * 32;
constexpr int PER_LANE = HEAD_SIZE / 32;  // 4 consecutive dimensions per lane
constexpr int MAX_GROUP = 8;              // query heads per KV head
static_assert(NUM_THREADS == HEAD_SIZE, "the merge gives each thread one output dimension");

__device__ __forceinline__ float4 load4(const __half* p) {
    const uint2 raw = *reinterpret_cast<const uint2*>(p);  // 8 bytes: needs 8-byte alignment
    const float2 a = __half22float2(*reinterpret_cast<const __half2*>(&raw.x));
    const float2 b = __half22float2(*reinterpret_cast<const __half2*>(&raw.y));
    return make_float4(a.x, a.y, b.x, b.y);
}

__device__ __forceinline__ float4 load4(const __nv_bfloat16* p) {
    const uint2 raw = *reinterpret_cast<const uint2*>(p);
    const float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
    const float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
    return make_float4(a.x, a.y, b.x, b.y);
}

__device__ __forceinline__ void store1(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void store1(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;  // every lane holds the sum
}

template <typename T>
__device__ void paged_decode(T* __restrict__ out, const T* __restrict__ q, const T* __restrict__ k_cache,
                             const T* __restrict__ v_cache, const int* __restrict__ block_tables,
                             const int* __restrict__ seq_lens, float scale, int num_heads, int num_kv_heads,
                             int table_stride, int block_size, long long stride_block, long long stride_token,
                             long long stride_head) {
    const int kv_head = blockIdx.x;
    const int seq = blockIdx.y;
    const int group = num_heads / num_kv_heads;
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int len = seq_lens[seq];
    const int* table = block_tables + (long long)seq * table_stride;

    float qs[MAX_GROUP][PER_LANE], acc[MAX_GROUP][PER_LANE], m[MAX_GROUP], l[MAX_GROUP];
#pragma unroll
    for (int g = 0; g < MAX_GROUP; ++g) {
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (g < group) x = load4(q + ((long long)seq * num_heads + kv_head * group + g) * HEAD_SIZE + lane * PER_LANE);
        qs[g][0] = x.x * scale; qs[g][1] = x.y * scale; qs[g][2] = x.z * scale; qs[g][3] = x.w * scale;
        acc[g][0] = acc[g][1] = acc[g][2] = acc[g][3] = 0.f;
        m[g] = NEG_INF;
        l[g] = 0.f;
    }

    for (int t = warp; t < len; t += NUM_WARPS) {  // the trip count is uniform per warp: shuffles are safe
        const long long slot = (long long)table[t / block_size] * stride_block
                             + (long long)(t % block_size) * stride_token
                             + (long long)kv_head * stride_head + lane * PER_LANE;
        const float4 k = load4(k_cache + slot);
        const float4 v = load4(v_cache + slot);
#pragma unroll
        for (int g = 0; g < MAX_GROUP; ++g) {
            if (g < group) {  // uniform across the block
                const float s = warp_sum(qs[g][0] * k.x + qs[g][1] * k.y + qs[g][2] * k.z + qs[g][3] * k.w);
                const float m_new = fmaxf(m[g], s);
                const float alpha = expf(m[g] - m_new);  // exp(-inf) = 0 on the first token
                const float p = expf(s - m_new);
                l[g] = l[g] * alpha + p;
                acc[g][0] = acc[g][0] * alpha + p * v.x;
                acc[g][1] = acc[g][1] * alpha + p * v.y;
                acc[g][2] = acc[g][2] * alpha + p * v.z;
                acc[g][3] = acc[g][3] * alpha + p * v.w;
                m[g] = m_new;
            }
        }
    }

    __shared__ float sm_m[NUM_WARPS][MAX_GROUP];
    __shared__ float sm_l[NUM_WARPS][MAX_GROUP];
    __shared__ float sm_acc[NUM_WARPS][MAX_GROUP][HEAD_SIZE];
#pragma unroll
    for (int g = 0; g < MAX_GROUP; ++g) {
        if (g < group) {
            if (lane == 0) {
                sm_m[warp][g] = m[g];
                sm_l[warp][g] = l[g];
            }
#pragma unroll
            for (int i = 0; i < PER_LANE; ++i) sm_acc[warp][g][lane * PER_LANE + i] = acc[g][i];
        }
    }
    __syncthreads();

    const int d = threadIdx.x;
    for (int g = 0; g < group; ++g) {
        float m_max = NEG_INF;
#pragma unroll
        for (int w = 0; w < NUM_WARPS; ++w) m_max = fmaxf(m_max, sm_m[w][g]);  // finite: warp 0 saw token 0
        float total = 0.f, o = 0.f;
#pragma unroll
        for (int w = 0; w < NUM_WARPS; ++w) {
            const float c = sm_l[w][g] > 0.f ? expf(sm_m[w][g] - m_max) : 0.f;  // a warp without tokens adds 0
            total += sm_l[w][g] * c;
            o += sm_acc[w][g][d] * c;
        }
        store1(out + ((long long)seq * num_heads + kv_head * group + g) * HEAD_SIZE + d, o / total);
    }
}

#define PAGED_DECODE_ARGS(T)                                                                               \
    T *out, const T *q, const T *k_cache, const T *v_cache, const int *block_tables, const int *seq_lens,  \
        float scale, int num_heads, int num_kv_heads, int table_stride, int block_size,                   \
        long long stride_block, long long stride_token, long long stride_head
#define PAGED_DECODE_CALL                                                                                  \
    out, q, k_cache, v_cache, block_tables, seq_lens, scale, num_heads, num_kv_heads, table_stride,        \
        block_size, stride_block, stride_token, stride_head

extern "C" __global__ void __launch_bounds__(NUM_THREADS) paged_decode_f16(PAGED_DECODE_ARGS(__half)) {
    paged_decode<__half>(PAGED_DECODE_CALL);
}

extern "C" __global__ void __launch_bounds__(NUM_THREADS) paged_decode_bf16(PAGED_DECODE_ARGS(__nv_bfloat16)) {
    paged_decode<__nv_bfloat16>(PAGED_DECODE_CALL);
}

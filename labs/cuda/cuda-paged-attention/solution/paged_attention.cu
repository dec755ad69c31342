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
    const int kvh = blockIdx.x, seq = blockIdx.y, part = blockIdx.z, nparts = gridDim.z;
    const int lane16 = threadIdx.x & 15, hw = threadIdx.x >> 4, warp = threadIdx.x >> 5;
    const int seq_len = seq_lens[seq];
    const int t0 = part * partition_size;
    const int t1 = min(seq_len, t0 + partition_size);

    // Scores live in the log2 domain: exp(s) = exp2(s * log2 e), folded into q.
    const float qscale = scale * 1.4426950408889634f;
    float qf[G][8];
    #pragma unroll
    for (int g = 0; g < G; ++g) {
        const uint4 raw = *reinterpret_cast<const uint4*>(q + ((size_t)seq * num_heads + kvh * G + g) * HEAD + lane16 * 8);
        unpack8(raw, qf[g]);
        #pragma unroll
        for (int e = 0; e < 8; ++e) qf[g][e] *= qscale;
    }
    float m[G], l[G], acc[G][8];
    #pragma unroll
    for (int g = 0; g < G; ++g) {
        m[g] = NEG_INF; l[g] = 0.0f;
        #pragma unroll
        for (int e = 0; e < 8; ++e) acc[g][e] = 0.0f;
    }

    const int* table = block_tables + (size_t)seq * max_blocks;
    const size_t head_off = (size_t)kvh * HEAD + lane16 * 8;
    // The loop bound is uniform per warp (shuffles need all 32 lanes); each
    // half-warp takes TPI consecutive tokens, which lie in one KV block.
    for (int wbase = t0 + warp * 2 * TPI; wbase < t1; wbase += NHW * TPI) {
        const int base = wbase + (hw & 1) * TPI;
        uint4 kr[TPI], vr[TPI];
        if (base < t1) {
            const size_t blk_off = (size_t)table[base / KV_BLOCK] * block_stride + head_off;
            #pragma unroll
            for (int j = 0; j < TPI; ++j) {
                if (base + j < t1) {
                    const size_t off = blk_off + (size_t)((base + j) % KV_BLOCK) * page_stride;
                    kr[j] = *reinterpret_cast<const uint4*>(k_cache + off);
                    vr[j] = *reinterpret_cast<const uint4*>(v_cache + off);
                } else {
                    kr[j] = make_uint4(0, 0, 0, 0); vr[j] = make_uint4(0, 0, 0, 0);
                }
            }
        } else {
            #pragma unroll
            for (int j = 0; j < TPI; ++j) { kr[j] = make_uint4(0, 0, 0, 0); vr[j] = make_uint4(0, 0, 0, 0); }
        }
        float s[G][TPI];
        #pragma unroll
        for (int j = 0; j < TPI; ++j) {
            float kf[8];
            unpack8(kr[j], kf);
            #pragma unroll
            for (int g = 0; g < G; ++g) {
                float d = 0.0f;
                #pragma unroll
                for (int e = 0; e < 8; ++e) d = fmaf(qf[g][e], kf[e], d);
                // Sum over the 16 lanes of this half-warp (xor < 16 stays inside it).
                #pragma unroll
                for (int o = 8; o > 0; o >>= 1) d += __shfl_xor_sync(0xffffffffu, d, o);
                s[g][j] = (base + j < t1) ? d : NEG_INF;
            }
        }
        #pragma unroll
        for (int g = 0; g < G; ++g) {
            float mx = m[g];
            #pragma unroll
            for (int j = 0; j < TPI; ++j) mx = fmaxf(mx, s[g][j]);
            const float ref = (mx == NEG_INF) ? 0.0f : mx;  // keeps exp2(-inf - -inf) from making NaN
            const float alpha = exp2f(m[g] - ref);
            l[g] *= alpha;
            #pragma unroll
            for (int e = 0; e < 8; ++e) acc[g][e] *= alpha;
            m[g] = mx;
        }
        #pragma unroll
        for (int j = 0; j < TPI; ++j) {
            float vf[8];
            unpack8(vr[j], vf);
            #pragma unroll
            for (int g = 0; g < G; ++g) {
                const float ref = (m[g] == NEG_INF) ? 0.0f : m[g];
                const float p = exp2f(s[g][j] - ref);
                l[g] += p;
                #pragma unroll
                for (int e = 0; e < 8; ++e) acc[g][e] = fmaf(p, vf[e], acc[g][e]);
            }
        }
    }

    // Merge the NHW half-warp states: rescale each to the common max, add.
    __shared__ float sm_m[NHW][G], sm_l[NHW][G];
    __shared__ float sm_acc[NHW][G][HEAD];
    #pragma unroll
    for (int g = 0; g < G; ++g) {
        if (lane16 == 0) { sm_m[hw][g] = m[g]; sm_l[hw][g] = l[g]; }
        #pragma unroll
        for (int e = 0; e < 8; ++e) sm_acc[hw][g][lane16 * 8 + e] = acc[g][e];
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < G * HEAD; idx += NTHREADS) {
        const int g = idx / HEAD, d = idx % HEAD;
        float M = NEG_INF;
        #pragma unroll
        for (int h = 0; h < NHW; ++h) M = fmaxf(M, sm_m[h][g]);
        float L = 0.0f, O = 0.0f;
        if (M != NEG_INF) {
            #pragma unroll
            for (int h = 0; h < NHW; ++h) {
                const float w = exp2f(sm_m[h][g] - M);
                L += sm_l[h][g] * w;
                O += sm_acc[h][g][d] * w;
            }
            O /= L;
        }
        const size_t row = (size_t)seq * num_heads + kvh * G + g;
        if (nparts == 1) {
            out[row * HEAD + d] = __float2half_rn(O);
        } else {
            const size_t pi = row * nparts + part;
            tmp_out[pi * HEAD + d] = O;
            if (d == 0) { tmp_m[pi] = M; tmp_l[pi] = L; }
        }
    }
}

#define DECODE_ENTRY(G, TPI)                                                                                   \
    extern "C" __global__ void __launch_bounds__(NTHREADS) paged_attention_decode_f16_g##G(                   \
        __half* out, float* tmp_out, float* tmp_m, float* tmp_l, const __half* q, const __half* k_cache,       \
        const __half* v_cache, const int* block_tables, const int* seq_lens, float scale, int max_blocks,      \
        int num_heads, long long block_stride, long long page_stride, int partition_size) {                    \
        decode<G, TPI>(out, tmp_out, tmp_m, tmp_l, q, k_cache, v_cache, block_tables, seq_lens, scale,        \
                       max_blocks, num_heads, block_stride, page_stride, partition_size);                       \
    }

// Group sizes real models use: 1 (MHA), 2, 4, 8 (most GQA), 3, 5, 6, 7 (e.g. 24/8, 40/8,
// 48/8, 28/4 heads). Above 8, sm_acc (8 x G x 128 floats) passes the 48 KB static limit.
DECODE_ENTRY(1, 4)
DECODE_ENTRY(2, 4)
DECODE_ENTRY(3, 4)
DECODE_ENTRY(4, 2)
DECODE_ENTRY(5, 2)
DECODE_ENTRY(6, 2)
DECODE_ENTRY(7, 2)
DECODE_ENTRY(8, 2)

// Split-context second pass: merge the partitions' (out, m, l) of one head.
// grid (num_heads, num_seqs), HEAD threads: one output dimension each.
extern "C" __global__ void paged_attention_reduce_f16(__half* __restrict__ out, const float* __restrict__ tmp_out,
                                                      const float* __restrict__ tmp_m, const float* __restrict__ tmp_l,
                                                      int nparts) {
    const size_t row = (size_t)blockIdx.y * gridDim.x + blockIdx.x;
    const int d = threadIdx.x;
    float M = NEG_INF;
    for (int p = 0; p < nparts; ++p) M = fmaxf(M, tmp_m[row * nparts + p]);
    float W = 0.0f, O = 0.0f;
    for (int p = 0; p < nparts; ++p) {
        const float w = tmp_l[row * nparts + p] * exp2f(tmp_m[row * nparts + p] - M);  // empty partition: l = 0
        W += w;
        O += tmp_out[(row * nparts + p) * HEAD + d] * w;
    }
    out[row * HEAD + d] = __float2half_rn(O / W);
}

// RMSNorm over the last dimension, fp16 in and out, fp32 arithmetic:
//   rms_norm:           out = x / sqrt(mean(x^2) + eps) * w
//   fused_add_rms_norm: z = x + residual (rounded to fp16); residual = z; x = rms_norm(z) * w
// Semantics follow vLLM 0.33.0's csrc/layernorm_kernels.cu (`rms_norm`,
// `fused_add_rms_norm`, the latter in place). One block per row; the fast
// path keeps the row in registers so x (and residual) are read from DRAM once.
// It keeps the row packed (8 halves in a uint4, 4 registers) rather than as
// floats (8 registers): half the registers means twice the rows resident per
// SM, and so twice the bytes in flight, which is what a memory-bound kernel needs.
#include <cuda_fp16.h>

#ifndef MAX_VEC
#define MAX_VEC 4  // 16-byte vectors a thread holds: the launch gives a row cols / 32 threads
#endif

__device__ __forceinline__ void unpack16(const uint4& v, float (&f)[8]) {
    const __half2* h = reinterpret_cast<const __half2*>(&v);
    #pragma unroll
    for (int i = 0; i < 4; ++i) { const float2 t = __half22float2(h[i]); f[2 * i] = t.x; f[2 * i + 1] = t.y; }
}
__device__ __forceinline__ uint4 pack16(const float (&f)[8]) {
    uint4 v;
    __half2* h = reinterpret_cast<__half2*>(&v);
    #pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    return v;
}
__device__ __forceinline__ uint4 load16(const __half* p) { return *reinterpret_cast<const uint4*>(p); }
__device__ __forceinline__ void store16(__half* p, uint4 v) { *reinterpret_cast<uint4*>(p) = v; }
__device__ __forceinline__ float round_half(float v) { return __half2float(__float2half_rn(v)); }

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block, returned to every thread.
__device__ float block_sum(float v) {
    __shared__ float part[32], total;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < nwarps ? part[lane] : 0.0f;
        t = warp_sum(t);
        if (lane == 0) total = t;
    }
    __syncthreads();
    return total;
}

template <bool FUSED>
__device__ void rms_row(__half* out, const __half* x, __half* __restrict__ residual,  // out and x alias when in place
                        const __half* __restrict__ w, int cols, float eps) {
    if (cols % 8 == 0 && cols <= (int)blockDim.x * 8 * MAX_VEC) {
        uint4 v[MAX_VEC], res[MAX_VEC];  // the row (fused: then z = x + residual, rounded to fp16), packed
        #pragma unroll
        for (int j = 0; j < MAX_VEC; ++j) {  // every load first: all in flight together
            const int c = (threadIdx.x + j * blockDim.x) * 8;
            if (c < cols) {
                v[j] = load16(x + c);
                if (FUSED) res[j] = load16(residual + c);
            }
        }
        float ss = 0.0f;
        #pragma unroll
        for (int j = 0; j < MAX_VEC; ++j) {
            const int c = (threadIdx.x + j * blockDim.x) * 8;
            if (c < cols) {
                float z[8];
                unpack16(v[j], z);
                if (FUSED) {
                    float r[8];
                    unpack16(res[j], r);
                    #pragma unroll
                    for (int e = 0; e < 8; ++e) z[e] += r[e];
                    v[j] = pack16(z);  // the fp16 rounding vLLM applies to the sum
                    unpack16(v[j], z);
                    store16(residual + c, v[j]);
                }
                #pragma unroll
                for (int e = 0; e < 8; ++e) ss += z[e] * z[e];
            }
        }
        const float rs = rsqrtf(block_sum(ss) / cols + eps);
        #pragma unroll
        for (int j = 0; j < MAX_VEC; ++j) {
            const int c = (threadIdx.x + j * blockDim.x) * 8;
            if (c < cols) {
                float z[8], wf[8];
                unpack16(v[j], z);
                unpack16(load16(w + c), wf);
                #pragma unroll
                for (int e = 0; e < 8; ++e) z[e] = z[e] * rs * wf[e];
                store16(out + c, pack16(z));
            }
        }
        return;
    }
    float ss = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        float z = __half2float(x[c]);
        if (FUSED) { z = round_half(z + __half2float(residual[c])); residual[c] = __float2half_rn(z); }
        ss += z * z;
    }
    const float rs = rsqrtf(block_sum(ss) / cols + eps);
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float z = FUSED ? __half2float(residual[c]) : __half2float(x[c]);  // each thread re-reads what it wrote
        out[c] = __float2half_rn(z * rs * __half2float(w[c]));
    }
}

extern "C" __global__ void rms_norm_f16(__half* __restrict__ out, const __half* __restrict__ x,
                                        const __half* __restrict__ w, int cols, float eps) {
    const size_t row = blockIdx.x;
    rms_row<false>(out + row * cols, x + row * cols, nullptr, w, cols, eps);
}

// In place, like vLLM: x becomes the normalised output, residual becomes x + residual.
extern "C" __global__ void fused_add_rms_norm_f16(__half* __restrict__ x, __half* __restrict__ residual,
                                                  const __half* __restrict__ w, int cols, float eps) {
    const size_t row = blockIdx.x;
    rms_row<true>(x + row * cols, x + row * cols, residual + row * cols, w, cols, eps);
}

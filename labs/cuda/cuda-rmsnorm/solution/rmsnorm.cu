// RMSNorm over the last dimension, fp16 in and out, fp32 arithmetic:
//   rms_norm:           out = x / sqrt(mean(x^2) + eps) * w
//   fused_add_rms_norm: z = x + residual (rounded to fp16); residual = z; x = rms_norm(z) * w
// Semantics follow vLLM 0.33.0's csrc/layernorm_kernels.cu (`rms_norm`,
// `fused_add_rms_norm`, the latter in place). One block per row; the fast
// path keeps the row in registers so x (and residual) are read from DRAM once.
#include <cuda_fp16.h>

#define MAX_VEC 4

__device__ __forceinline__ void load16(const __half* p, float (&f)[8]) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const __half2* h = reinterpret_cast<const __half2*>(&v);
    #pragma unroll
    for (int i = 0; i < 4; ++i) { const float2 t = __half22float2(h[i]); f[2 * i] = t.x; f[2 * i + 1] = t.y; }
}
__device__ __forceinline__ void store16(__half* p, const float (&f)[8]) {
    uint4 v;
    __half2* h = reinterpret_cast<__half2*>(&v);
    #pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    *reinterpret_cast<uint4*>(p) = v;
}
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
        float v[MAX_VEC][8];
        float ss = 0.0f;
        #pragma unroll
        for (int j = 0; j < MAX_VEC; ++j) {
            const int c = (threadIdx.x + j * blockDim.x) * 8;
            if (c < cols) {
                load16(x + c, v[j]);
                if (FUSED) {
                    float r[8];
                    load16(residual + c, r);
                    #pragma unroll
                    for (int e = 0; e < 8; ++e) v[j][e] = round_half(v[j][e] + r[e]);
                    store16(residual + c, v[j]);
                }
                #pragma unroll
                for (int e = 0; e < 8; ++e) ss += v[j][e] * v[j][e];
            }
        }
        const float rs = rsqrtf(block_sum(ss) / cols + eps);
        #pragma unroll
        for (int j = 0; j < MAX_VEC; ++j) {
            const int c = (threadIdx.x + j * blockDim.x) * 8;
            if (c < cols) {
                float wf[8];
                load16(w + c, wf);
                #pragma unroll
                for (int e = 0; e < 8; ++e) v[j][e] = v[j][e] * rs * wf[e];
                store16(out + c, v[j]);
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

// W8A16 GEMV: y[b, n] = round_T( scale[n] * sum_k x[b, k] * W[n, k] ),  b < B <= 4.
//   W: int8 [N, K] row-major (one output channel per row, like nn.Linear.weight),
//   scale: fp32 [N] (per output channel), x: T [B, K], y: T [B, N], T = fp16 or bf16.
// Dequantisation happens in the epilogue: the int8 x activation products are
// accumulated in fp32 and multiplied by the channel's scale once, after the reduction.
// One warp per output row, 8 warps per block. K % 16 == 0: each lane streams
// 16 weights per 16-byte load, four loads in flight; otherwise a scalar loop.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define WARPS 8
#define UNROLL 4

__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T, int B>
__device__ void gemv_row(T* __restrict__ y, const T* __restrict__ x, const signed char* __restrict__ W,
                         const float* __restrict__ scale, int N, int K) {
    const int lane = threadIdx.x & 31;
    const int n = blockIdx.x * WARPS + (threadIdx.x >> 5);
    if (n >= N) return;  // no block-wide barrier below, so idle warps may leave
    const signed char* w = W + (size_t)n * K;
    float acc[B];
    #pragma unroll
    for (int b = 0; b < B; ++b) acc[b] = 0.0f;

    if (K % 16 == 0) {
        for (int k0 = lane * 16; k0 < K; k0 += 32 * 16 * UNROLL) {
            int4 wv[UNROLL];
            #pragma unroll
            for (int u = 0; u < UNROLL; ++u) {  // issue every load before using any
                const int k = k0 + u * 32 * 16;
                if (k < K) wv[u] = __ldcs(reinterpret_cast<const int4*>(w + k));  // streamed: read once
            }
            #pragma unroll
            for (int u = 0; u < UNROLL; ++u) {
                const int k = k0 + u * 32 * 16;
                if (k < K) {
                    const signed char* wb = reinterpret_cast<const signed char*>(&wv[u]);
                    #pragma unroll
                    for (int b = 0; b < B; ++b) {
                        alignas(16) T xv[16];
                        const uint4* xp = reinterpret_cast<const uint4*>(x + (size_t)b * K + k);
                        reinterpret_cast<uint4*>(xv)[0] = __ldg(xp);      // x is tiny and shared by all
                        reinterpret_cast<uint4*>(xv)[1] = __ldg(xp + 1);  // rows: it stays in L1/L2
                        #pragma unroll
                        for (int e = 0; e < 16; ++e) acc[b] += to_f(xv[e]) * (float)wb[e];
                    }
                }
            }
        }
    } else {
        for (int k = lane; k < K; k += 32) {
            const float wk = (float)w[k];
            #pragma unroll
            for (int b = 0; b < B; ++b) acc[b] += to_f(x[(size_t)b * K + k]) * wk;
        }
    }
    const float s = scale[n];
    #pragma unroll
    for (int b = 0; b < B; ++b) {
        const float total = warp_sum(acc[b]);
        if (lane == 0) y[(size_t)b * N + n] = from_f<T>(total * s);  // dequantise once, in the epilogue
    }
}

template <typename T>
__device__ void dispatch(T* y, const T* x, const signed char* W, const float* scale, int batch, int N, int K) {
    switch (batch) {
        case 1: gemv_row<T, 1>(y, x, W, scale, N, K); break;
        case 2: gemv_row<T, 2>(y, x, W, scale, N, K); break;
        case 3: gemv_row<T, 3>(y, x, W, scale, N, K); break;
        default: gemv_row<T, 4>(y, x, W, scale, N, K); break;
    }
}

// grid: ceil(N / 8) blocks of 256 threads; batch in 1..4.
extern "C" __global__ void int8_gemv_f16(__half* y, const __half* x, const signed char* W, const float* scale,
                                         int batch, int N, int K) {
    dispatch<__half>(y, x, W, scale, batch, N, K);
}

extern "C" __global__ void int8_gemv_bf16(__nv_bfloat16* y, const __nv_bfloat16* x, const signed char* W,
                                          const float* scale, int batch, int N, int K) {
    dispatch<__nv_bfloat16>(y, x, W, scale, batch, N, K);
}

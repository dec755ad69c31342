// Dynamic per-token FP8 (E4M3) quantisation, vLLM 0.33.0 semantics
// (csrc/quantization/w8a8/fp8/common.cu, dynamic_per_token_scaled_fp8_quant_kernel_strided):
//   amax  = max_i |x[t, i]|            (fp32)
//   amax  = min(amax, *scale_ub)       (only when scale_ub is given)
//   s     = max(amax / 448, 1 / (448 * 512))
//   scales[t] = s;  out[t, i] = e4m3(clamp(x[t, i] / s, -448, 448))
// One block per token; x may be a strided view (row stride in_stride), out is contiguous.
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#define FP8_MAX 448.0f
#define MIN_SCALE (1.0f / (448.0f * 512.0f))

__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }

__device__ __forceinline__ unsigned char to_fp8(float v) {
    v = fminf(fmaxf(v, -FP8_MAX), FP8_MAX);
    return (unsigned char)__nv_cvt_float_to_fp8(v, __NV_SATFINITE, __NV_E4M3);
}

// Max over the block, returned to every thread.
__device__ float block_max(float v) {
    __shared__ float part[32];
    __shared__ float total;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    #pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < nwarps ? part[lane] : 0.0f;
        #pragma unroll
        for (int o = 16; o > 0; o >>= 1) t = fmaxf(t, __shfl_xor_sync(0xffffffffu, t, o));
        if (lane == 0) total = t;
    }
    __syncthreads();
    return total;
}

template <typename T, int VEC>
__device__ void quant_row(unsigned char* __restrict__ out, float* __restrict__ scales, const T* __restrict__ x,
                          const float* __restrict__ scale_ub, int cols) {
    float amax = 0.0f;
    for (int c = threadIdx.x * VEC; c < cols; c += blockDim.x * VEC) {
        alignas(16) T v[VEC];
        if (VEC == 8) *reinterpret_cast<uint4*>(v) = *reinterpret_cast<const uint4*>(x + c);
        else v[0] = x[c];
        #pragma unroll
        for (int e = 0; e < VEC; ++e) amax = fmaxf(amax, fabsf(to_f(v[e])));
    }
    amax = block_max(amax);
    if (scale_ub != nullptr) amax = fminf(amax, *scale_ub);
    const float s = fmaxf(amax / FP8_MAX, MIN_SCALE);
    if (threadIdx.x == 0) scales[blockIdx.x] = s;
    // Second pass: the row was just read by this block, so it comes from L1/L2.
    for (int c = threadIdx.x * VEC; c < cols; c += blockDim.x * VEC) {
        alignas(16) T v[VEC];
        alignas(8) unsigned char q[VEC];
        if (VEC == 8) *reinterpret_cast<uint4*>(v) = *reinterpret_cast<const uint4*>(x + c);
        else v[0] = x[c];
        #pragma unroll
        for (int e = 0; e < VEC; ++e) q[e] = to_fp8(to_f(v[e]) / s);  // a true division, as vLLM
        if (VEC == 8) *reinterpret_cast<uint2*>(out + c) = *reinterpret_cast<const uint2*>(q);
        else out[c] = q[0];
    }
}

// Fast path: the row fits in registers (at most MAX_VEC 16-byte vectors per thread, kept
// packed), so it is read from DRAM once and the second pass costs nothing.
#ifndef MAX_VEC
#define MAX_VEC 4
#endif
template <typename T>
__device__ __forceinline__ void unpack8(const uint4& v, float (&f)[8]) {
    const T* e = reinterpret_cast<const T*>(&v);
    #pragma unroll
    for (int i = 0; i < 8; ++i) f[i] = to_f(e[i]);
}
template <typename T>
__device__ void quant_row_held(unsigned char* __restrict__ out, float* __restrict__ scales, const T* __restrict__ x,
                               const float* __restrict__ scale_ub, int cols) {
    uint4 raw[MAX_VEC];
    #pragma unroll
    for (int j = 0; j < MAX_VEC; ++j) {  // every load first: all in flight together
        const int c = (threadIdx.x + j * blockDim.x) * 8;
        if (c < cols) raw[j] = *reinterpret_cast<const uint4*>(x + c);
    }
    float amax = 0.0f;
    #pragma unroll
    for (int j = 0; j < MAX_VEC; ++j) {
        if ((threadIdx.x + j * blockDim.x) * 8 < cols) {
            float v[8];
            unpack8<T>(raw[j], v);
            #pragma unroll
            for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(v[e]));
        }
    }
    amax = block_max(amax);
    if (scale_ub != nullptr) amax = fminf(amax, *scale_ub);
    const float s = fmaxf(amax / FP8_MAX, MIN_SCALE);
    if (threadIdx.x == 0) scales[blockIdx.x] = s;
    #pragma unroll
    for (int j = 0; j < MAX_VEC; ++j) {
        const int c = (threadIdx.x + j * blockDim.x) * 8;
        if (c < cols) {
            float v[8];
            unpack8<T>(raw[j], v);
            uint2 q;
            unsigned char* qb = reinterpret_cast<unsigned char*>(&q);
            #pragma unroll
            for (int e = 0; e < 8; ++e) qb[e] = to_fp8(v[e] / s);  // a true division, as vLLM
            *reinterpret_cast<uint2*>(out + c) = q;
        }
    }
}

template <typename T>
__device__ void dispatch(unsigned char* out, float* scales, const T* x, long long in_stride,
                         const float* scale_ub, int cols) {
    const size_t row = blockIdx.x;
    const T* xr = x + row * (size_t)in_stride;
    unsigned char* orow = out + row * (size_t)cols;
    const bool vec = cols % 8 == 0 && in_stride % 8 == 0;
    if (vec && cols <= (int)blockDim.x * 8 * MAX_VEC) quant_row_held<T>(orow, scales, xr, scale_ub, cols);
    else if (vec) quant_row<T, 8>(orow, scales, xr, scale_ub, cols);
    else quant_row<T, 1>(orow, scales, xr, scale_ub, cols);
}

// scale_ub: a device pointer to one float, or 0 for no upper bound.
extern "C" __global__ void fp8_quant_per_token_f16(unsigned char* out, float* scales, const __half* x,
                                                   long long in_stride, const float* scale_ub, int cols) {
    dispatch<__half>(out, scales, x, in_stride, scale_ub, cols);
}

extern "C" __global__ void fp8_quant_per_token_bf16(unsigned char* out, float* scales, const __nv_bfloat16* x,
                                                    long long in_stride, const float* scale_ub, int cols) {
    dispatch<__nv_bfloat16>(out, scales, x, in_stride, scale_ub, cols);
}

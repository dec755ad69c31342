// SiLU-and-mul (SwiGLU's gate), vLLM 0.33.0 semantics (csrc/activation_kernels.cu,
// act_and_mul_kernel with silu_kernel, act_first = true):
//   input [tokens, 2d] = [gate | up];  out [tokens, d] = round_T(round_T(silu(gate)) * up)
//   silu(g) = g / (1 + exp(-g)), computed in fp32.
// One block per token. 16-byte loads and stores when d is a multiple of 8 (every
// row start is then 16-byte aligned), scalar loads otherwise.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Stable for every input: exp(-g) overflows to inf for g < -88 and g / inf = -0.
__device__ __forceinline__ float silu(float g) { return g / (1.0f + expf(-g)); }

template <typename T>
__device__ __forceinline__ T gate_times_up(T g, T u) {
    const T s = from_f<T>(silu(to_f(g)));  // the activation is rounded to T first, as vLLM's silu_kernel returns T
    return from_f<T>(to_f(s) * to_f(u));
}

template <typename T>
__device__ void silu_and_mul_row(T* __restrict__ out, const T* __restrict__ in, int d) {
    const size_t token = blockIdx.x;
    const T* gate = in + token * 2 * (size_t)d;
    const T* up = gate + d;
    T* o = out + token * (size_t)d;
    if (d % 8 == 0) {
        for (int i = threadIdx.x * 8; i < d; i += blockDim.x * 8) {
            alignas(16) T g[8], u[8], r[8];
            *reinterpret_cast<uint4*>(g) = __ldg(reinterpret_cast<const uint4*>(gate + i));
            *reinterpret_cast<uint4*>(u) = __ldg(reinterpret_cast<const uint4*>(up + i));
            #pragma unroll
            for (int e = 0; e < 8; ++e) r[e] = gate_times_up(g[e], u[e]);
            *reinterpret_cast<uint4*>(o + i) = *reinterpret_cast<const uint4*>(r);
        }
    } else {
        for (int i = threadIdx.x; i < d; i += blockDim.x) o[i] = gate_times_up(gate[i], up[i]);
    }
}

extern "C" __global__ void silu_and_mul_f16(__half* out, const __half* in, int d) {
    silu_and_mul_row<__half>(out, in, d);
}

extern "C" __global__ void silu_and_mul_bf16(__nv_bfloat16* out, const __nv_bfloat16* in, int d) {
    silu_and_mul_row<__nv_bfloat16>(out, in, d);
}

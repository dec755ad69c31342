// Rotary position embedding, in place on query and key, vLLM 0.33.0 semantics
// (csrc/pos_encoding_kernels.cu, rotary_embedding_kernel):
//   cos_sin_cache [max_position, rot_dim] = [cos(p * f_0..f_{rot/2-1}) | sin(...)], same dtype as q.
//   For token t at position p = positions[t], every head h of q (num_heads) and of k (num_kv_heads),
//   each pair (x, y) of the first rot_dim dims of the head is rotated by angle index i:
//     x' = x cos_i - y sin_i,   y' = y cos_i + x sin_i      (fp32, rounded once)
//   NeoX style pairs dims (i, i + rot_dim/2); GPT-J style pairs (2i, 2i + 1).
// q and k are strided views (token stride query_stride / key_stride, e.g. rows of a fused
// QKV tensor); heads are head_stride apart. Dims past rot_dim are left alone.
// One block per token; one thread per (head, i) pair.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

template <typename T>
__device__ __forceinline__ void rotate_pair(T* __restrict__ head, const T* __restrict__ cos_p,
                                            const T* __restrict__ sin_p, int i, int embed_dim, bool neox) {
    const int xi = neox ? i : 2 * i;
    const int yi = neox ? i + embed_dim : 2 * i + 1;
    const float c = to_f(cos_p[i]), s = to_f(sin_p[i]);
    const float x = to_f(head[xi]), y = to_f(head[yi]);
    head[xi] = from_f<T>(x * c - y * s);
    head[yi] = from_f<T>(y * c + x * s);
}

template <typename T>
__device__ void rope_token(const long long* __restrict__ positions, T* __restrict__ q, T* __restrict__ k,
                           const T* __restrict__ cache, int rot_dim, long long query_stride, long long key_stride,
                           long long head_stride, int num_heads, int num_kv_heads, bool neox) {
    const int t = blockIdx.x;
    const long long pos = positions[t];
    const int embed_dim = rot_dim / 2;
    const T* cos_p = cache + pos * rot_dim;
    const T* sin_p = cos_p + embed_dim;
    // Consecutive threads take consecutive i within a head: coalesced 2-byte accesses (NeoX),
    // or consecutive 4-byte pairs (GPT-J).
    for (int j = threadIdx.x; j < num_heads * embed_dim; j += blockDim.x) {
        const int h = j / embed_dim, i = j % embed_dim;
        rotate_pair<T>(q + t * query_stride + h * head_stride, cos_p, sin_p, i, embed_dim, neox);
    }
    for (int j = threadIdx.x; j < num_kv_heads * embed_dim; j += blockDim.x) {
        const int h = j / embed_dim, i = j % embed_dim;
        rotate_pair<T>(k + t * key_stride + h * head_stride, cos_p, sin_p, i, embed_dim, neox);
    }
}

extern "C" __global__ void rotary_embedding_f16(const long long* positions, __half* q, __half* k,
                                                const __half* cache, int rot_dim, long long query_stride,
                                                long long key_stride, long long head_stride, int num_heads,
                                                int num_kv_heads, int is_neox) {
    rope_token<__half>(positions, q, k, cache, rot_dim, query_stride, key_stride, head_stride, num_heads,
                       num_kv_heads, is_neox != 0);
}

extern "C" __global__ void rotary_embedding_bf16(const long long* positions, __nv_bfloat16* q,
                                                 __nv_bfloat16* k, const __nv_bfloat16* cache, int rot_dim,
                                                 long long query_stride, long long key_stride,
                                                 long long head_stride, int num_heads, int num_kv_heads,
                                                 int is_neox) {
    rope_token<__nv_bfloat16>(positions, q, k, cache, rot_dim, query_stride, key_stride, head_stride, num_heads,
                              num_kv_heads, is_neox != 0);
}

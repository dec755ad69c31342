// Rotary position embedding, in place on query and key, vLLM 0.33.0 semantics
// (csrc/pos_encoding_kernels.cu, rotary_embedding_kernel):
//   cos_sin_cache [max_position, rot_dim] = [cos(p * f_0..f_{rot/2-1}) | sin(...)], same dtype as q.
//   For token t at position p = positions[t], every head h of q (num_heads) and of k (num_kv_heads),
//   each pair (x, y) of the first rot_dim dims of the head is rotated by angle index i:
//     x' = x cos_i - y sin_i,   y' = y cos_i + x sin_i      (fp32, rounded once)
//   NeoX style pairs dims (i, i + rot_dim/2); GPT-J style pairs (2i, 2i + 1).
// q and k are strided views (token stride query_stride / key_stride, e.g. rows of a fused
// QKV tensor); heads are head_stride apart. Dims past rot_dim are left alone.
// One block per token; a thread rotates eight pairs with 16-byte accesses where alignment allows,
// else one pair.
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

// N elements (N * 2 bytes = 16 or 8) in one load or store.
template <int N> struct Vec;
template <> struct Vec<8> { using type = uint4; };
template <> struct Vec<4> { using type = uint2; };
template <int N, typename T>
__device__ __forceinline__ void load(const T* p, float (&f)[N]) {
    const typename Vec<N>::type v = *reinterpret_cast<const typename Vec<N>::type*>(p);
    const T* e = reinterpret_cast<const T*>(&v);
    #pragma unroll
    for (int i = 0; i < N; ++i) f[i] = to_f(e[i]);
}
template <int N, typename T>
__device__ __forceinline__ void store(T* p, const float (&f)[N]) {
    typename Vec<N>::type v;
    T* e = reinterpret_cast<T*>(&v);
    #pragma unroll
    for (int i = 0; i < N; ++i) e[i] = from_f<T>(f[i]);
    *reinterpret_cast<typename Vec<N>::type*>(p) = v;
}

// Eight pairs at once with 16-byte accesses. NeoX: x = dims i..i+7, y = the same
// eight dims half a rotation further. GPT-J: the 16 bytes at 2i hold four whole pairs.
template <typename T>
__device__ __forceinline__ void rotate_neox8(T* head, const T* cos_p, const T* sin_p, int i, int embed_dim) {
    float x[8], y[8], c[8], s[8];
    load<8>(head + i, x); load<8>(head + i + embed_dim, y);
    load<8>(cos_p + i, c); load<8>(sin_p + i, s);
    float xo[8], yo[8];
    #pragma unroll
    for (int e = 0; e < 8; ++e) { xo[e] = x[e] * c[e] - y[e] * s[e]; yo[e] = y[e] * c[e] + x[e] * s[e]; }
    store<8>(head + i, xo); store<8>(head + i + embed_dim, yo);
}
template <typename T>
__device__ __forceinline__ void rotate_gptj4(T* head, const T* cos_p, const T* sin_p, int i) {
    float v[8], c[4], s[4];
    load<8>(head + 2 * i, v); load<4>(cos_p + i, c); load<4>(sin_p + i, s);
    float o[8];
    #pragma unroll
    for (int e = 0; e < 4; ++e) {
        o[2 * e] = v[2 * e] * c[e] - v[2 * e + 1] * s[e];
        o[2 * e + 1] = v[2 * e + 1] * c[e] + v[2 * e] * s[e];
    }
    store<8>(head + 2 * i, o);
}

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<size_t>(p) & 15) == 0; }

// Rotate num_heads heads of one token: pairs `step` at a time when the vector path applies.
template <typename T>
__device__ __forceinline__ void rope_heads(T* base, long long head_stride, int num_heads, const T* cos_p,
                                           const T* sin_p, int embed_dim, bool neox, bool vec) {
    const int step = vec ? (neox ? 8 : 4) : 1;
    const int per_head = embed_dim / step;
    // Consecutive threads take consecutive pair groups within a head: coalesced accesses.
    for (int j = threadIdx.x; j < num_heads * per_head; j += blockDim.x) {
        const int h = j / per_head, i = (j % per_head) * step;
        T* head = base + h * head_stride;
        if (!vec) rotate_pair<T>(head, cos_p, sin_p, i, embed_dim, neox);
        else if (neox) rotate_neox8<T>(head, cos_p, sin_p, i, embed_dim);
        else rotate_gptj4<T>(head, cos_p, sin_p, i);
    }
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
    T* qt = q + t * query_stride;
    T* kt = k + t * key_stride;
    // 16-byte accesses need every row and head start 16-byte aligned and whole vectors per half
    // (8 pairs for NeoX, 4 for GPT-J); anything else takes the one-pair-per-thread path.
    const bool vec = embed_dim % (neox ? 8 : 4) == 0 && rot_dim % 8 == 0 && head_stride % 8 == 0 &&
                     aligned16(qt) && aligned16(kt) && aligned16(cache);
    rope_heads<T>(qt, head_stride, num_heads, cos_p, sin_p, embed_dim, neox, vec);
    rope_heads<T>(kt, head_stride, num_kv_heads, cos_p, sin_p, embed_dim, neox, vec);
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

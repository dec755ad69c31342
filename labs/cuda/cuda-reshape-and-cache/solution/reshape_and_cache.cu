// Write this step's K and V into the paged KV cache, vLLM 0.33.0 flash layout:
//   key, value:             [num_tokens, num_kv_heads, head_size]  (token stride may exceed the row)
//   key_cache, value_cache: [num_blocks, block_size, num_kv_heads, head_size]
//   slot_mapping:           [num_tokens] int64, slot = block * block_size + offset; < 0 = skip (padding)
// The same job as `reshape_and_cache_flash` in vLLM's csrc/cache_kernels.cu.
// In this layout one token's heads are contiguous in the cache, so each token
// is a straight copy of num_kv_heads * head_size halves: 16-byte loads/stores.
#include <cuda_fp16.h>

extern "C" __global__ void reshape_and_cache_flash_f16(
    const __half* __restrict__ key, const __half* __restrict__ value,
    __half* __restrict__ key_cache, __half* __restrict__ value_cache,
    const long long* __restrict__ slot_mapping,
    long long key_stride, long long value_stride,   // elements between consecutive tokens of key / value
    long long block_stride, long long page_stride,  // elements between cache blocks / tokens in a block
    int block_size, int row)                        // row = num_kv_heads * head_size
{
    const long long token = blockIdx.x;
    const long long slot = slot_mapping[token];
    if (slot < 0) return;  // a padded token: nothing to store
    const long long block = slot / block_size, offset = slot % block_size;
    const __half* k_src = key + token * key_stride;
    const __half* v_src = value + token * value_stride;
    __half* k_dst = key_cache + block * block_stride + offset * page_stride;
    __half* v_dst = value_cache + block * block_stride + offset * page_stride;
    const bool vec = ((row | key_stride | value_stride | block_stride | page_stride) & 7) == 0;
    if (vec) {
        const int n = row / 8;  // 16-byte chunks
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            const uint4 k = reinterpret_cast<const uint4*>(k_src)[i];
            const uint4 v = reinterpret_cast<const uint4*>(v_src)[i];
            reinterpret_cast<uint4*>(k_dst)[i] = k;
            reinterpret_cast<uint4*>(v_dst)[i] = v;
        }
    } else {
        for (int i = threadIdx.x; i < row; i += blockDim.x) {
            k_dst[i] = k_src[i];
            v_dst[i] = v_src[i];
        }
    }
}

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
    // TODO(you): slot -> (block, offset); skip slot < 0; copy the token's K and V rows.
}

// Sum of an fp32 vector: grid-stride loads, warp shuffles, one partial per block.
// Launched twice: N elements -> one partial per block -> one block sums the partials.
// No atomics, so the result is the same on every run (deterministic order).

__device__ __forceinline__ float warp_sum(float v) {
    // Butterfly: after 5 steps every lane holds the sum of all 32 lanes.
    #pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ float block_sum(float v) {
    __shared__ float partial[32];  // one slot per warp (at most 1024 threads)
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    const int nwarps = (blockDim.x + 31) >> 5;
    v = (threadIdx.x < nwarps) ? partial[threadIdx.x] : 0.0f;
    if (warp == 0) v = warp_sum(v);
    return v;  // valid in thread 0
}

extern "C" __global__ void reduce_sum_f32(const float* __restrict__ in, float* __restrict__ out, long long n) {
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long stride = (long long)gridDim.x * blockDim.x;
    float acc0 = 0.0f, acc1 = 0.0f;
    const bool aligned = (reinterpret_cast<unsigned long long>(in) & 15) == 0;
    const long long n4 = aligned ? n / 4 : 0;
    const float4* in4 = reinterpret_cast<const float4*>(in);
    long long i = tid;
    // Four independent 16-byte loads in flight per thread before any add.
    for (; i + 3 * stride < n4; i += 4 * stride) {
        const float4 a = in4[i], b = in4[i + stride], c = in4[i + 2 * stride], d = in4[i + 3 * stride];
        acc0 += (a.x + a.y) + (a.z + a.w) + (b.x + b.y) + (b.z + b.w);
        acc1 += (c.x + c.y) + (c.z + c.w) + (d.x + d.y) + (d.z + d.w);
    }
    for (; i < n4; i += stride) {
        const float4 a = in4[i];
        acc0 += (a.x + a.y) + (a.z + a.w);
    }
    for (long long j = n4 * 4 + tid; j < n; j += stride) acc1 += in[j];  // tail (or unaligned input)
    const float total = block_sum(acc0 + acc1);
    if (threadIdx.x == 0) out[blockIdx.x] = total;
}

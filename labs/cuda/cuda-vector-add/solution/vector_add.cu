// c = a + b over fp32 vectors.
// Memory-bound: 12 bytes move per 1 FLOP, so the only goal is to keep the
// memory system busy. Each thread moves one 16-byte float4 from each input
// (one LDG.128 per array), consecutive threads touch consecutive 16-byte
// chunks, so a warp reads 512 contiguous bytes per instruction.

extern "C" __global__ void vector_add_f32(const float* __restrict__ a,
                                          const float* __restrict__ b,
                                          float* __restrict__ c,
                                          long long n) {
    const long long i4 = (long long)blockIdx.x * blockDim.x + threadIdx.x;  // which float4
    const long long base = i4 * 4;
    if (base + 3 < n) {
        const float4 x = reinterpret_cast<const float4*>(a)[i4];
        const float4 y = reinterpret_cast<const float4*>(b)[i4];
        reinterpret_cast<float4*>(c)[i4] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
    } else {
        // The last thread finishes the 1-3 elements that do not fill a float4.
        for (long long i = base; i < n; ++i) c[i] = a[i] + b[i];
    }
}

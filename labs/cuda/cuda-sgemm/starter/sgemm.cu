// C = A @ B in fp32 on the CUDA cores (no tensor cores, no TF32).
// A is M x K, B is K x N, C is M x N, all row-major.
//
// Each block computes a 128 x 128 tile of C with 256 threads; each thread
// owns an 8 x 8 sub-tile held in 64 registers. Per step of BK = 8 along K,
// the block stages a 128 x 8 slice of A (stored transposed, so a thread reads
// its 8 A values as two float4) and an 8 x 128 slice of B in shared memory.
// Every value read from shared memory feeds 8 FMAs. Two shared buffers and a
// register prefetch overlap the next slice's global loads with this slice's
// math, leaving one __syncthreads per step.

#define BM 128
#define BN 128
#define BK 8
#define PAD 4  // As rows padded: the transposed store then hits 32 distinct banks

extern "C" __global__ void __launch_bounds__(256, 2)
sgemm_f32(const float* __restrict__ A, const float* __restrict__ B, float* __restrict__ C, int M, int N, int K) {
    // TODO(you): C = A @ B with a BM x BN tile per block, 8 x 8 outputs per thread,
    // A and B slices of depth BK in shared memory (see the README and the hints).
}

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
    __shared__ __align__(16) float As[2][BK][BM + PAD];
    __shared__ __align__(16) float Bs[2][BK][BN];

    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;       // this thread's 8 x 8 outputs: rows ty*4 (+64), cols tx*4 (+64)
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int a_row = tid / 2, a_col = (tid % 2) * 4;    // which float4 of the A slice this thread loads
    const int b_row = tid / 32, b_col = (tid % 32) * 4;  // which float4 of the B slice
    const bool vec_ok = (K % 4 == 0) && (N % 4 == 0);    // rows start 16-byte aligned

    float4 a_reg, b_reg;
    auto load_slices = [&](int k0) {
        const int ar = bm + a_row, ac = k0 + a_col;
        if (vec_ok && ar < M && ac + 3 < K) {
            a_reg = *reinterpret_cast<const float4*>(A + (size_t)ar * K + ac);
        } else {  // edge of the matrix: zero fill what lies outside
            const bool r_in = ar < M;
            a_reg.x = (r_in && ac + 0 < K) ? A[(size_t)ar * K + ac + 0] : 0.0f;
            a_reg.y = (r_in && ac + 1 < K) ? A[(size_t)ar * K + ac + 1] : 0.0f;
            a_reg.z = (r_in && ac + 2 < K) ? A[(size_t)ar * K + ac + 2] : 0.0f;
            a_reg.w = (r_in && ac + 3 < K) ? A[(size_t)ar * K + ac + 3] : 0.0f;
        }
        const int br = k0 + b_row, bc = bn + b_col;
        if (vec_ok && br < K && bc + 3 < N) {
            b_reg = *reinterpret_cast<const float4*>(B + (size_t)br * N + bc);
        } else {
            const bool r_in = br < K;
            b_reg.x = (r_in && bc + 0 < N) ? B[(size_t)br * N + bc + 0] : 0.0f;
            b_reg.y = (r_in && bc + 1 < N) ? B[(size_t)br * N + bc + 1] : 0.0f;
            b_reg.z = (r_in && bc + 2 < N) ? B[(size_t)br * N + bc + 2] : 0.0f;
            b_reg.w = (r_in && bc + 3 < N) ? B[(size_t)br * N + bc + 3] : 0.0f;
        }
    };
    auto store_slices = [&](int s) {
        As[s][a_col + 0][a_row] = a_reg.x;
        As[s][a_col + 1][a_row] = a_reg.y;
        As[s][a_col + 2][a_row] = a_reg.z;
        As[s][a_col + 3][a_row] = a_reg.w;
        *reinterpret_cast<float4*>(&Bs[s][b_row][b_col]) = b_reg;
    };

    float acc[8][8];
    #pragma unroll
    for (int i = 0; i < 8; ++i)
        #pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    const int steps = (K + BK - 1) / BK;
    load_slices(0);
    store_slices(0);
    __syncthreads();
    for (int t = 0; t < steps; ++t) {
        const int cur = t & 1;
        if (t + 1 < steps) load_slices((t + 1) * BK);  // in flight while we compute
        #pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][k][ty * 4]);
            const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][k][ty * 4 + 64]);
            const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][k][tx * 4]);
            const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][k][tx * 4 + 64]);
            const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
            #pragma unroll
            for (int i = 0; i < 8; ++i)
                #pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        // The other buffer was last read in step t-1, which ended with a barrier.
        if (t + 1 < steps) store_slices(cur ^ 1);
        __syncthreads();
    }

    #pragma unroll
    for (int i = 0; i < 8; ++i) {
        const int r = bm + ty * 4 + (i % 4) + (i / 4) * 64;
        if (r >= M) continue;
        #pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int c = bn + tx * 4 + h * 64;
            float* dst = C + (size_t)r * N + c;
            if (vec_ok && c + 3 < N) {
                *reinterpret_cast<float4*>(dst) = make_float4(acc[i][h * 4], acc[i][h * 4 + 1], acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
            } else {
                #pragma unroll
                for (int j = 0; j < 4; ++j)
                    if (c + j < N) dst[j] = acc[i][h * 4 + j];
            }
        }
    }
}

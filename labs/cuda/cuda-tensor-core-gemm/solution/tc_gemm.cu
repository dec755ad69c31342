// Tensor-core GEMM, C = A B^T, fp16 or bf16 in, fp32 accumulate, fp16/bf16 out:
//   A [M, K] row-major, B [N, K] row-major (nn.Linear's weight layout: "TN"), C [M, N] row-major.
// mma.sync.m16n8k16 (Ampere/Hopper warp-level tensor-core instruction), ldmatrix from
// XOR-swizzled shared memory, a 3-stage cp.async pipeline. Block tile 128x128x32, 8 warps,
// each warp 64x32 of C. M and N are arbitrary (zero-filled loads, guarded stores); K must be
// a multiple of 8 (16-byte rows chunks), any multiple, not only of the 32-wide K tile.
#include <cuda_fp16.h>
#include <cuda_bf16.h>

#define BM 128
#define BN 128
#define BK 32
#define STAGES 3
#define THREADS 256

__device__ __forceinline__ unsigned smem_u32(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// 16-byte async copy; src_bytes = 0 writes zeros (out-of-range rows and K chunks).
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(smem_u32(p)));
}

template <typename T> struct Mma;
template <> struct Mma<__half> {
    static __device__ __forceinline__ void run(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ __half cvt(float v) { return __float2half_rn(v); }
};
template <> struct Mma<__nv_bfloat16> {
    static __device__ __forceinline__ void run(float (&d)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
    static __device__ __forceinline__ __nv_bfloat16 cvt(float v) { return __float2bfloat16_rn(v); }
};

// A tile row holds BK = 32 elements = 64 bytes = four 16-byte chunks. ldmatrix reads one chunk
// from 8 consecutive rows; unswizzled, rows r and r + 2 share banks (4-way conflict). XOR the
// chunk with bits 1-2 of the row: the 8 rows then hit 8 different 16-byte bank groups.
__device__ __forceinline__ int swz(int row, int chunk) { return row * BK + ((chunk ^ ((row >> 1) & 3)) << 3); }

template <typename T>
__device__ __forceinline__ void load_tile(T* sA, T* sB, const T* A, const T* B, int M, int N, int K,
                                          int bm, int bn, int k0) {
    #pragma unroll
    for (int i = 0; i < 2; ++i) {  // 128 rows x 4 chunks = 512 chunks per operand, 2 per thread
        const int c = threadIdx.x + i * THREADS;
        const int row = c >> 2, chunk = c & 3;
        const int k = k0 + chunk * 8;
        const bool kin = k < K;  // K % 8 == 0: a chunk is entirely inside or entirely outside
        const int am = bm + row, bnr = bn + row;
        const T* pa = (am < M && kin) ? A + (size_t)am * K + k : A;
        const T* pb = (bnr < N && kin) ? B + (size_t)bnr * K + k : B;
        cp_async16(sA + swz(row, chunk), pa, (am < M && kin) ? 16 : 0);
        cp_async16(sB + swz(row, chunk), pb, (bnr < N && kin) ? 16 : 0);
    }
}

template <typename T>
__device__ void gemm(T* __restrict__ C, const T* __restrict__ A, const T* __restrict__ B, int M, int N, int K) {
    __shared__ __align__(128) T sA[STAGES][BM * BK];
    __shared__ __align__(128) T sB[STAGES][BN * BK];
    const int bm = blockIdx.y * BM, bn = blockIdx.x * BN;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int wm = (warp >> 2) * 64, wn = (warp & 3) * 32;  // 2 x 4 warps, 64 x 32 each
    const int ktiles = (K + BK - 1) / BK;

    float acc[4][4][4];  // [m16 tile][n8 tile][fragment]
    #pragma unroll
    for (int i = 0; i < 4; ++i)
        #pragma unroll
        for (int j = 0; j < 4; ++j)
            #pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

    #pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ktiles) load_tile(sA[s], sB[s], A, B, M, N, K, bm, bn, s * BK);
        cp_async_commit();
    }

    for (int kt = 0; kt < ktiles; ++kt) {
        cp_async_wait<STAGES - 2>();  // tile kt has landed (for this thread's copies) ...
        __syncthreads();              // ... and for everyone's; the stage refilled below is free
        const int next = kt + STAGES - 1;
        if (next < ktiles) load_tile(sA[next % STAGES], sB[next % STAGES], A, B, M, N, K, bm, bn, next * BK);
        cp_async_commit();

        const T* a = sA[kt % STAGES];
        const T* b = sB[kt % STAGES];
        #pragma unroll
        for (int kk = 0; kk < BK / 16; ++kk) {
            unsigned af[4][4], bf[4][2];
            #pragma unroll
            for (int i = 0; i < 4; ++i) {  // A: rows wm + 16i + (lane & 15), k half (lane >> 4)
                const int row = wm + i * 16 + (lane & 15);
                ldmatrix_x4(af[i], a + swz(row, kk * 2 + (lane >> 4)));
            }
            #pragma unroll
            for (int j = 0; j < 4; j += 2) {  // B: two n8 tiles per ldmatrix.x4
                const int row = wn + j * 8 + (lane & 7) + ((lane >> 4) << 3);
                unsigned r[4];
                ldmatrix_x4(r, b + swz(row, kk * 2 + ((lane >> 3) & 1)));
                bf[j][0] = r[0]; bf[j][1] = r[1]; bf[j + 1][0] = r[2]; bf[j + 1][1] = r[3];
            }
            #pragma unroll
            for (int i = 0; i < 4; ++i)
                #pragma unroll
                for (int j = 0; j < 4; ++j) Mma<T>::run(acc[i][j], af[i], bf[j][0], bf[j][1]);
        }
    }
    cp_async_wait<0>();

    // Epilogue: fragment e of tile (i, j) is row g (+8 for e >= 2), columns 2q, 2q + 1.
    const int g = lane >> 2, q = lane & 3;
    #pragma unroll
    for (int i = 0; i < 4; ++i)
        #pragma unroll
        for (int j = 0; j < 4; ++j)
            #pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = bm + wm + i * 16 + g + h * 8;
                const int col = bn + wn + j * 8 + 2 * q;
                if (row >= M) continue;
                T* c = C + (size_t)row * N + col;
                if (col + 1 < N && (N & 1) == 0) {
                    T pair[2] = {Mma<T>::cvt(acc[i][j][2 * h]), Mma<T>::cvt(acc[i][j][2 * h + 1])};
                    *reinterpret_cast<unsigned*>(c) = *reinterpret_cast<const unsigned*>(pair);
                } else {
                    if (col < N) c[0] = Mma<T>::cvt(acc[i][j][2 * h]);
                    if (col + 1 < N) c[1] = Mma<T>::cvt(acc[i][j][2 * h + 1]);
                }
            }
}

// grid (ceil(N / 128), ceil(M / 128)), 256 threads.
extern "C" __global__ void __launch_bounds__(THREADS) tc_gemm_f16(__half* C, const __half* A, const __half* B,
                                                                  int M, int N, int K) {
    gemm<__half>(C, A, B, M, N, K);
}

extern "C" __global__ void __launch_bounds__(THREADS) tc_gemm_bf16(__nv_bfloat16* C, const __nv_bfloat16* A,
                                                                   const __nv_bfloat16* B, int M, int N, int K) {
    gemm<__nv_bfloat16>(C, A, B, M, N, K);
}

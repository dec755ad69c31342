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
    // TODO(you): shared tiles sA/sB [STAGES][128 * 32]; warp w owns rows (w >> 2) * 64 and
    // columns (w & 3) * 32 of the block's 128 x 128 tile: float acc[4][4][4] (m16 x n8 tiles).
    // Prologue: load_tile for the first STAGES - 1 K tiles, one cp_async_commit each.
    // Main loop: cp_async_wait<STAGES - 2>, __syncthreads, refill the stage freed last step,
    // commit; then for each k16 step ldmatrix_x4 the A fragments (row = lane & 15, chunk
    // half = lane >> 4) and B fragments (n = lane & 7 + 8 * (lane >> 4), chunk half =
    // (lane >> 3) & 1), through swz(), and Mma<T>::run for the 4 x 4 tiles.
    // Epilogue: fragment e of a tile is row lane/4 (+8 for e >= 2), columns 2*(lane%4) + {0, 1};
    // guard row < M and col < N.
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

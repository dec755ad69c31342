// out[c][r] = in[r][c] for an fp32 matrix of rows x cols.
// A naive transpose reads rows (coalesced) but writes columns (32 separate
// 32-byte sectors per warp). Staging a 32x32 tile in shared memory makes both
// the global read and the global write row-wise. The tile row is padded to 33
// floats so that reading a tile *column* hits 32 different banks.

#define TILE 32
#define BLOCK_ROWS 8  // 32 x 8 threads; each thread moves TILE / BLOCK_ROWS = 4 elements

extern "C" __global__ void transpose_f32(const float* __restrict__ in, float* __restrict__ out,
                                         int rows, int cols) {
    __shared__ float tile[TILE][TILE + 1];
    const int c = blockIdx.x * TILE + threadIdx.x;  // input column
    const int r0 = blockIdx.y * TILE + threadIdx.y;
    #pragma unroll
    for (int k = 0; k < TILE; k += BLOCK_ROWS) {
        const int r = r0 + k;
        if (r < rows && c < cols) tile[threadIdx.y + k][threadIdx.x] = in[(size_t)r * cols + c];
    }
    __syncthreads();
    const int oc = blockIdx.y * TILE + threadIdx.x;  // output column = input row
    const int or0 = blockIdx.x * TILE + threadIdx.y;  // output row = input column
    #pragma unroll
    for (int k = 0; k < TILE; k += BLOCK_ROWS) {
        const int orow = or0 + k;
        if (orow < cols && oc < rows) out[(size_t)orow * rows + oc] = tile[threadIdx.x][threadIdx.y + k];
    }
}

// out[c][r] = in[r][c] for an fp32 matrix of rows x cols.
// A naive transpose reads rows (coalesced) but writes columns (32 separate
// 32-byte sectors per warp). Staging a 32x32 tile in shared memory makes both
// the global read and the global write row-wise. The tile row is padded to 33
// floats so that reading a tile *column* hits 32 different banks.

#define TILE 32
#define BLOCK_ROWS 8  // 32 x 8 threads; each thread moves TILE / BLOCK_ROWS = 4 elements

extern "C" __global__ void transpose_f32(const float* __restrict__ in, float* __restrict__ out,
                                         int rows, int cols) {
    // TODO(you): stage a TILE x TILE tile in shared memory (padded), write it transposed.
}

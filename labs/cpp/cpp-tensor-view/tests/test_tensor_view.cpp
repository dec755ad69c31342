// Tests for tensor_view.hpp, under AddressSanitizer + UBSan.
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "tensor_view.hpp"
#include "vtest.hpp"

using Dims = TensorView::Dims;

namespace {
std::vector<float> iota(std::size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}
}  // namespace

VTEST(contiguous_layout) {
  auto buf = iota(24);
  TensorView t(buf.data(), {2, 3, 4});
  VCHECK(t.strides() == (Dims{12, 4, 1}));
  VCHECK_EQ(t.numel(), 24);
  VCHECK(t.is_contiguous());
  VCHECK_EQ(t.at({1, 2, 3}), 23.0f);
  VCHECK_EQ(t.at({1, 0, 2}), 14.0f);
  VCHECK_THROWS(t.at({2, 0, 0}), std::out_of_range);
  VCHECK_THROWS(t.at({0, 0}), std::out_of_range);
}

VTEST(size_one_dims_do_not_break_contiguity) {
  auto buf = iota(12);
  TensorView t(buf.data(), {1, 3, 1, 4}, {999, 4, 7, 1}, 0);  // size-1 dims: any stride
  VCHECK_MSG(t.is_contiguous(), "dimensions of size 1 are never stepped over; their strides do not matter");
  TensorView u(buf.data(), {3, 4}, {1, 3}, 0);
  VCHECK(!u.is_contiguous());
  VCHECK(t.view({12}).strides() == (Dims{1}));
}

VTEST(narrow_moves_the_offset_not_the_data) {
  auto buf = iota(24);
  TensorView t(buf.data(), {2, 3, 4});
  auto rows = t.narrow(1, 1, 2);  // [:, 1:3, :]
  VCHECK(rows.shape() == (Dims{2, 2, 4}));
  VCHECK(rows.strides() == (Dims{12, 4, 1}));
  VCHECK_EQ(rows.offset(), 4);
  VCHECK(!rows.is_contiguous());
  VCHECK_EQ(rows.at({1, 1, 3}), 23.0f);
  auto cols = t.narrow(-1, 2, 2);  // [..., 2:4]
  VCHECK_EQ(cols.offset(), 2);
  VCHECK_EQ(cols.at({1, 2, 0}), 22.0f);
  VCHECK(t.narrow(0, 1, 1).is_contiguous());
  VCHECK_THROWS(t.narrow(2, 3, 2), std::out_of_range);
}

VTEST(permute_and_transpose_swap_strides) {
  auto buf = iota(24);
  TensorView t(buf.data(), {2, 3, 4});
  auto p = t.permute({2, 0, 1});
  VCHECK(p.shape() == (Dims{4, 2, 3}));
  VCHECK(p.strides() == (Dims{1, 12, 4}));
  VCHECK(!p.is_contiguous());
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) VCHECK_EQ(p.at({k, i, j}), t.at({i, j, k}));
  auto tt = t.transpose(-1, -2);
  VCHECK(tt.shape() == (Dims{2, 4, 3}));
  VCHECK_EQ(tt.at({1, 3, 2}), t.at({1, 2, 3}));
  VCHECK_THROWS(t.permute({0, 0, 1}), std::invalid_argument);
  VCHECK_THROWS(t.permute({0, 1}), std::invalid_argument);
}

VTEST(view_of_contiguous) {
  auto buf = iota(24);
  TensorView t(buf.data(), {2, 3, 4});
  auto v = t.view({6, 4});
  VCHECK(v.strides() == (Dims{4, 1}));
  VCHECK_EQ(v.at({5, 3}), 23.0f);
  VCHECK(t.view({-1}).shape() == (Dims{24}));
  VCHECK(t.view({4, -1, 2}).shape() == (Dims{4, 3, 2}));
  VCHECK(t.view({1, 24, 1}).is_contiguous());
  VCHECK_THROWS(t.view({5, -1}), std::invalid_argument);
  VCHECK_THROWS(t.view({-1, -1}), std::invalid_argument);
  VCHECK_THROWS(t.view({7, 4}), std::invalid_argument);
}

VTEST(view_refuses_what_needs_a_copy) {
  auto buf = iota(6);
  TensorView t(buf.data(), {2, 3});
  VCHECK_THROWS(t.transpose(0, 1).view({6}), std::invalid_argument);
  auto buf2 = iota(24);
  TensorView u(buf2.data(), {2, 3, 4});
  auto p = u.permute({1, 0, 2});  // shape {3, 2, 4}, strides {4, 12, 1}
  VCHECK_THROWS(p.view({3, 8}), std::invalid_argument);
}

VTEST(view_splits_inside_a_contiguous_chunk) {
  auto buf = iota(24);
  TensorView u(buf.data(), {2, 3, 4});
  auto p = u.permute({1, 0, 2});     // {3, 2, 4} strides {4, 12, 1}
  auto v = p.view({3, 2, 2, 2});     // splits only the last (contiguous) dim
  VCHECK(v.strides() == (Dims{4, 12, 2, 1}));
  VCHECK_EQ(v.at({2, 1, 1, 1}), p.at({2, 1, 3}));
  auto w = u.narrow(2, 0, 2).view({2, 3, 2, 1});
  VCHECK(w.strides() == (Dims{12, 4, 1, 1}));
}

VTEST(key_slice_of_fused_qkv_as_reshape_and_cache_sees_it) {
  // qkv = x @ W_qkv: [tokens, (q_heads + 2 * kv_heads) * head_size], row-major.
  // key = qkv[:, q:q+kv].view(tokens, kv_heads, head_size): no copy, stride(0)
  // is the whole qkv row, which is why the kernel takes key.stride(0).
  const std::int64_t tokens = 5, q_heads = 4, kv_heads = 2, head = 8;
  const std::int64_t row = (q_heads + 2 * kv_heads) * head;  // 64
  auto buf = iota(static_cast<std::size_t>(tokens * row));
  TensorView qkv(buf.data(), {tokens, row});
  auto key = qkv.narrow(1, q_heads * head, kv_heads * head).view({tokens, kv_heads, head});
  VCHECK(key.strides() == (Dims{row, head, 1}));
  VCHECK_EQ(key.offset(), q_heads * head);
  VCHECK(!key.is_contiguous());
  for (std::int64_t t = 0; t < tokens; ++t)
    for (std::int64_t h = 0; h < kv_heads; ++h)
      for (std::int64_t d = 0; d < head; ++d)
        VCHECK_EQ(key.at({t, h, d}), static_cast<float>(t * row + q_heads * head + h * head + d));
}

VTEST(offsets_are_64_bit) {
  // 70000 x 70000 floats is 19.6 GB: never allocated here, only indexed.
  TensorView big(nullptr, {70000, 70000});
  VCHECK_EQ(big.element_offset({69999, 69999}), std::int64_t{69999} * 70000 + 69999);
  auto col = big.narrow(1, 69000, 1000).transpose(0, 1);
  VCHECK_EQ(col.element_offset({999, 69999}), std::int64_t{69999} * 70000 + 69999);
}

// TODO: is_contiguous, permute, narrow and view_strides (see README.md); the
// constructors, indexing and -1 inference are done.
//
// tensor_view.hpp: a non-owning strided view of float data, the way PyTorch
// (and every kernel that takes a torch tensor) sees memory: a pointer, an
// element offset, a shape and a stride per dimension. view, permute, narrow
// and transpose make new views of the same memory; none of them copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

class TensorView {
 public:
  using Dims = std::vector<std::int64_t>;

  // A contiguous (row-major) view of `shape` starting at data.
  TensorView(float* data, Dims shape) : TensorView(data, shape, contiguous_strides(shape), 0) {}

  TensorView(float* data, Dims shape, Dims strides, std::int64_t offset)
      : data_(data), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset) {
    if (shape_.size() != strides_.size()) throw std::invalid_argument("shape and strides differ in length");
    for (auto s : shape_)
      if (s < 0) throw std::invalid_argument("negative size");
  }

  static Dims contiguous_strides(const Dims& shape) {
    Dims strides(shape.size());
    std::int64_t step = 1;
    for (std::size_t d = shape.size(); d-- > 0;) {
      strides[d] = step;
      step *= shape[d] > 1 ? shape[d] : 1;
    }
    return strides;
  }

  std::int64_t dim() const { return static_cast<std::int64_t>(shape_.size()); }
  const Dims& shape() const { return shape_; }
  const Dims& strides() const { return strides_; }
  std::int64_t offset() const { return offset_; }
  std::int64_t size(std::int64_t d) const { return shape_[axis(d)]; }
  std::int64_t stride(std::int64_t d) const { return strides_[axis(d)]; }
  float* data() const { return data_; }

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (auto s : shape_) n *= s;
    return n;
  }

  // PyTorch's rule: row-major strides, where dimensions of size 1 may have
  // any stride (they are never stepped over). Empty tensors are contiguous.
  bool is_contiguous() const {
    return false;  // TODO
  }

  // Element offset (from data) of an index; bounds-checked.
  std::int64_t element_offset(std::initializer_list<std::int64_t> index) const {
    if (index.size() != shape_.size()) throw std::out_of_range("wrong number of indices");
    std::int64_t at = offset_;
    std::size_t d = 0;
    for (auto i : index) {
      if (i < 0 || i >= shape_[d]) throw std::out_of_range("index out of range");
      at += i * strides_[d];
      ++d;
    }
    return at;
  }
  float& at(std::initializer_list<std::int64_t> index) const { return data_[element_offset(index)]; }

  // Dimensions reordered: new dimension k is old dimension dims[k].
  TensorView permute(const std::vector<int>& dims) const {
    (void)dims;
    return *this;  // TODO
  }

  TensorView transpose(int a, int b) const {
    std::vector<int> dims(shape_.size());
    for (std::size_t k = 0; k < dims.size(); ++k) dims[k] = static_cast<int>(k);
    std::swap(dims[axis(a)], dims[axis(b)]);
    return permute(dims);
  }

  // Elements [start, start + length) of dimension d: same strides, a later offset.
  TensorView narrow(int d, std::int64_t start, std::int64_t length) const {
    (void)d, (void)start, (void)length;
    return *this;  // TODO
  }

  // The same elements in a new shape (one entry may be -1), without copying.
  // Possible exactly when every group of old dimensions that the new shape
  // splits or merges is itself laid out contiguously; otherwise
  // std::invalid_argument (PyTorch: "use .reshape(...) instead").
  TensorView view(Dims shape) const {
    infer_size(shape);
    auto strides = view_strides(shape);
    if (!strides) throw std::invalid_argument("view is not possible without a copy for these strides");
    return TensorView(data_, shape, *strides, offset_);
  }

 private:
  std::size_t axis(std::int64_t d) const {
    const std::int64_t n = dim();
    if (d < -n || d >= n) throw std::out_of_range("dimension out of range");
    return static_cast<std::size_t>(d < 0 ? d + n : d);
  }

  void infer_size(Dims& shape) const {
    std::int64_t known = 1, infer = -1;
    for (std::size_t k = 0; k < shape.size(); ++k) {
      if (shape[k] == -1) {
        if (infer >= 0) throw std::invalid_argument("only one dimension can be -1");
        infer = static_cast<std::int64_t>(k);
      } else if (shape[k] < 0) {
        throw std::invalid_argument("negative size");
      } else {
        known *= shape[k];
      }
    }
    const std::int64_t n = numel();
    if (infer >= 0) {
      if (known == 0 || n % known != 0) throw std::invalid_argument("shape does not match the number of elements");
      shape[static_cast<std::size_t>(infer)] = n / known;
    } else if (known != n) {
      throw std::invalid_argument("shape does not match the number of elements");
    }
  }

  // Walk the old dimensions from the last, in chunks whose dimensions are
  // contiguous with each other; each chunk must be covered exactly by a run of
  // new dimensions, which then get strides inside the chunk.
  std::optional<Dims> view_strides(const Dims& shape) const {
    (void)shape;
    return std::nullopt;  // TODO
  }

  float* data_;
  Dims shape_;
  Dims strides_;
  std::int64_t offset_;
};

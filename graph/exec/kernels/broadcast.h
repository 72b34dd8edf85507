// Numpy-style broadcasting of N inputs to one output, with dimensions collapsed so the inner
// loop runs over the longest contiguous stretch (same-shape inputs collapse to one dimension;
// a per-channel [1,C,1,1] operand becomes a stride-0 inner loop).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/shape.h"
#include "graph/status.h"

namespace ptqflow::exec::kernels {

class Broadcaster {
 public:
  // Error text says which shapes are incompatible.
  static Result<Broadcaster> Make(const std::vector<graph::Shape>& shapes, graph::Shape* out);

  int64_t inner() const { return dims_.back(); }
  int64_t rows() const { return rows_; }
  // Stride of input i along the inner dimension (0 or 1 after collapsing... or larger).
  int64_t inner_stride(size_t i) const { return strides_[i].back(); }
  // Element offsets of the first element of `row` in every input.
  void RowOffsets(int64_t row, int64_t* offs) const;
  size_t num_inputs() const { return strides_.size(); }

 private:
  std::vector<int64_t> dims_;
  std::vector<std::vector<int64_t>> strides_;
  int64_t rows_ = 1;
};

}  // namespace ptqflow::exec::kernels

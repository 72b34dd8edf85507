// Static and partially dynamic shapes. A dimension of kDynamicDim is unknown; a PartialShape
// may also have unknown rank.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "graph/status.h"

namespace ptqflow::graph {

using Shape = std::vector<int64_t>;  // fully static
inline constexpr int64_t kDynamicDim = -1;

int64_t ElementCount(const Shape& s);       // 1 for a scalar
std::string ShapeToString(const Shape& s);  // "[1,3,224,224]"

class PartialShape {
 public:
  PartialShape() : rank_known_(false) {}                                   // dynamic rank
  PartialShape(Shape dims) : rank_known_(true), dims_(std::move(dims)) {}  // NOLINT
  PartialShape(std::initializer_list<int64_t> dims) : rank_known_(true), dims_(dims) {}
  static PartialShape DynamicRank() { return PartialShape(); }
  static PartialShape DynamicOfRank(size_t rank) { return PartialShape(Shape(rank, kDynamicDim)); }

  bool rank_known() const { return rank_known_; }
  size_t rank() const { return dims_.size(); }  // meaningful only if rank_known()
  bool is_static() const;
  const Shape& dims() const { return dims_; }
  Shape& mutable_dims() { return dims_; }
  int64_t operator[](size_t i) const { return dims_[i]; }
  // The static shape; CHECK-fails if not static.
  const Shape& to_shape() const;

  // "[1,3,?,320]" or "[...]" for dynamic rank.
  std::string ToString() const;
  // True if `s` fits this shape (same rank, equal where this dim is static).
  bool Accepts(const Shape& s) const;

  bool operator==(const PartialShape& o) const {
    return rank_known_ == o.rank_known_ && dims_ == o.dims_;
  }
  bool operator!=(const PartialShape& o) const { return !(*this == o); }

 private:
  bool rank_known_;
  Shape dims_;
};

// Numpy-style broadcast of two partial shapes; error if incompatible.
Result<PartialShape> BroadcastShapes(const PartialShape& a, const PartialShape& b);

}  // namespace ptqflow::graph

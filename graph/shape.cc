#include "graph/shape.h"

#include <glog/logging.h>

#include <algorithm>

namespace ptqflow::graph {

int64_t ElementCount(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string ShapeToString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += s[i] == kDynamicDim ? "?" : std::to_string(s[i]);
  }
  return out + "]";
}

bool PartialShape::is_static() const {
  return rank_known_ &&
         std::none_of(dims_.begin(), dims_.end(), [](int64_t d) { return d == kDynamicDim; });
}

const Shape& PartialShape::to_shape() const {
  CHECK(is_static()) << "shape " << ToString() << " is not static";
  return dims_;
}

std::string PartialShape::ToString() const {
  return rank_known_ ? ShapeToString(dims_) : std::string("[...]");
}

bool PartialShape::Accepts(const Shape& s) const {
  if (!rank_known_) return true;
  if (s.size() != dims_.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (dims_[i] != kDynamicDim && dims_[i] != s[i]) return false;
  }
  return true;
}

Result<PartialShape> BroadcastShapes(const PartialShape& a, const PartialShape& b) {
  if (!a.rank_known() || !b.rank_known()) return PartialShape::DynamicRank();
  const size_t r = std::max(a.rank(), b.rank());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.rank() ? 1 : a[i - (r - a.rank())];
    const int64_t db = i < r - b.rank() ? 1 : b[i - (r - b.rank())];
    if (da == db) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (db == 1) {
      out[i] = da;
    } else if (da == kDynamicDim) {
      out[i] = db;
    } else if (db == kDynamicDim) {
      out[i] = da;
    } else {
      return Status::Error("shapes " + a.ToString() + " and " + b.ToString() +
                           " cannot be broadcast");
    }
  }
  return PartialShape(out);
}

}  // namespace ptqflow::graph

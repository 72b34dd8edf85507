#include "graph/exec/kernels/broadcast.h"

#include <algorithm>

namespace ptqflow::exec::kernels {

Result<Broadcaster> Broadcaster::Make(const std::vector<graph::Shape>& shapes, graph::Shape* out) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  graph::Shape o(rank, 1);
  for (const auto& s : shapes) {
    size_t off = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t d = s[i];
      if (d == o[off + i] || d == 1) continue;
      if (o[off + i] == 1) {
        o[off + i] = d;
        continue;
      }
      std::string text;
      for (const auto& t : shapes) text += (text.empty() ? "" : " and ") + graph::ShapeToString(t);
      return Status::Error("shapes " + text + " are not broadcastable");
    }
  }
  Broadcaster b;
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides(shapes.size());
  // Full-rank strides per input (0 where broadcast), then drop size-1 output dims.
  std::vector<std::vector<int64_t>> full(shapes.size(), std::vector<int64_t>(rank, 0));
  for (size_t k = 0; k < shapes.size(); ++k) {
    const auto& s = shapes[k];
    size_t off = rank - s.size();
    int64_t st = 1;
    for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
      full[k][off + i] = (s[i] == 1) ? 0 : st;
      st *= s[i];
    }
  }
  for (size_t i = 0; i < rank; ++i) {
    if (o[i] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < shapes.size() && merge; ++k) {
      merge = strides[k].back() == full[k][i] * o[i];
    }
    if (merge) {
      dims.back() *= o[i];
      for (size_t k = 0; k < shapes.size(); ++k) strides[k].back() = full[k][i];
    } else {
      dims.push_back(o[i]);
      for (size_t k = 0; k < shapes.size(); ++k) strides[k].push_back(full[k][i]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& s : strides) s.push_back(0);
  }
  // Zero-size outputs: one empty row keeps loops trivial.
  b.dims_ = dims;
  b.strides_ = strides;
  b.rows_ = 1;
  for (size_t i = 0; i + 1 < dims.size(); ++i) b.rows_ *= dims[i];
  *out = o;
  return b;
}

void Broadcaster::RowOffsets(int64_t row, int64_t* offs) const {
  for (size_t k = 0; k < strides_.size(); ++k) offs[k] = 0;
  for (int i = static_cast<int>(dims_.size()) - 2; i >= 0 && row > 0; --i) {
    int64_t idx = row % dims_[i];
    row /= dims_[i];
    for (size_t k = 0; k < strides_.size(); ++k) offs[k] += idx * strides_[k][i];
  }
}

}  // namespace ptqflow::exec::kernels

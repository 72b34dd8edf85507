// Small builders for the stages tests: a tiny graph with a dynamic batch dimension and an
// in-memory dataset whose values are a closed-form function of (sample, element), so expected
// statistics can be computed by a plain loop in the test.
#pragma once

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/tensor.h"
#include "io/data/dataset.h"

namespace ptqflow::stages::testing {

// x[?,2,3] -> Relu -> Multiply(scale[1,2,1] = {1, -3}) -> Add(0.25) -> Result "out".
struct TinyModel {
  graph::Graph g;
  graph::NodeId x, relu, mul, add;
};

inline TinyModel MakeTinyModel() {
  TinyModel m;
  m.x = m.g.AddParameter("x", graph::ElementType::kF32,
                         graph::PartialShape({graph::kDynamicDim, 2, 3}));
  graph::NodeId scale = m.g.AddConst(
      "scale", graph::Tensor::FromVector<float>(graph::ElementType::kF32, {1, 2, 1}, {1.f, -3.f}));
  graph::NodeId quarter = m.g.AddConst("quarter", graph::Tensor::Scalar(0.25f));
  m.relu = m.g.AddOp("Relu", "relu", {{m.x, 0}});
  m.mul = m.g.AddOp("Multiply", "mul", {{m.relu, 0}, {scale, 0}});
  m.add = m.g.AddOp("Add", "add", {{m.mul, 0}, {quarter, 0}});
  m.g.AddResult("out", {m.add, 0});
  return m;
}

// Element e (0..5, layout [2,3]) of batch row r of sample s.
inline float TinyValue(size_t s, int64_t r, int64_t e) {
  return static_cast<float>(std::sin(0.7 * static_cast<double>(s) + 1.3 * static_cast<double>(e) +
                                     0.1 * static_cast<double>(r)) *
                            (1.0 + 0.1 * static_cast<double>(s % 7)));
}

// Sample s is a [batch(s),2,3] f32 tensor of TinyValue under input name "" (the only input);
// samples listed in `bad` fail with "sample <s>: broken on purpose". Samples whose index is a
// multiple of 5 have batch 2, the others batch 1. Thread-safe (immutable).
class TinyDataset : public io::Dataset {
 public:
  explicit TinyDataset(size_t n, std::set<size_t> bad = {}) : n_(n), bad_(std::move(bad)) {}
  static int64_t Batch(size_t s) { return s % 5 == 0 ? 2 : 1; }
  size_t size() const override { return n_; }
  Result<io::Sample> Get(size_t i) const override {
    if (i >= n_) return Status::Error("sample " + std::to_string(i) + ": out of range");
    if (bad_.count(i)) return Status::Error("sample " + std::to_string(i) + ": broken on purpose");
    const int64_t b = Batch(i);
    std::vector<float> v;
    for (int64_t r = 0; r < b; ++r) {
      for (int64_t e = 0; e < 6; ++e) v.push_back(TinyValue(i, r, e));
    }
    io::Sample s;
    s.inputs[""] = graph::Tensor::FromVector(graph::ElementType::kF32, {b, 2, 3}, v);
    s.source = "tiny#" + std::to_string(i);
    return s;
  }

 private:
  size_t n_;
  std::set<size_t> bad_;
};

}  // namespace ptqflow::stages::testing

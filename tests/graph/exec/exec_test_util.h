// Helpers for executor tests: one-op graphs, seeded random tensors, comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "graph/graph.h"

namespace ptqflow::exec::testing {

inline std::vector<float> RandomFloats(int64_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

inline graph::Tensor F32(const graph::Shape& s, const std::vector<float>& v) {
  return graph::Tensor::FromVector<float>(graph::ElementType::kF32, s, v);
}
inline graph::Tensor I64(const graph::Shape& s, const std::vector<int64_t>& v) {
  return graph::Tensor::FromVector<int64_t>(graph::ElementType::kI64, s, v);
}

// One op fed by Parameters "in0", "in1", ... (for non-constant inputs) or Consts.
struct OpInput {
  graph::Tensor value;
  bool constant = false;
};

struct OneOp {
  graph::Graph g;
  std::map<std::string, graph::Tensor> feeds;
  graph::NodeId op = graph::kNoNode;
};

inline OneOp BuildOneOp(const std::string& type, const std::vector<OpInput>& inputs,
                        graph::Attributes attrs = {}, int num_outputs = 1,
                        const std::string& version = "") {
  OneOp o;
  std::vector<graph::ValueRef> refs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string name = "in" + std::to_string(i);
    graph::NodeId id;
    if (inputs[i].constant) {
      id = o.g.AddConst(name, inputs[i].value);
    } else {
      id = o.g.AddParameter(name, inputs[i].value.type(),
                            graph::PartialShape(inputs[i].value.shape()));
      o.feeds[name] = inputs[i].value;
    }
    refs.push_back({id, 0});
  }
  o.op = o.g.AddOp(type, "op", refs, attrs, num_outputs, version);
  for (int k = 0; k < num_outputs; ++k) {
    o.g.node(o.op).outputs[k].names = {"out" + std::to_string(k)};
    o.g.AddResult("result" + std::to_string(k), {o.op, k});
  }
  return o;
}

// Compiles and runs; outputs keyed "out0", "out1", ...
inline Status RunOneOp(OneOp& o, std::map<std::string, graph::Tensor>* outs,
                       CompileOptions opts = {}) {
  auto plan = CompiledModel::Compile(o.g, opts);
  if (!plan.ok()) return plan.status();
  Session s(*plan);
  return s.Run(o.feeds, outs);
}

// Max |a-b| and max |b|.
inline void ExpectClose(const graph::Tensor& got, const std::vector<double>& want,
                        double rel = 1e-5, double abs_floor = 0) {
  ASSERT_EQ(got.size(), static_cast<int64_t>(want.size()));
  std::vector<double> g = got.ToDoubles();
  double max_ref = 0, max_err = 0;
  size_t worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(want[i]));
    double e = std::abs(g[i] - want[i]);
    if (e > max_err || std::isnan(g[i])) {
      max_err = std::isnan(g[i]) ? INFINITY : e;
      worst = i;
    }
  }
  EXPECT_LE(max_err, rel * max_ref + abs_floor)
      << "worst element " << worst << ": got " << g[worst] << " want " << want[worst]
      << " (max |ref| " << max_ref << ")";
}

}  // namespace ptqflow::exec::testing

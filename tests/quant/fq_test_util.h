// Test helpers for the algorithm tests: insert a FakeQuantize by hand the way placement does
// (placeholder zero limits of the right shape, final levels) and describe it in a
// QuantizationPlan; tiny tensor builders.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "graph/ops/shape_inference.h"
#include "quant/quantization_plan.h"

namespace ptqflow::quant::testing {

inline graph::Tensor F32(graph::Shape shape, std::vector<float> v) {
  return graph::Tensor::FromVector(graph::ElementType::kF32, std::move(shape), v);
}

inline QuantConfig Config(QuantMode mode, Granularity gr, int bits = 8) {
  QuantConfig c;
  c.bits = bits;
  c.mode = mode;
  c.granularity = gr;
  return c;
}

// Inserts FQ `name` on `value`, feeding the given (consumer, port) inputs; limits of
// `limit_shape`. Appends its FqInfo to `plan` and returns its index there.
inline int InsertFq(graph::Graph* g, QuantizationPlan* plan, graph::ValueRef value,
                    std::vector<std::pair<graph::NodeId, int>> consumers, const std::string& name,
                    TensorRole role, QuantConfig config, graph::Shape limit_shape,
                    int channel_axis = 0) {
  const bool weights = role == TensorRole::kWeights;
  LevelsInfo levels =
      ComputeLevels(config.bits, config.mode, weights, config.level_low, config.level_high);
  std::vector<graph::ValueRef> inputs = {value};
  const char* suffix[4] = {"/il", "/ih", "/ol", "/oh"};
  const int64_t count = graph::ElementCount(limit_shape);
  for (int k = 0; k < 4; ++k) {
    graph::NodeId c = g->AddConst(
        name + suffix[k], F32(limit_shape, std::vector<float>(static_cast<size_t>(count), 0.0f)));
    inputs.push_back({c, 0});
  }
  graph::Attributes attrs;
  attrs.SetInt("levels", levels.levels);
  attrs.Set("auto_broadcast", "numpy");
  graph::NodeId fq = g->AddOp("FakeQuantize", name, inputs, attrs, 1, "opset1");
  for (const auto& [op, port] : consumers)
    g->node(op).inputs[static_cast<size_t>(port)].source = {fq, 0};
  FqInfo info;
  info.fq = fq;
  info.input = value;
  info.role = role;
  info.config = config;
  info.levels = levels;
  info.channel_axis = channel_axis;
  info.consumers = std::move(consumers);
  plan->fqs.push_back(info);
  return static_cast<int>(plan->fqs.size()) - 1;
}

inline void InferOrDie(graph::Graph* g) {
  Status st = graph::ops::InferShapes(*g);
  ASSERT_TRUE(st.ok()) << st.message();
}

}  // namespace ptqflow::quant::testing

// Per-layer SQNR on a tiny hand-built model whose quantization error is computed by hand.
//
//   FP32:       x[?,4] -> Multiply(2) "mul" -> Add(1) "add" -> Result
//   quantized:  x[?,4] -> FakeQuantize(0, 3, 0, 3, levels 4) -> Multiply(2) -> Add(1) -> Result
//
// The FQ grid is {0, 1, 2, 3}: values below 0 go to 0, above 3 to 3, others to the nearest
// integer.
//   sample 0: x = [0.4, 1, 2.6, 3]  -> [0, 1, 3, 3]
//     mul: FP32 [0.8, 2, 5.2, 6], quantized [0, 2, 6, 6]: Σref² = 67.68, Σerr² = 1.28
//     add: FP32 [1.8, 3, 6.2, 7] (same errors):           Σref² = 99.68
//   sample 1: x = [-1, 0.6, 1.4, 5] -> [0, 1, 1, 3]
//     mul: FP32 [-2, 1.2, 2.8, 10], quantized [0, 2, 2, 6]: Σref² = 113.28, Σerr² = 21.28
//     add: FP32 [-1, 2.2, 3.8, 11]:                         Σref² = 141.28
//   both samples: mul 10·log10(180.96 / 22.56) = 9.0424 dB, add 10·log10(240.96 / 22.56).
#include "stages/layer_sqnr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "graph/ops/shape_inference.h"

namespace ptqflow::stages {
namespace {

using graph::ElementType;
using graph::Tensor;

struct Models {
  graph::Graph fp32, quantized;
  graph::NodeId mul = graph::kNoNode, add = graph::kNoNode, fq = graph::kNoNode;
};

Models MakeModels() {
  Models m;
  graph::Graph& g = m.fp32;
  const graph::NodeId x =
      g.AddParameter("x", ElementType::kF32, graph::PartialShape({graph::kDynamicDim, 4}));
  const graph::NodeId two = g.AddConst("two", Tensor::Scalar(2.f));
  const graph::NodeId one = g.AddConst("one", Tensor::Scalar(1.f));
  m.mul = g.AddOp("Multiply", "mul", {{x, 0}, {two, 0}});
  m.add = g.AddOp("Add", "add", {{m.mul, 0}, {one, 0}});
  g.AddResult("out", {m.add, 0});
  EXPECT_TRUE(graph::ops::InferShapes(g).ok());

  // The quantized model: a copy with nodes only added (ids of mul and add are unchanged).
  m.quantized = m.fp32;
  graph::Graph& q = m.quantized;
  const graph::NodeId lo = q.AddConst("fq/lo", Tensor::Scalar(0.f));
  const graph::NodeId hi = q.AddConst("fq/hi", Tensor::Scalar(3.f));
  graph::Attributes a;
  a.SetInt("levels", 4);
  a.Set("auto_broadcast", "numpy");
  m.fq =
      q.AddOp("FakeQuantize", "fq", {{x, 0}, {lo, 0}, {hi, 0}, {lo, 0}, {hi, 0}}, a, 1, "opset1");
  q.node(m.mul).inputs[0].source = {m.fq, 0};
  EXPECT_TRUE(graph::ops::InferShapes(q).ok());
  return m;
}

class TwoSamples : public io::Dataset {
 public:
  size_t size() const override { return 2; }
  Result<io::Sample> Get(size_t i) const override {
    if (i >= 2) return Status::Error("sample " + std::to_string(i) + ": out of range");
    static const std::vector<float> kValues[2] = {{0.4f, 1.f, 2.6f, 3.f}, {-1.f, 0.6f, 1.4f, 5.f}};
    io::Sample s;
    s.inputs[""] = Tensor::FromVector(ElementType::kF32, {1, 4}, kValues[i]);
    s.source = "two#" + std::to_string(i);
    return s;
  }
};

TEST(LayerSqnrTest, MatchesHandComputedSqnrOverSamples) {
  Models m = MakeModels();
  TwoSamples data;
  const std::vector<graph::NodeId> layers = {m.mul, m.add};
  const std::vector<size_t> samples = {0, 1};
  LayerSqnrOptions o;
  o.after_bias_add = false;
  auto r = ComputeLayerSqnr(m.fp32, m.quantized, layers, data, samples, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "mul");
  EXPECT_EQ((*r)[0].type, "Multiply");
  EXPECT_NEAR((*r)[0].signal, 180.96, 1e-4);
  EXPECT_NEAR((*r)[0].noise, 22.56, 1e-4);
  EXPECT_NEAR((*r)[0].sqnr_db, 9.0424, 1e-3);
  EXPECT_EQ((*r)[1].name, "add");
  EXPECT_NEAR((*r)[1].signal, 240.96, 1e-4);
  EXPECT_NEAR((*r)[1].noise, 22.56, 1e-4);
  EXPECT_NEAR((*r)[1].sqnr_db, 10.0 * std::log10(240.96 / 22.56), 1e-3);
}

TEST(LayerSqnrTest, UsesOnlyTheGivenSamples) {
  Models m = MakeModels();
  TwoSamples data;
  const std::vector<graph::NodeId> layers = {m.mul};
  const std::vector<size_t> samples = {1};
  LayerSqnrOptions o;
  o.after_bias_add = false;
  auto r = ComputeLayerSqnr(m.fp32, m.quantized, layers, data, samples, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_NEAR((*r)[0].signal, 113.28, 1e-4);
  EXPECT_NEAR((*r)[0].noise, 21.28, 1e-4);
  EXPECT_NEAR((*r)[0].sqnr_db, 10.0 * std::log10(113.28 / 21.28), 1e-3);
}

// "add" is an Add with a Const that alone reads mul's output: by default mul is measured there.
TEST(LayerSqnrTest, MeasuresAfterTheBiasAddByDefault) {
  Models m = MakeModels();
  TwoSamples data;
  const std::vector<graph::NodeId> layers = {m.mul};
  const std::vector<size_t> samples = {0, 1};
  auto r = ComputeLayerSqnr(m.fp32, m.quantized, layers, data, samples);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)[0].name, "mul");
  EXPECT_EQ((*r)[0].value, (graph::ValueRef{m.add, 0}));
  EXPECT_EQ((*r)[0].measured, "add");
  EXPECT_NEAR((*r)[0].signal, 240.96, 1e-4);
  EXPECT_NEAR((*r)[0].noise, 22.56, 1e-4);
}

TEST(LayerSqnrTest, IdenticalModelsGiveInfinity) {
  Models m = MakeModels();
  TwoSamples data;
  const std::vector<graph::NodeId> layers = {m.mul, m.add};
  const std::vector<size_t> samples = {0, 1};
  auto r = ComputeLayerSqnr(m.fp32, m.fp32, layers, data, samples);
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const LayerSqnr& l : *r) {
    EXPECT_TRUE(std::isinf(l.sqnr_db) && l.sqnr_db > 0) << l.name << " " << l.sqnr_db;
    EXPECT_EQ(l.noise, 0.0);
  }
}

TEST(LayerSqnrTest, ErrorsNameTheLayerOrSample) {
  Models m = MakeModels();
  TwoSamples data;
  // The FQ exists only in the quantized model.
  const std::vector<graph::NodeId> fq = {m.fq};
  const std::vector<size_t> samples = {0};
  auto r = ComputeLayerSqnr(m.fp32, m.quantized, fq, data, samples);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'fq'"), std::string::npos) << r.status().message();
  // A sample the dataset cannot give.
  const std::vector<graph::NodeId> mul = {m.mul};
  const std::vector<size_t> bad = {7};
  r = ComputeLayerSqnr(m.fp32, m.quantized, mul, data, bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("sample 7"), std::string::npos) << r.status().message();
}

TEST(LayerSqnrTest, QuantizedLayersAreTheFqConsumersOnce) {
  quant::QuantizationPlan plan;
  quant::FqInfo a, b;
  a.consumers = {{5, 0}, {9, 1}};
  b.consumers = {{5, 1}, {3, 0}};
  plan.fqs = {a, b};
  EXPECT_EQ(QuantizedLayers(plan), (std::vector<graph::NodeId>{5, 9, 3}));
}

}  // namespace
}  // namespace ptqflow::stages

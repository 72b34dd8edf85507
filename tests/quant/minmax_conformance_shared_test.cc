// MinMaxQuantization against POT's own reference FQ ranges (../shared/conformance/pot/
// matmul_3_in_cat and matmul_3_in_agnostic; tools/pot/tests/test_scales.py upstream).
//
// The FakeQuantize layers are placed by hand where the case READMEs say POT's placement puts
// them (after propagation through agnostic ops and merging), with the README's configuration:
// preset performance on CPU (weights symmetric per channel, levels 255; activations symmetric
// per tensor, levels 256), default range estimator, one calibration sample, per-axis-0
// statistics. The unified-scales group is the one the README names. Each FQ's input_low and
// input_high are compared with reference/<case>.json within |a - r| <= 2e-5 + 1e-6*|r| (the
// upstream test asserts abs < 2e-5); output limits must equal the input limits (no
// Convolution, so no saturation fix).
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "graph/graph.h"
#include "io/data/npy.h"
#include "io/hardware_config_reader.h"
#include "io/json.h"
#include "io/model/model_io.h"
#include "quant/minmax.h"
#include "quant/placement.h"
#include "tests/quant/fq_test_util.h"
#include "tests/quant/loop_engine.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

using graph::NodeId;
using testing::Config;
using testing::InsertFq;

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

NodeId ByName(const graph::Graph& g, const std::string& name) {
  NodeId id = g.FindByName(name);
  if (id == graph::kNoNode) {
    for (NodeId n : g.LiveNodes()) {
      if (g.node(n).onnx_node == name) return n;
    }
  }
  return id;
}

struct Case {
  std::filesystem::path dir;
  graph::Graph g;
  std::vector<std::map<std::string, graph::Tensor>> samples;
};

Case LoadCase(const std::string& name) {
  Case c;
  c.dir = ptqflow::testing::SharedDir() / "conformance" / "pot" / name;
  auto g = io::ReadModel(c.dir / "model" / (name + ".onnx"));
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (g.ok()) c.g = std::move(*g);
  auto manifest = io::ParseJson(ReadText(c.dir / "inputs" / "inputs.json"), "inputs.json");
  EXPECT_TRUE(manifest.ok()) << manifest.status().message();
  std::map<std::string, graph::Tensor> sample;
  if (manifest.ok()) {
    for (const io::JsonValue& in : manifest->Find("inputs")->items()) {
      auto t = io::ReadNpy(c.dir / "inputs" / in.Find("file")->str());
      EXPECT_TRUE(t.ok()) << t.status().message();
      if (t.ok()) sample[in.Find("name")->str()] = *t;
    }
  }
  EXPECT_EQ(sample.size(), 3u);
  c.samples.push_back(sample);
  return c;
}

// MO names the MatMul producing a graph output after the output tensor ("6", "25"); ptqflow
// keeps the ONNX node name. `mo_names` maps the reference prefix to ours.
void CompareWithReference(const Case& c, const std::string& name, const QuantizationPlan& plan,
                          const std::map<std::string, std::string>& mo_names = {}) {
  auto ref = io::ParseJson(ReadText(c.dir / "reference" / (name + ".json")), name);
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  ASSERT_EQ(ref->members().size(), plan.fqs.size());
  double max_err = 0;
  for (const auto& [ref_name, expected] : ref->members()) {
    std::string fq_name = ref_name;
    const size_t slash = fq_name.find('/');
    auto mapped = mo_names.find(fq_name.substr(0, slash));
    if (mapped != mo_names.end()) fq_name = mapped->second + fq_name.substr(slash);
    NodeId fq = c.g.FindByName(fq_name);
    ASSERT_NE(fq, graph::kNoNode) << fq_name;
    auto got = ReadFqLimits(c.g, fq);
    ASSERT_TRUE(got.ok()) << got.status().message();
    const auto& mins = expected.Find("min")->items();
    const auto& maxs = expected.Find("max")->items();
    ASSERT_EQ(got->input_low.size(), mins.size()) << fq_name;
    ASSERT_EQ(got->input_high.size(), maxs.size()) << fq_name;
    for (size_t i = 0; i < mins.size(); ++i) {
      const double rl = mins[i].number(), rh = maxs[i].number();
      EXPECT_LE(std::abs(got->input_low[i] - rl), 2e-5 + 1e-6 * std::abs(rl))
          << fq_name << "[" << i << "]";
      EXPECT_LE(std::abs(got->input_high[i] - rh), 2e-5 + 1e-6 * std::abs(rh))
          << fq_name << "[" << i << "]";
      max_err =
          std::max({max_err, std::abs(got->input_low[i] - rl), std::abs(got->input_high[i] - rh)});
      EXPECT_EQ(got->output_low[i], got->input_low[i]) << fq_name;
      EXPECT_EQ(got->output_high[i], got->input_high[i]) << fq_name;
    }
    const int idx = plan.Find(fq);
    EXPECT_EQ(got->levels,
              plan.fqs[static_cast<size_t>(idx)].role == TensorRole::kWeights ? 255 : 256);
  }
  std::cout << name << ": max abs error vs POT reference = " << max_err << "\n";
}

MinMaxOptions CpuOptions() {
  MinMaxOptions o;
  o.target_device = "CPU";
  return o;
}

TEST(MinMaxConformance, Matmul3InCat) {
  Case c = LoadCase("matmul_3_in_cat");
  graph::Graph& g = c.g;
  const NodeId concat = ByName(g, "Concat_0");
  const NodeId matmul = ByName(g, "MatMul_3");
  ASSERT_NE(concat, graph::kNoNode);
  ASSERT_NE(matmul, graph::kNoNode);
  QuantizationPlan plan;
  const QuantConfig act = Config(QuantMode::kSymmetric, Granularity::kPerTensor);
  const QuantConfig wts = Config(QuantMode::kSymmetric, Granularity::kPerChannel);
  std::vector<int> group;
  for (int k = 0; k < 3; ++k) {
    graph::ValueRef in = g.node(concat).input(static_cast<size_t>(k));
    group.push_back(InsertFq(&g, &plan, in, {{concat, k}}, "Concat_0/fq_input_" + std::to_string(k),
                             TensorRole::kActivations, act, {}, 1));
  }
  // MatMul weights [5,2] (transpose_b false): output channels on the last axis.
  graph::ValueRef w = g.node(matmul).input(1);
  ASSERT_TRUE(g.node(w.node).is_const());
  ASSERT_EQ(g.node(w.node).constant.shape(), (graph::Shape{5, 2}));
  InsertFq(&g, &plan, w, {{matmul, 1}}, "6/fq_weights_1", TensorRole::kWeights, wts, {1, 2}, 1);
  plan.unified_groups.push_back(group);
  testing::InferOrDie(&g);

  testing::LoopEngine engine(c.samples);
  auto fitted = MinMaxQuantization(CpuOptions()).Run(&g, plan, &engine);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  EXPECT_EQ(engine.collect_calls(), 1);
  CompareWithReference(c, "matmul_3_in_cat", plan);
}

TEST(MinMaxConformance, Matmul3InAgnostic) {
  Case c = LoadCase("matmul_3_in_agnostic");
  graph::Graph& g = c.g;
  const NodeId concat3 = ByName(g, "Concat_3");
  const NodeId transpose0 = ByName(g, "Transpose_0");
  const NodeId slice14 = ByName(g, "Slice_14");
  const NodeId transpose8 = ByName(g, "Transpose_8");
  const NodeId matmul17 = ByName(g, "MatMul_17");
  for (NodeId n : {concat3, transpose0, slice14, transpose8, matmul17}) {
    ASSERT_NE(n, graph::kNoNode);
  }
  QuantizationPlan plan;
  const QuantConfig act = Config(QuantMode::kSymmetric, Granularity::kPerTensor);
  const QuantConfig wts = Config(QuantMode::kSymmetric, Granularity::kPerChannel);
  std::vector<int> group;
  group.push_back(InsertFq(&g, &plan, g.node(concat3).input(0), {{concat3, 0}},
                           "Concat_3/fq_input_0", TensorRole::kActivations, act, {}, 1));
  group.push_back(InsertFq(&g, &plan, g.node(concat3).input(1), {{concat3, 1}},
                           "Concat_3/fq_input_1", TensorRole::kActivations, act, {}, 1));
  // x2 feeds Transpose_0 and Slice_14: one merged FQ.
  ASSERT_EQ(g.node(transpose0).input(0), g.node(slice14).input(0));
  group.push_back(InsertFq(&g, &plan, g.node(slice14).input(0), {{transpose0, 0}, {slice14, 0}},
                           "Slice_14/fq_input_0", TensorRole::kActivations, act, {}, 1));
  group.push_back(InsertFq(&g, &plan, g.node(transpose8).input(0), {{transpose8, 0}},
                           "Transpose_8/fq_input_0", TensorRole::kActivations, act, {}, 1));
  graph::ValueRef w = g.node(matmul17).input(1);
  ASSERT_TRUE(g.node(w.node).is_const());
  ASSERT_EQ(g.node(w.node).constant.shape(), (graph::Shape{12, 5}));
  InsertFq(&g, &plan, w, {{matmul17, 1}}, "25/fq_weights_1", TensorRole::kWeights, wts, {1, 5}, 1);
  plan.unified_groups.push_back(group);
  testing::InferOrDie(&g);

  testing::LoopEngine engine(c.samples);
  auto fitted = MinMaxQuantization(CpuOptions()).Run(&g, plan, &engine);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  CompareWithReference(c, "matmul_3_in_agnostic", plan);

  // Before unification (derived/per_fq_before_unify.json, computed for the pack).
  auto derived = io::ParseJson(ReadText(c.dir / "derived" / "per_fq_before_unify.json"), "derived");
  ASSERT_TRUE(derived.ok());
  const io::JsonValue* before = derived->Find("per_fq_before_unify");
  ASSERT_NE(before, nullptr);
  for (const auto& [fq_name, range] : before->members()) {
    const int idx = plan.Find(g.FindByName(fq_name));
    ASSERT_GE(idx, 0) << fq_name;
    const FqParams& p = (*fitted)[static_cast<size_t>(idx)].before_unify;
    const double rl = range.items()[0].number(), rh = range.items()[1].number();
    EXPECT_LE(std::abs(p.input_low[0] - rl), 2e-5 + 1e-6 * std::abs(rl)) << fq_name;
    EXPECT_LE(std::abs(p.input_high[0] - rh), 2e-5 + 1e-6 * std::abs(rh)) << fq_name;
  }
}

// The same cases end to end: ptqflow's own FQ placement (quant/placement.h, cpu.json,
// preset performance) followed by MinMaxQuantization.
void PlaceAndFit(const std::string& name, const std::map<std::string, std::string>& mo_names) {
  Case c = LoadCase(name);
  auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto hw = FlattenHardwareConfig(*spec, "CPU");
  ASSERT_TRUE(hw.ok()) << hw.status().message();
  PlacementOptions po;
  po.hardware = &*hw;
  auto plan = PlaceFakeQuantize(&c.g, po);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  testing::LoopEngine engine(c.samples);
  auto fitted = MinMaxQuantization(CpuOptions()).Run(&c.g, *plan, &engine);
  ASSERT_TRUE(fitted.ok()) << fitted.status().message();
  CompareWithReference(c, name, *plan, mo_names);
}

TEST(MinMaxConformance, Matmul3InCatWithPlacement) {
  PlaceAndFit("matmul_3_in_cat", {{"6", "MatMul_3"}});
}

TEST(MinMaxConformance, Matmul3InAgnosticWithPlacement) {
  PlaceAndFit("matmul_3_in_agnostic", {{"25", "MatMul_17"}});
}

}  // namespace
}  // namespace ptqflow::quant

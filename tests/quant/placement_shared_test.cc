// Placement conformance against ../shared/conformance/pot (POT's own references, read as the
// case READMEs describe them) and placement on the two Fashion-MNIST models in ../shared/models.
//
//  * first_convs: the exact set of first-convolution names from expected_first_convs.json (IR
//    names: the ONNX importer names a biased Conv "<node>/WithoutBiases", as Model Optimizer).
//  * matmul_3_in_cat / matmul_3_in_agnostic: which tensors get FQs, their names, levels and the
//    unification group, from the reference JSON keys and the README tables. Model Optimizer
//    names the op producing a graph output after the output tensor (MatMul_3 -> "6",
//    MatMul_17 -> "25", README "Model"); ptqflow keeps ONNX node names, so the weights FQ names
//    are mapped back with that table. The range values are the range-fitting algorithm's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/ops/shape_inference.h"
#include "io/hardware_config_reader.h"
#include "io/json.h"
#include "io/onnx/onnx_importer.h"
#include "quant/placement.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

namespace fs = std::filesystem;
using graph::Graph;

const HardwareConfig& Cpu() {
  static const HardwareConfig hw = [] {
    auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
    EXPECT_TRUE(spec.ok()) << spec.status().message();
    auto h = FlattenHardwareConfig(*spec, "CPU");
    EXPECT_TRUE(h.ok()) << h.status().message();
    return *h;
  }();
  return hw;
}

fs::path PotDir() { return testing::SharedDir() / "conformance" / "pot"; }

std::vector<std::string> StringList(const io::JsonValue& v) {
  std::vector<std::string> out;
  for (const io::JsonValue& e : v.items()) out.push_back(e.str());
  return out;
}

TEST(FirstConvsConformanceTest, ExactNamesFromExpectedFirstConvsJson) {
  auto root = io::ReadJsonFile(PotDir() / "first_convs" / "expected_first_convs.json");
  ASSERT_TRUE(root.ok()) << root.status().message();
  const io::JsonValue* models = root->Find("models");
  ASSERT_NE(models, nullptr);
  int checked = 0;
  for (const auto& [name, m] : models->members()) {
    SCOPED_TRACE(name);
    auto g = io::ImportOnnx(PotDir() / "first_convs" / m.Find("file")->str());
    ASSERT_TRUE(g.ok()) << g.status().message();
    std::vector<std::string> expected = StringList(*m.Find("expected_first_convs_ir_names"));
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(FindFirstConvolutions(*g), expected);

    // After placement the weights FQs of exactly those convolutions are the saturation-fix
    // candidates.
    PlacementOptions o;
    o.hardware = &Cpu();
    auto plan = PlaceFakeQuantize(&*g, o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    std::vector<std::string> cands;
    for (const FqInfo& f : plan->fqs) {
      if (f.saturation_fix_candidate) cands.push_back(g->node(f.consumers.at(0).first).name);
    }
    std::sort(cands.begin(), cands.end());
    EXPECT_EQ(cands, expected);
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

// Places FQs on a matmul_unify_scales model and checks names, roles, levels, the single
// unification group of every activation FQ, against the reference file's keys.
void CheckMatMulCase(const std::string& case_name,
                     const std::map<std::string, std::string>& mo_to_onnx,
                     const std::map<std::string, std::string>& fq_tensor) {
  const fs::path dir = PotDir() / case_name;
  auto g = io::ImportOnnx(dir / "model" / (case_name + ".onnx"));
  ASSERT_TRUE(g.ok()) << g.status().message();
  auto ref = io::ReadJsonFile(dir / "reference" / (case_name + ".json"));
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  std::set<std::string> expected_names, expected_act;
  for (const auto& [key, v] : ref->members()) {
    std::string name = key;
    const size_t slash = name.find('/');
    auto it = mo_to_onnx.find(name.substr(0, slash));
    if (it != mo_to_onnx.end()) name = it->second + name.substr(slash);
    expected_names.insert(name);
    if (name.find("/fq_input_") != std::string::npos) expected_act.insert(name);
  }
  PlacementOptions o;
  o.hardware = &Cpu();
  auto plan = PlaceFakeQuantize(&*g, o);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_TRUE(g->Validate().ok());
  ASSERT_TRUE(graph::ops::InferShapes(*g).ok());
  std::set<std::string> names, act;
  for (const FqInfo& f : plan->fqs) {
    const std::string n = g->node(f.fq).name;
    names.insert(n);
    if (f.role == TensorRole::kActivations) {
      act.insert(n);
      EXPECT_EQ(f.levels.levels, 256) << n;
      EXPECT_EQ(f.config.granularity, Granularity::kPerTensor) << n;
      // The tensor the FQ quantizes (README tables).
      auto t = fq_tensor.find(n);
      ASSERT_NE(t, fq_tensor.end()) << n;
      const auto& names_of = g->output(f.input).names;
      EXPECT_NE(std::find(names_of.begin(), names_of.end(), t->second), names_of.end())
          << n << " should quantize " << t->second;
    } else {
      EXPECT_EQ(f.levels.levels, 255) << n;
      EXPECT_EQ(f.config.granularity, Granularity::kPerChannel) << n;
    }
    EXPECT_EQ(f.config.mode, QuantMode::kSymmetric) << n;
  }
  EXPECT_EQ(names, expected_names);
  EXPECT_EQ(act, expected_act);
  ASSERT_EQ(plan->unified_groups.size(), 1u);
  std::set<std::string> grp;
  for (int i : plan->unified_groups[0]) grp.insert(g->node(plan->fqs[size_t(i)].fq).name);
  EXPECT_EQ(grp, expected_act);
}

TEST(MatMulUnifyPlacementConformanceTest, MatMul3InCat) {
  CheckMatMulCase("matmul_3_in_cat", {{"6", "MatMul_3"}},
                  {{"Concat_0/fq_input_0", "onnx::Concat_0"},
                   {"Concat_0/fq_input_1", "onnx::Concat_1"},
                   {"Concat_0/fq_input_2", "onnx::Concat_2"}});
}

TEST(MatMulUnifyPlacementConformanceTest, MatMul3InAgnostic) {
  CheckMatMulCase("matmul_3_in_agnostic", {{"25", "MatMul_17"}},
                  {{"Concat_3/fq_input_0", "onnx::Concat_0"},
                   {"Concat_3/fq_input_1", "onnx::Concat_1"},
                   {"Slice_14/fq_input_0", "onnx::Transpose_2"},
                   {"Transpose_8/fq_input_0", "onnx::Transpose_10"}});
}

// Placement on the Fashion-MNIST models: succeeds, the graph stays valid, every convolution's
// weights are quantized.
TEST(PlacementSharedModelsTest, FashionMnistModels) {
  for (const char* file : {"fmnist_cnn.onnx", "fmnist_mobilenetv2_w0.5.onnx"}) {
    SCOPED_TRACE(file);
    auto g = io::ImportOnnx(testing::SharedDir() / "models" / file);
    ASSERT_TRUE(g.ok()) << g.status().message();
    PlacementOptions o;
    o.hardware = &Cpu();
    auto plan = PlaceFakeQuantize(&*g, o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_TRUE(g->Validate().ok()) << g->Validate().message();
    Status s = graph::ops::InferShapes(*g);
    ASSERT_TRUE(s.ok()) << s.message();
    int convs = 0, w = 0, a = 0, sat = 0;
    for (const FqInfo& f : plan->fqs) {
      (f.role == TensorRole::kWeights ? w : a)++;
      sat += f.saturation_fix_candidate;
    }
    for (graph::NodeId id : g->LiveNodes()) {
      const auto& n = g->node(id);
      if (n.type != "Convolution" && n.type != "GroupConvolution") continue;
      ++convs;
      graph::NodeId src = n.inputs[1].source.node;
      if (g->node(src).type == "Reshape") src = g->node(src).inputs[0].source.node;
      EXPECT_EQ(g->node(src).type, "FakeQuantize") << graph::Describe(n);
      EXPECT_EQ(g->node(n.inputs[0].source.node).type, "FakeQuantize") << graph::Describe(n);
    }
    EXPECT_GT(convs, 0);
    EXPECT_GE(sat, 1);
    std::printf(
        "%s: %zu FakeQuantize (%d weights, %d activations), %d convolutions, %zu "
        "unified groups, %d saturation-fix candidates\n",
        file, plan->fqs.size(), w, a, convs, plan->unified_groups.size(), sat);
  }
}

}  // namespace
}  // namespace ptqflow::quant

// Placement on every fetched real model (.cache/models, scripts/fetch_models.sh): it succeeds,
// the graph validates and shape inference still passes, every Convolution/GroupConvolution
// reads quantized weights unless POT's rules exclude it, and the FQ counts are printed.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "graph/ops/shape_inference.h"
#include "io/hardware_config_reader.h"
#include "io/model/model_io.h"
#include "quant/placement.h"
#include "tests/test_util.h"

namespace ptqflow::quant {
namespace {

struct ModelCase {
  const char* file;
  const char* shapes;
  const char* freeze;
};

// The same shapes/frozen inputs as tests/cli/convert_models_test.cc.
const ModelCase kModels[] = {
    {"ch_PP-OCRv4_rec_infer.onnx", "x[1,3,48,320]", ""},
    {"ch_PP-OCRv4_det_infer.onnx", "x[1,3,640,640]", ""},
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", "x[1,3,48,192]", ""},
    {"silero_vad_op18_ifless.onnx", "input[1,512],state[2,1,128]", "sr=16000"},
    {"silero_vad_16k_op15.onnx", "input[1,512],state[2,1,128]", "sr=16000"},
    {"melspectrogram.onnx", "input[1,16000]", ""},
    {"embedding_model.onnx", "input_1[1,76,32,1]", ""},
};

TEST(PlacementModelsTest, EveryRealModel) {
  auto spec = io::ReadHardwareConfigFile(HardwareConfigDir() / "cpu.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  auto hw = FlattenHardwareConfig(*spec, "CPU");
  ASSERT_TRUE(hw.ok()) << hw.status().message();
  for (const ModelCase& m : kModels) {
    SCOPED_TRACE(m.file);
    io::ModelReadOptions opts;
    opts.input_shapes = *graph::ops::ParseInputShapes(m.shapes);
    if (*m.freeze) opts.frozen_inputs = *io::ParseFrozenInputs(m.freeze);
    auto g = io::ReadModel(testing::ModelPath(m.file), opts);
    ASSERT_TRUE(g.ok()) << g.status().message();
    PlacementOptions o;
    o.hardware = &*hw;
    auto plan = PlaceFakeQuantize(&*g, o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    Status v = g->Validate();
    ASSERT_TRUE(v.ok()) << v.message();
    Status s = graph::ops::InferShapes(*g);
    ASSERT_TRUE(s.ok()) << s.message();
    int w = 0, a = 0, convs = 0, quantized_convs = 0, matmuls = 0, quantized_matmuls = 0;
    for (const FqInfo& f : plan->fqs) (f.role == TensorRole::kWeights ? w : a)++;
    for (graph::NodeId id : g->LiveNodes()) {
      const graph::Node& n = g->node(id);
      const bool conv = n.type == "Convolution" || n.type == "GroupConvolution";
      if (!conv && n.type != "MatMul") continue;
      graph::NodeId src = n.inputs[1].source.node;
      if (g->node(src).type == "Reshape") src = g->node(src).inputs[0].source.node;
      const bool q = g->node(src).type == "FakeQuantize";
      if (conv) {
        ++convs;
        quantized_convs += q;
        // No POT pattern on these models excludes a convolution: all weights are quantized.
        EXPECT_TRUE(q) << graph::Describe(n);
      } else {
        ++matmuls;
        quantized_matmuls += q;
      }
    }
    std::printf(
        "%-40s %4zu FQ (%3d weights, %3d activations), %zu unified groups; "
        "convolutions %d/%d quantized, MatMuls %d/%d\n",
        m.file, plan->fqs.size(), w, a, plan->unified_groups.size(), quantized_convs, convs,
        quantized_matmuls, matmuls);
    EXPECT_GT(plan->fqs.size(), 0u);
  }
}

}  // namespace
}  // namespace ptqflow::quant

// Every real npm model imports with its input shapes fixed; every port gets a static shape and the
// model outputs have the shapes documented in ../shared/reference/models-and-data.md.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "graph/compare.h"
#include "graph/graph.h"
#include "io/ir/ir_reader.h"
#include "io/ir/ir_writer.h"
#include "io/onnx/onnx_importer.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

using graph::PartialShape;
using graph::Shape;

struct ModelCase {
  std::string file;
  std::map<std::string, PartialShape> inputs;
  std::map<std::string, Shape> outputs;  // expected output shapes (by Result name)
  bool freeze_sr = false;
};

std::string Name(const ::testing::TestParamInfo<ModelCase>& info) {
  std::string s;
  for (char c : info.param.file) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

class RealModelImportTest : public ::testing::TestWithParam<ModelCase> {};

TEST_P(RealModelImportTest, ImportsWithStaticShapes) {
  const ModelCase& c = GetParam();
  std::filesystem::path path = testing::ModelPath(c.file);
  ASSERT_TRUE(std::filesystem::exists(path));
  OnnxImportOptions opt;
  opt.input_shapes = c.inputs;
  if (c.freeze_sr) {
    opt.frozen_inputs["sr"] =
        graph::Tensor::FromVector<int64_t>(graph::ElementType::kI64, {}, {16000});
  }
  auto g = ImportOnnx(path, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_TRUE(g->Validate().ok()) << g->Validate().message();
  for (graph::NodeId id : g->LiveNodes()) {
    const graph::Node& n = g->node(id);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      EXPECT_TRUE(n.outputs[i].shape.is_static())
          << graph::Describe(n) << " output " << i << " " << n.outputs[i].shape.ToString();
      EXPECT_NE(n.outputs[i].type, graph::ElementType::kUndefined) << graph::Describe(n);
    }
    EXPECT_NE(n.type, "If") << graph::Describe(n);
  }
  EXPECT_EQ(g->results().size(), c.outputs.size());
  for (const auto& [name, shape] : c.outputs) {
    graph::NodeId r = graph::kNoNode;
    for (graph::NodeId id : g->results()) {
      if (g->node(id).name == name) r = id;
    }
    ASSERT_NE(r, graph::kNoNode) << "no Result named " << name;
    EXPECT_EQ(g->output(g->node(r).input(0)).shape, PartialShape(shape)) << name;
  }
  // ONNX -> IR v11 -> read back: the same graph (structure, attributes, constants bit-exact).
  std::filesystem::path xml = testing::TempDir() / "model.xml";
  Status w = WriteIr(*g, xml);
  ASSERT_TRUE(w.ok()) << w.message();
  auto back = ReadIr(xml);
  ASSERT_TRUE(back.ok()) << back.status().message();
  Status cmp = graph::CompareGraphs(*g, *back);
  EXPECT_TRUE(cmp.ok()) << cmp.message();
}

INSTANTIATE_TEST_SUITE_P(NpmModels, RealModelImportTest,
                         ::testing::Values(ModelCase{"ch_PP-OCRv4_rec_infer.onnx",
                                                     {{"x", {1, 3, 48, 320}}},
                                                     {{"softmax_11.tmp_0", {1, 40, 6625}}}},
                                           ModelCase{"ch_PP-OCRv4_det_infer.onnx",
                                                     {{"x", {1, 3, 640, 640}}},
                                                     {{"sigmoid_0.tmp_0", {1, 1, 640, 640}}}},
                                           ModelCase{"ch_ppocr_mobile_v2.0_cls_infer.onnx",
                                                     {{"x", {1, 3, 48, 192}}},
                                                     {{"softmax_0.tmp_0", {1, 2}}}},
                                           ModelCase{"embedding_model.onnx",
                                                     {{"input_1", {1, 76, 32, 1}}},
                                                     {{"conv2d_19", {1, 1, 1, 96}}}},
                                           ModelCase{"melspectrogram.onnx",
                                                     {{"input", {1, 16000}}},
                                                     {{"output", {1, 1, 97, 32}}}},
                                           ModelCase{"silero_vad_16k_op15.onnx",
                                                     {{"input", {1, 512}}, {"state", {2, 1, 128}}},
                                                     {{"output", {1, 1}}, {"stateN", {2, 1, 128}}},
                                                     true},
                                           ModelCase{"silero_vad_op18_ifless.onnx",
                                                     {{"input", {1, 512}}, {"state", {2, 1, 128}}},
                                                     {{"output", {1, 1}}, {"stateN", {2, 1, 128}}},
                                                     true}),
                         Name);

}  // namespace
}  // namespace ptqflow::io

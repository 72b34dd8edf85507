// The two Fashion-MNIST models in ../shared/models import with a static [1,10] output.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "graph/compare.h"
#include "graph/graph.h"
#include "io/ir/ir_reader.h"
#include "io/ir/ir_writer.h"
#include "io/onnx/onnx_importer.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

void ExpectImports(const std::string& file, const graph::PartialShape& input) {
  std::filesystem::path p = testing::SharedDir() / "models" / file;
  ASSERT_TRUE(std::filesystem::exists(p)) << p << " is missing";
  OnnxImportOptions opt;
  opt.input_shapes["input"] = input;
  auto g = ImportOnnx(p, opt);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ(g->results().size(), 1u);
  const graph::Node& r = g->node(g->results()[0]);
  EXPECT_EQ(r.name, "logits");
  EXPECT_EQ(g->output(r.input(0)).shape, graph::PartialShape({1, 10}));
  EXPECT_EQ(g->output(r.input(0)).type, graph::ElementType::kF32);
  for (graph::NodeId id : g->LiveNodes()) {
    for (const auto& o : g->node(id).outputs) {
      EXPECT_TRUE(o.shape.is_static()) << graph::Describe(g->node(id));
    }
  }
  std::filesystem::path xml = testing::TempDir() / "model.xml";
  Status w = WriteIr(*g, xml);
  ASSERT_TRUE(w.ok()) << w.message();
  auto back = ReadIr(xml);
  ASSERT_TRUE(back.ok()) << back.status().message();
  Status cmp = graph::CompareGraphs(*g, *back);
  EXPECT_TRUE(cmp.ok()) << cmp.message();
}

TEST(FmnistImportTest, Cnn) { ExpectImports("fmnist_cnn.onnx", {1, 1, 28, 28}); }

TEST(FmnistImportTest, MobileNetV2) {
  ExpectImports("fmnist_mobilenetv2_w0.5.onnx", {1, 1, 32, 32});
}

}  // namespace
}  // namespace ptqflow::io

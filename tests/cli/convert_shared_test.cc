// `ptqflow convert` on the Fashion-MNIST classifiers of ../shared/models.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "graph/compare.h"
#include "io/ir/ir_reader.h"
#include "io/model/model_io.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

TEST(ConvertSharedTest, FashionMnistModelsConvertAndReadBackEqual) {
  const fs::path dir = TempDir();
  for (const char* name : {"fmnist_cnn", "fmnist_mobilenetv2_w0.5"}) {
    SCOPED_TRACE(name);
    const fs::path model = SharedDir() / "models" / (std::string(name) + ".onnx");
    ASSERT_TRUE(fs::exists(model)) << model;
    const fs::path xml = dir / (std::string(name) + ".xml");
    std::string out;
    ASSERT_EQ(RunCommand("'" + PtqflowBinary().string() + "' convert '" + model.string() +
                             "' --output '" + xml.string() + "' --input-shape 'input[1,1," +
                             (std::string(name) == "fmnist_cnn" ? "28,28" : "32,32") + "]'",
                         &out),
              0)
        << out;
    auto back = io::ReadIr(xml);
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_EQ(back->results().size(), 1u);
    const graph::OutputPort& logits = back->output(back->node(back->results()[0]).input(0));
    EXPECT_EQ(logits.shape, graph::PartialShape({1, 10}));
  }
}

}  // namespace
}  // namespace ptqflow::testing

// `ptqflow convert` and `ptqflow summary` end to end on the real npm models, and the CLI's
// behaviour on bad input: exit code 1, a message naming the file, and no output file left.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "graph/compare.h"
#include "graph/ops/shape_inference.h"
#include "io/ir/ir_reader.h"
#include "io/model/model_io.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;

struct ModelCase {
  const char* file;
  const char* shapes;
  const char* freeze;
};

const ModelCase kModels[] = {
    {"ch_PP-OCRv4_rec_infer.onnx", "x[1,3,48,320]", ""},
    {"ch_PP-OCRv4_det_infer.onnx", "x[1,3,640,640]", ""},
    {"ch_ppocr_mobile_v2.0_cls_infer.onnx", "x[1,3,48,192]", ""},
    {"silero_vad_op18_ifless.onnx", "input[1,512],state[2,1,128]", "sr=16000"},
    {"silero_vad_16k_op15.onnx", "input[1,512],state[2,1,128]", "sr=16000"},
    {"melspectrogram.onnx", "input[1,16000]", ""},
    {"embedding_model.onnx", "input_1[1,76,32,1]", ""},
};

std::string Quote(const fs::path& p) { return "'" + p.string() + "'"; }

TEST(ConvertCliTest, EveryRealModelConvertsAndReadsBackEqual) {
  const fs::path dir = TempDir();
  for (const ModelCase& m : kModels) {
    SCOPED_TRACE(m.file);
    const fs::path model = ModelPath(m.file);
    const fs::path xml = dir / (fs::path(m.file).stem().string() + ".xml");
    std::string cmd = Quote(PtqflowBinary()) + " convert " + Quote(model) + " --output " +
                      Quote(xml) + " --input-shape '" + m.shapes + "'";
    if (*m.freeze) cmd += std::string(" --freeze-input ") + m.freeze;
    std::string out;
    ASSERT_EQ(RunCommand(cmd, &out), 0) << cmd << "\n" << out;
    ASSERT_TRUE(fs::exists(xml));
    ASSERT_TRUE(fs::exists(fs::path(xml).replace_extension(".bin")));

    // The IR read back equals the graph imported directly (structure, attributes, constants).
    io::ModelReadOptions opts;
    opts.input_shapes = *graph::ops::ParseInputShapes(m.shapes);
    if (*m.freeze) opts.frozen_inputs = *io::ParseFrozenInputs(m.freeze);
    auto imported = io::ReadModel(model, opts);
    ASSERT_TRUE(imported.ok()) << imported.status().message();
    auto back = io::ReadIr(xml);
    ASSERT_TRUE(back.ok()) << back.status().message();
    Status eq = graph::CompareGraphs(*imported, *back);
    EXPECT_TRUE(eq.ok()) << eq.message();

    std::string summary;
    ASSERT_EQ(RunCommand(Quote(PtqflowBinary()) + " summary " + Quote(xml), &summary), 0)
        << summary;
    EXPECT_NE(summary.find("outputs:"), std::string::npos) << summary;
  }
}

TEST(ConvertCliTest, CorruptOnnxFailsWithFileNameAndLeavesNoOutput) {
  const fs::path dir = TempDir();
  const fs::path bad = dir / "broken.onnx";
  {
    std::FILE* f = std::fopen(bad.c_str(), "wb");
    std::fputs("this is not a protobuf \xff\xff\xff\xff", f);
    std::fclose(f);
  }
  const fs::path xml = dir / "out.xml";
  std::string out;
  int rc = RunCommand(Quote(PtqflowBinary()) + " convert " + Quote(bad) + " --output " + Quote(xml),
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("broken.onnx"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(xml));
  EXPECT_FALSE(fs::exists(dir / "out.bin"));
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename(), "broken.onnx") << "left behind: " << e.path();
  }
}

TEST(ConvertCliTest, UnknownInputNameInShapeIsAnError) {
  const fs::path dir = TempDir();
  std::string out;
  int rc = RunCommand(Quote(PtqflowBinary()) + " convert " +
                          Quote(ModelPath("ch_ppocr_mobile_v2.0_cls_infer.onnx")) + " --output " +
                          Quote(dir / "o.xml") + " --input-shape 'nope[1,3,48,192]'",
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("nope"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "o.xml"));
}

TEST(ConvertCliTest, UsageErrorsExitWithTwo) {
  std::string out;
  EXPECT_EQ(RunCommand(Quote(PtqflowBinary()) + " frobnicate", &out), 2) << out;
  out.clear();
  EXPECT_EQ(RunCommand(Quote(PtqflowBinary()) + " convert x.onnx", &out), 2) << out;
  EXPECT_NE(out.find("--output"), std::string::npos) << out;
}

TEST(ConvertCliTest, MissingModelFileIsNamed) {
  const fs::path dir = TempDir();
  std::string out;
  int rc = RunCommand(Quote(PtqflowBinary()) + " convert " + Quote(dir / "absent.onnx") +
                          " --output " + Quote(dir / "o.xml"),
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("absent.onnx"), std::string::npos) << out;
}

}  // namespace
}  // namespace ptqflow::testing

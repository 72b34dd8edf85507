// The audio config of samples/configs run once through the ptqflow process: the log-mel
// spectrogram on Debian's pocketsphinx-testdata speech (needs only the fetched models; the text
// and image configs need ../shared: sample_configs_shared_test.cc). It must succeed, write its
// model and keep the quality the config's comment promises. The configs'
// repository-relative paths (.cache/models/, ../shared/) are redirected to $PTQFLOW_MODELS_DIR
// and $PTQFLOW_SHARED_DIR; the subset sizes are cut where noted to keep the suite short.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/json.h"
#include "tests/cli/sample_configs_util.h"
#include "tests/test_util.h"

namespace ptqflow::testing {
namespace {
namespace fs = std::filesystem;
using namespace samples;

TEST(SampleConfigsModelsTest, AudioMelSpectrogramOnSpeech) {
  ASSERT_TRUE(fs::exists("/usr/share/pocketsphinx/test/data/librivox"))
      << "install pocketsphinx-testdata";
  ModelPath("melspectrogram.onnx");
  const fs::path dir = TempDir();
  const io::JsonValue r = RunSample("melspectrogram_speech.json", dir, "");
  ASSERT_TRUE(r.is_object());
  EXPECT_TRUE(fs::exists(dir / "out" / "optimized" / "melspectrogram.xml"));
  // 5 LibriVox files, 1 s windows every 0.5 s; 18 windows of the "cards" files are evaluated.
  EXPECT_EQ(r.Find("calibration_samples")->integer(), 47);
  EXPECT_EQ(r.Find("eval_samples")->integer(), 18);
  // Only the two STFT convolutions are quantized (weights + their shared input).
  EXPECT_EQ(r.Find("fake_quantize")->items().size(), 3u);
  EXPECT_GT(Get(r, "output_SQNR_dB").int8, 20.0);
  EXPECT_GT(Get(r, "cosine").int8, 0.99);
}

}  // namespace
}  // namespace ptqflow::testing

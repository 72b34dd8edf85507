// Progress lines and fingerprints.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "stages/fingerprint.h"
#include "stages/progress.h"
#include "tests/stages/stages_test_util.h"

namespace ptqflow::stages::testing {
namespace {

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  return s;
}

TEST(ProgressReporterTest, LogModePrintsDoneTotalAndAFinalLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressReporter p("MinMax", 300, 100, ProgressMode::kLog, /*log_interval_seconds=*/0.0, f);
    p.Update(150);
    p.Finish(300);
  }
  const std::string s = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(s.find("MinMax: 150/300 samples"), std::string::npos) << s;
  EXPECT_NE(s.find("MinMax: 300/300 samples"), std::string::npos) << s;
  EXPECT_NE(s.find("took"), std::string::npos) << s;
}

TEST(ProgressReporterTest, BarModeRedrawsOneLine) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressReporter p("stats", 10, 0, ProgressMode::kBar, 0.0, f);
  p.Finish(5);
  const std::string s = ReadAll(f);
  std::fclose(f);
  EXPECT_EQ(s.rfind("\rstats [###############...............] 5/10 samples", 0), 0u) << s;
  EXPECT_EQ(s.back(), '\n');
}

TEST(ProgressReporterTest, NoneIsSilent) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressReporter p("stats", 10, 0, ProgressMode::kNone, 0.0, f);
  p.Update(3);
  p.Finish(10);
  EXPECT_EQ(ReadAll(f), "");
  std::fclose(f);
}

TEST(FingerprintTest, ModelFingerprintFollowsContentNotIdentity) {
  TinyModel a = MakeTinyModel();
  TinyModel b = MakeTinyModel();
  EXPECT_EQ(ModelFingerprint(a.g), ModelFingerprint(b.g));
  EXPECT_EQ(ModelFingerprint(a.g).size(), 16u);
  // One constant value changes -> another fingerprint.
  graph::NodeId scale = b.g.FindByName("scale");
  b.g.node(scale).constant =
      graph::Tensor::FromVector<float>(graph::ElementType::kF32, {1, 2, 1}, {1.f, -3.0000002f});
  EXPECT_NE(ModelFingerprint(a.g), ModelFingerprint(b.g));
  TinyModel c = MakeTinyModel();
  c.g.node(c.relu).attrs.Set("note", "x");
  EXPECT_NE(ModelFingerprint(a.g), ModelFingerprint(c.g));
}

TEST(FingerprintTest, BytesFingerprintSeesEveryByteAndTheLength) {
  std::string s(1000, 'a');
  const uint64_t base = FingerprintBytes(s.data(), s.size());
  for (size_t i : {0u, 7u, 31u, 32u, 500u, 999u}) {
    std::string t = s;
    t[i] ^= 1;
    EXPECT_NE(FingerprintBytes(t.data(), t.size()), base) << "byte " << i;
  }
  EXPECT_NE(FingerprintBytes(s.data(), s.size() - 1), base);
  Fingerprinter x, y;
  x.AddString("ab");
  x.AddString("c");
  y.AddString("a");
  y.AddString("bc");
  EXPECT_NE(x.value(), y.value());
}

}  // namespace
}  // namespace ptqflow::stages::testing

#include "io/data/idx_dataset.h"

#include "io/data/file_util.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/io/data/data_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteBytes;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

fs::path FmnistFile(const std::string& name) {
  const fs::path p = kFmnist / name;
  EXPECT_TRUE(fs::exists(p)) << p << " missing: install the Debian package dataset-fashion-mnist";
  return p;
}

// Decompressed with the system gzip tool (an independent path from the code under test).
std::string GunzipWithTool(const fs::path& gz) {
  const fs::path out = TempDir() / (gz.stem().string() + ".raw");
  std::string log;
  EXPECT_EQ(testing::RunCommand("gzip -dc '" + gz.string() + "' > '" + out.string() + "'", &log), 0)
      << log;
  return testing::ReadAll(out);
}

uint32_t Be32(const std::string& b, size_t p) {
  return uint32_t(uint8_t(b[p])) << 24 | uint32_t(uint8_t(b[p + 1])) << 16 |
         uint32_t(uint8_t(b[p + 2])) << 8 | uint8_t(b[p + 3]);
}

// Gunzip sizes its output from the gzip trailer (ISIZE): exact for one member, only the last
// member's size for several (the output must still grow), and a trailer that lies is corrupt
// data, reported, never a short or padded result. Compressed with the system gzip tool.
TEST(GunzipTest, TrailerSizeHintIsExactOrGrownAndALyingTrailerIsAnError) {
  const fs::path dir = TempDir();
  std::string a(300000, '\0'), b(70000, '\0');
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i % 7);
  WriteBytes(dir / "a", a);
  WriteBytes(dir / "b", b);
  std::string log;
  ASSERT_EQ(testing::RunCommand(
                "cd '" + dir.string() + "' && gzip -kf a b && cat a.gz b.gz > ab.gz", &log),
            0)
      << log;
  const std::string gz_a = testing::ReadAll(dir / "a.gz");
  auto one = Gunzip(gz_a, "a.gz");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_TRUE(*one == a);
  auto two = Gunzip(testing::ReadAll(dir / "ab.gz"), "ab.gz");  // hint: b's size only
  ASSERT_TRUE(two.ok()) << two.status().message();
  EXPECT_TRUE(*two == a + b);
  for (uint32_t lie : {5u, 300001u, 0xffffffffu}) {
    std::string bad = gz_a;
    for (int k = 0; k < 4; ++k) bad[bad.size() - 4 + k] = static_cast<char>(lie >> (8 * k));
    auto r = Gunzip(bad, "lying.gz");
    ASSERT_FALSE(r.ok()) << "ISIZE " << lie;
    EXPECT_NE(r.status().message().find("lying.gz"), std::string::npos) << r.status().message();
  }
}

TEST(IdxDatasetTest, FashionMnistTestSetMatchesRawBytes) {
  const fs::path images = FmnistFile("t10k-images-idx3-ubyte.gz");
  const fs::path labels = FmnistFile("t10k-labels-idx1-ubyte.gz");
  const std::string raw_images = GunzipWithTool(images);
  const std::string raw_labels = GunzipWithTool(labels);
  ASSERT_EQ(Be32(raw_images, 0), 0x803u);
  ASSERT_EQ(Be32(raw_images, 4), 10000u);
  ASSERT_EQ(Be32(raw_labels, 0), 0x801u);

  IdxDatasetOptions o;
  o.images_file = images.string();
  o.labels_file = MatchingIdxLabelsFile(images.string());
  EXPECT_EQ(o.labels_file, labels.string());
  auto d = IdxDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 10000u);

  // Label histogram: every class has 1000 test images (a documented fact of the dataset).
  std::array<int, 10> hist{};
  for (int64_t l : (*d)->labels()) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 10);
    ++hist[l];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[c], 1000) << c;
  // First labels: from the raw bytes and as widely documented (ankle boot, pullover, ...).
  const std::vector<int64_t> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ((*d)->label(i), uint8_t(raw_labels[8 + i]));
    EXPECT_EQ((*d)->label(i), first[i]);
  }
  // Images 0 and 9999: every pixel, and the pixel sum.
  for (size_t i : {size_t{0}, size_t{9999}}) {
    auto s = (*d)->Get(i);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE(s->annotation.has_value());
    EXPECT_EQ(s->annotation->class_label, uint8_t(raw_labels[8 + i]));
    const graph::Tensor& t = s->inputs.at("");
    ASSERT_EQ(t.shape(), (graph::Shape{1, 1, 28, 28}));
    double sum = 0, want_sum = 0;
    for (int k = 0; k < 784; ++k) {
      const uint8_t p = raw_images[16 + i * 784 + k];
      ASSERT_EQ(t.data<float>()[k], p);
      sum += t.data<float>()[k];
      want_sum += p;
    }
    EXPECT_EQ(sum, want_sum);
    EXPECT_GT(sum, 0);
  }
}

TEST(IdxDatasetTest, FashionMnistTrainCounts) {
  IdxDatasetOptions o;
  o.images_file = FmnistFile("train-images-idx3-ubyte.gz").string();
  o.labels_file = FmnistFile("train-labels-idx1-ubyte.gz").string();
  auto d = IdxDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 60000u);
  std::array<int, 10> hist{};
  for (int64_t l : (*d)->labels()) ++hist[l];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[c], 6000) << c;
}

// The MobileNetV2 preprocessing of ../shared/models/MODELS.md: pad the raw 28x28 image with 0 to
// 32x32, then (p/255 - 0.2860)/0.3530; the border becomes -0.810198.
TEST(IdxDatasetTest, NormalisedAndBorderPadded) {
  const fs::path images = FmnistFile("t10k-images-idx3-ubyte.gz");
  const std::string raw = GunzipWithTool(images);
  IdxDatasetOptions o;
  o.images_file = images.string();
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  o.border = 2;
  o.input_name = "input";
  auto d = IdxDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->annotation.has_value());
  const graph::Tensor& t = s->inputs.at("input");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 1, 32, 32}));
  for (int y = 0; y < 32; ++y) {
    for (int x = 0; x < 32; ++x) {
      const float v = t.data<float>()[y * 32 + x];
      if (y < 2 || y >= 30 || x < 2 || x >= 30) {
        ASSERT_NEAR(v, -0.810198f, 1e-6);
      } else {
        const uint8_t p = raw[16 + (y - 2) * 28 + (x - 2)];
        ASSERT_NEAR(v, (p / 255.0 - 0.2860) / 0.3530, 1e-6);
      }
    }
  }
}

TEST(IdxDatasetTest, PlainFilesAndErrors) {
  const fs::path dir = TempDir();
  // 2 images of 2x3, big-endian header written by hand; plain (not gzipped).
  std::string img =
      std::string("\0\0\x08\x03", 4) + std::string("\0\0\0\x02\0\0\0\x02\0\0\0\x03", 12);
  for (int i = 0; i < 12; ++i) img.push_back(static_cast<char>(20 * i));
  WriteBytes(dir / "imgs", img);
  WriteBytes(dir / "labs", std::string("\0\0\x08\x01\0\0\0\x02\x05\x03", 10));
  IdxDatasetOptions o;
  o.images_file = (dir / "imgs").string();
  o.labels_file = (dir / "labs").string();
  o.output_type = graph::ElementType::kU8;
  auto d = IdxDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 2u);
  auto s = (*d)->Get(1);
  ASSERT_TRUE(s.ok());
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 1, 2, 3}));
  for (int k = 0; k < 6; ++k) EXPECT_EQ(t.data<uint8_t>()[k], 20 * (6 + k));
  EXPECT_EQ(s->annotation->class_label, 3);
  EXPECT_FALSE((*d)->Get(2).ok());

  // i32 IDX decodes big-endian values.
  WriteBytes(dir / "ints", std::string("\0\0\x0c\x01\0\0\0\x02\0\0\x01\x02\xff\xff\xff\xfe", 16));
  auto ints = ReadIdx(dir / "ints");
  ASSERT_TRUE(ints.ok()) << ints.status().message();
  EXPECT_EQ(graph::Tensor::FromVector<char>(graph::ElementType::kI32, {2},
                                            std::vector<char>(ints->data.begin(), ints->data.end()))
                .ToInt64s(),
            (std::vector<int64_t>{258, -2}));

  // Truncated data, label count mismatch, bad magic, corrupt gzip.
  WriteBytes(dir / "short", img.substr(0, img.size() - 1));
  o.images_file = (dir / "short").string();
  auto tr = IdxDataset::Create(o);
  ASSERT_FALSE(tr.ok());
  EXPECT_NE(tr.status().message().find("truncated"), std::string::npos);
  EXPECT_NE(tr.status().message().find("short"), std::string::npos);
  WriteBytes(dir / "labs3", std::string("\0\0\x08\x01\0\0\0\x03\x05\x03\x01", 11));
  o.images_file = (dir / "imgs").string();
  o.labels_file = (dir / "labs3").string();
  EXPECT_FALSE(IdxDataset::Create(o).ok());
  WriteBytes(dir / "junk", "PK junk");
  EXPECT_FALSE(ReadIdx(dir / "junk").ok());
  std::string log;
  ASSERT_EQ(
      testing::RunCommand(
          "gzip -c '" + (dir / "imgs").string() + "' > '" + (dir / "imgs.gz").string() + "'", &log),
      0);
  auto gz = ReadIdx(dir / "imgs.gz");
  ASSERT_TRUE(gz.ok()) << gz.status().message();
  EXPECT_EQ(gz->dims, (graph::Shape{2, 2, 3}));
  std::string z = testing::ReadAll(dir / "imgs.gz");
  WriteBytes(dir / "cut.gz", z.substr(0, z.size() / 2));
  auto cut = ReadIdx(dir / "cut.gz");
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("cut.gz"), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::io

#include "io/data/image_dataset.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "tests/io/data/data_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteBytes;

// Pixel (y, x, c) of the synthetic BGR test image: distinct per position and channel.
uint8_t Px(int y, int x, int c) { return static_cast<uint8_t>(10 * y + 2 * x + 100 * c); }

// Writes an H x W BGR PNG with pixels Px.
fs::path WriteTestPng(const fs::path& p, int H = 4, int W = 6) {
  cv::Mat m(H, W, CV_8UC3);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 3; ++c) m.at<cv::Vec3b>(y, x)[c] = Px(y, x, c);
  EXPECT_TRUE(cv::imwrite(p.string(), m));
  return p;
}

float At(const graph::Tensor& t, size_t i) { return t.data<float>()[i]; }

TEST(ImageDatasetTest, DefaultsAreRawBgrNchw) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png");
  ImageDatasetOptions o;
  o.source = dir.string();
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 1u);
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.type(), graph::ElementType::kF32);
  ASSERT_EQ(t.shape(), (graph::Shape{1, 3, 4, 6}));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) ASSERT_EQ(At(t, (c * 4 + y) * 6 + x), Px(y, x, c));
  EXPECT_FALSE(s->annotation.has_value());
}

TEST(ImageDatasetTest, RgbNhwcAndMeanScale) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png");
  ImageDatasetOptions o;
  o.source = (dir / "a.png").string();
  o.color = ColorOrder::kRgb;
  o.layout = Layout::kNhwc;
  o.mean = {1.0f, 2.0f, 3.0f};
  o.scale = {2.0f, 4.0f, 8.0f};
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 4, 6, 3}));
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 6; ++x)
      for (int c = 0; c < 3; ++c) {
        const float raw = Px(y, x, 2 - c);  // RGB: channel 0 is BGR channel 2
        ASSERT_FLOAT_EQ(At(t, (y * 6 + x) * 3 + c), (raw - o.mean[c]) / o.scale[c]);
      }
}

TEST(ImageDatasetTest, GrayscaleU8) {
  const fs::path dir = TempDir();
  cv::Mat g(3, 2, CV_8UC1);
  for (int i = 0; i < 6; ++i) g.at<uint8_t>(i / 2, i % 2) = static_cast<uint8_t>(40 * i);
  ASSERT_TRUE(cv::imwrite((dir / "g.png").string(), g));
  ImageDatasetOptions o;
  o.source = (dir / "g.png").string();
  o.color = ColorOrder::kGray;
  o.output_type = graph::ElementType::kU8;
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok());
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 1, 3, 2}));
  ASSERT_EQ(t.type(), graph::ElementType::kU8);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<uint8_t>()[i], 40 * i);
}

TEST(ImageDatasetTest, CentralCropAndBorder) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png", 4, 6);
  ImageDatasetOptions o;
  o.source = (dir / "a.png").string();
  o.central_fraction = 0.5;  // 4x6 -> 2x3 starting at (1, 1)  [int(4*.5)=2, (4-2)/2=1; 3, 1]
  o.border = 1;
  o.border_value = 7;
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 3, 4, 5}));
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x) {
        const bool edge = y == 0 || y == 3 || x == 0 || x == 4;
        const float want = edge ? 7.0f : Px(y - 1 + 1, x - 1 + 1, c);
        ASSERT_EQ(At(t, (c * 4 + y) * 5 + x), want) << c << " " << y << " " << x;
      }
}

// 4x4 gray image with 2x2 blocks whose sums are multiples of 4: a 2x downscale by INTER_AREA or
// INTER_LINEAR (samples at 2*d + 0.5, i.e. the block centre) gives the exact block mean.
TEST(ImageDatasetTest, ResizeDownscaleGivesBlockMeans) {
  const fs::path dir = TempDir();
  const uint8_t v[16] = {10, 20, 50, 50, 30, 40, 50, 50, 0, 0, 200, 100, 4, 8, 100, 0};
  cv::Mat g(4, 4, CV_8UC1);
  for (int i = 0; i < 16; ++i) g.at<uint8_t>(i / 4, i % 4) = v[i];
  ASSERT_TRUE(cv::imwrite((dir / "g.png").string(), g));
  for (Interpolation in : {Interpolation::kArea, Interpolation::kLinear}) {
    ImageDatasetOptions o;
    o.source = (dir / "g.png").string();
    o.color = ColorOrder::kGray;
    o.height = 2;
    o.width = 2;
    o.interpolation = in;
    auto d = ImageDataset::Create(o);
    ASSERT_TRUE(d.ok()) << d.status().message();
    auto s = (*d)->Get(0);
    ASSERT_TRUE(s.ok());
    const graph::Tensor& t = s->inputs.at("");
    ASSERT_EQ(t.shape(), (graph::Shape{1, 1, 2, 2}));
    EXPECT_EQ(At(t, 0), 25.0f);  // (10+20+30+40)/4
    EXPECT_EQ(At(t, 1), 50.0f);
    EXPECT_EQ(At(t, 2), 3.0f);    // (0+0+4+8)/4
    EXPECT_EQ(At(t, 3), 100.0f);  // (200+100+100+0)/4
  }
}

TEST(ImageDatasetTest, NearestUpscaleReplicates) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png", 2, 3);
  ImageDatasetOptions o;
  o.source = (dir / "a.png").string();
  o.height = 4;
  o.width = 6;
  o.interpolation = Interpolation::kNearest;
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok());
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok());
  const graph::Tensor& t = s->inputs.at("");
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 6; ++x) ASSERT_EQ(At(t, (c * 4 + y) * 6 + x), Px(y / 2, x / 2, c));
}

TEST(ImageDatasetTest, KeepAspectPad) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png", 4, 6);
  ImageDatasetOptions o;
  o.source = (dir / "a.png").string();
  o.height = 6;  // scale min(6/4, 6/6) = 1: no resize, 1 row of padding above and below
  o.width = 6;
  o.resize_mode = ResizeMode::kKeepAspectPad;
  o.pad_value = 255;
  for (PadAlign align : {PadAlign::kCenter, PadAlign::kTopLeft}) {
    o.pad_align = align;
    auto d = ImageDataset::Create(o);
    ASSERT_TRUE(d.ok());
    auto s = (*d)->Get(0);
    ASSERT_TRUE(s.ok());
    const graph::Tensor& t = s->inputs.at("");
    ASSERT_EQ(t.shape(), (graph::Shape{1, 3, 6, 6}));
    const int top = align == PadAlign::kCenter ? 1 : 0;
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 6; ++x) {
          const bool pad = y < top || y >= top + 4;
          ASSERT_EQ(At(t, (c * 6 + y) * 6 + x), pad ? 255.0f : Px(y - top, x, c));
        }
  }
}

TEST(ImageDatasetTest, FolderListSortedAndFiltered) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "b.png");
  WriteTestPng(dir / "a.PNG");
  WriteTestPng(dir / "c.bmp");
  WriteBytes(dir / "notes.txt", "not an image");
  WriteBytes(dir / ".hidden.png", "x");
  ImageDatasetOptions o;
  o.source = dir.string();
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 3u);
  EXPECT_EQ((*d)->files()[0].filename(), "a.PNG");
  EXPECT_EQ((*d)->files()[1].filename(), "b.png");
  EXPECT_EQ((*d)->files()[2].filename(), "c.bmp");
  // Glob.
  o.source = (dir / "*.png").string();
  auto g = ImageDataset::Create(o);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ASSERT_EQ((*g)->size(), 1u);
  EXPECT_EQ((*g)->files()[0].filename(), "b.png");
}

TEST(ImageDatasetTest, ListFileWithLabels) {
  const fs::path dir = TempDir();
  fs::create_directories(dir / "imgs");
  WriteTestPng(dir / "imgs" / "x.png");
  WriteTestPng(dir / "imgs" / "y.png");
  WriteBytes(dir / "list.txt", "# comment\nimgs/y.png\n\nimgs/x.png\n");
  WriteBytes(dir / "labels.txt", "imgs/x.png 3\nimgs/y.png 7\n");
  WriteBytes(dir / "texts.tsv", "x.png\thello world\ny.png\tbye\n");
  ImageDatasetOptions o;
  o.source = (dir / "list.txt").string();
  o.annotations.class_labels_file = (dir / "labels.txt").string();
  o.annotations.text_labels_file = (dir / "texts.tsv").string();
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 2u);
  auto s0 = (*d)->Get(0);
  ASSERT_TRUE(s0.ok());
  ASSERT_TRUE(s0->annotation.has_value());
  EXPECT_EQ(s0->annotation->class_label, 7);
  EXPECT_EQ(s0->annotation->text, "bye");
  auto s1 = (*d)->Get(1);
  EXPECT_EQ(s1->annotation->class_label, 3);
  EXPECT_EQ(s1->annotation->text, "hello world");
  // A missing label is an error at creation.
  WriteBytes(dir / "labels2.txt", "imgs/x.png 3\n");
  o.annotations.class_labels_file = (dir / "labels2.txt").string();
  auto bad = ImageDataset::Create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("y.png"), std::string::npos) << bad.status().message();
  // A list entry that does not exist.
  WriteBytes(dir / "list2.txt", "imgs/zzz.png\n");
  o.source = (dir / "list2.txt").string();
  o.annotations = {};
  auto missing = ImageDataset::Create(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("list2.txt:1"), std::string::npos);
}

TEST(ImageDatasetTest, CorruptFilesNameFileAndSample) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png", 40, 60);
  const std::string good = testing::ReadAll(dir / "a.png");
  WriteBytes(dir / "b.png", good.substr(0, good.size() / 2));  // truncated PNG
  WriteBytes(dir / "c.png", "this is a text file, not a PNG\n");
  ImageDatasetOptions o;
  o.source = dir.string();
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ((*d)->size(), 3u);
  EXPECT_TRUE((*d)->Get(0).ok());
  for (size_t i : {size_t{1}, size_t{2}}) {
    auto s = (*d)->Get(i);
    ASSERT_FALSE(s.ok()) << i;
    const std::string m = s.status().message();
    EXPECT_NE(m.find("sample " + std::to_string(i)), std::string::npos) << m;
    EXPECT_NE(m.find((*d)->files()[i].string()), std::string::npos) << m;
    EXPECT_NE(m.find("cannot decode image"), std::string::npos) << m;
  }
  // Skipping: two bad samples are counted and reported.
  BadSampleLog log;
  int good_count = 0;
  for (size_t i = 0; i < (*d)->size(); ++i) {
    auto r = GetOrSkip(**d, i, &log);
    ASSERT_TRUE(r.ok());
    good_count += r->has_value();
  }
  EXPECT_EQ(good_count, 1);
  EXPECT_EQ(log.count(), 2u);
  EXPECT_NE(log.Report(3).find("c.png"), std::string::npos);
}

TEST(ImageDatasetTest, BadOptions) {
  const fs::path dir = TempDir();
  WriteTestPng(dir / "a.png");
  ImageDatasetOptions o;
  o.source = dir.string();
  o.mean = {1, 2};
  EXPECT_FALSE(ImageDataset::Create(o).ok());
  o.mean = {1};
  o.output_type = graph::ElementType::kU8;
  EXPECT_FALSE(ImageDataset::Create(o).ok());
  o = {};
  o.source = (dir / "nothing_here").string();
  auto r = ImageDataset::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nothing_here"), std::string::npos);
  o.source = (TempDir() / "*.png").string();
  EXPECT_FALSE(ImageDataset::Create(o).ok());  // glob matching nothing
  EXPECT_EQ(ParseInterpolation("cubic").value(), Interpolation::kCubic);
  EXPECT_FALSE(ParseInterpolation("lanczos").ok());
}

}  // namespace
}  // namespace ptqflow::io

namespace ptqflow::io {
namespace {

// Get() from several threads at once returns the same tensors as sequential calls.
TEST(ImageDatasetTest, ConcurrentGetMatchesSequential) {
  const fs::path dir = TempDir();
  for (int i = 0; i < 8; ++i) WriteTestPng(dir / ("img" + std::to_string(i) + ".png"), 20 + i, 30);
  ImageDatasetOptions o;
  o.source = dir.string();
  o.height = 16;
  o.width = 16;
  o.mean = {10.0f};
  o.scale = {3.0f};
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok());
  std::vector<graph::Tensor> seq;
  for (size_t i = 0; i < (*d)->size(); ++i) seq.push_back((*d)->Get(i)->inputs.at(""));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int rep = 0; rep < 5; ++rep) {
        for (size_t i = 0; i < seq.size(); ++i) {
          auto s = (*d)->Get(i);
          if (!s.ok() || !s->inputs.at("").BytesEqual(seq[i])) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace ptqflow::io

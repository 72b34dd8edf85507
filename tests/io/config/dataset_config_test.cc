#include "io/config/dataset_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "io/data/idx_dataset.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;

const fs::path kFmnist = "/usr/share/datasets/fashion-mnist";

TEST(DatasetConfigTest, IdxFromFlagsMatchesDirectLoaderAndLabelFile) {
  const fs::path images = kFmnist / "t10k-images-idx3-ubyte.gz";
  const fs::path labels = kFmnist / "t10k-labels-idx1-ubyte.gz";
  ASSERT_TRUE(fs::exists(images)) << images << " missing: install dataset-fashion-mnist";
  auto cfg = DatasetConfigFromFlags("idx", images.string(),
                                    "labels_file=" + labels.string() + ",border=2");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto ds = OpenDataset(*cfg);
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  EXPECT_EQ((*ds)->size(), 10000u);

  IdxDatasetOptions o;
  o.images_file = images.string();
  o.labels_file = labels.string();
  o.border = 2;
  auto direct = IdxDataset::Create(o);
  ASSERT_TRUE(direct.ok());
  for (size_t i : {size_t{0}, size_t{9999}}) {
    auto a = (*ds)->Get(i);
    auto b = (*direct)->Get(i);
    ASSERT_TRUE(a.ok() && b.ok());
    const graph::Tensor& ta = a->inputs.begin()->second;
    const graph::Tensor& tb = b->inputs.begin()->second;
    EXPECT_EQ(ta.shape(), tb.shape());
    EXPECT_EQ(ta.shape().back(), 32);  // 28 + 2 * border
    EXPECT_TRUE(ta.BytesEqual(tb));
  }
  // The label of sample 0 read from the raw IDX label file (after gunzip, byte 8).
  auto raw = ReadIdx(labels);
  ASSERT_TRUE(raw.ok());
  auto s0 = (*ds)->Get(0);
  ASSERT_TRUE(s0->annotation && s0->annotation->class_label);
  EXPECT_EQ(*s0->annotation->class_label, static_cast<uint8_t>(raw->data[0]));
}

TEST(DatasetConfigTest, ImageFolderFromJson) {
  const fs::path dir = testing::TempDir();
  cv::Mat a(4, 6, CV_8UC3, cv::Scalar(10, 20, 30));  // B, G, R
  ASSERT_TRUE(cv::imwrite((dir / "a.png").string(), a));
  ASSERT_TRUE(cv::imwrite((dir / "b.png").string(), a));
  const std::string text = R"({"image": {"source": ")" + dir.string() +
                           R"(", "height": 2, "width": 3, "layout": "nhwc", "color": "rgb",
                           "mean": [0, 0, 30], "scale": [2]}})";
  auto j = ParseJson(text, "c.json");
  ASSERT_TRUE(j.ok());
  auto cfg = DatasetConfigFromJson(*j, "dataset", "c.json");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  auto ds = OpenDataset(*cfg);
  ASSERT_TRUE(ds.ok()) << ds.status().message();
  ASSERT_EQ((*ds)->size(), 2u);
  auto s = (*ds)->Get(1);
  ASSERT_TRUE(s.ok());
  const graph::Tensor& t = s->inputs.begin()->second;
  EXPECT_EQ(t.shape(), graph::Shape({1, 2, 3, 3}));
  const float* p = t.data<float>();
  // RGB order, (x - mean) / scale: R = 30/2, G = 20/2, B = (10 - 30)/2.
  EXPECT_FLOAT_EQ(p[0], 15.0f);
  EXPECT_FLOAT_EQ(p[1], 10.0f);
  EXPECT_FLOAT_EQ(p[2], -10.0f);
}

TEST(DatasetConfigTest, ErrorsNameTheKey) {
  auto t = DatasetConfigFromFlags("imgae", "x", "");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("did you mean 'image'"), std::string::npos)
      << t.status().message();
  EXPECT_FALSE(DatasetConfigFromFlags("", "x", "").ok());

  auto bad_layout = DatasetConfigFromFlags("image", "/nonexistent", "layout=chw");
  ASSERT_TRUE(bad_layout.ok());
  auto ds = OpenDataset(*bad_layout);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("'dataset.image.layout'"), std::string::npos)
      << ds.status().message();

  auto no_vocab = DatasetConfigFromFlags("text", "lines.txt", "");
  ASSERT_TRUE(no_vocab.ok());
  ds = OpenDataset(*no_vocab);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("'dataset.text.vocab_file' is required"), std::string::npos)
      << ds.status().message();

  ds = OpenDataset(proto::DatasetConfig());
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("no loader chosen"), std::string::npos);

  auto missing = DatasetConfigFromFlags("audio", "/nonexistent/dir", "");
  ASSERT_TRUE(missing.ok());
  ds = OpenDataset(*missing);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("/nonexistent/dir"), std::string::npos)
      << ds.status().message();

  auto no_source = DatasetConfigFromFlags("tensor", "", "");
  ASSERT_TRUE(no_source.ok());
  ds = OpenDataset(*no_source);
  ASSERT_FALSE(ds.ok());
  EXPECT_NE(ds.status().message().find("'dataset.tensor.source' is required"), std::string::npos)
      << ds.status().message();
}

}  // namespace
}  // namespace ptqflow::io

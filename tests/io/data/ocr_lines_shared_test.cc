// The OCR text-line set in ../shared/data/ocr-lines, read as the PP-OCRv4 recognizer needs it
// (README there): BGR, (p/255 - 0.5)/0.5, NCHW [1, 3, 48, 320], labels from labels.tsv.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "io/data/image_dataset.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;

TEST(OcrLinesTest, ThreeHundredNormalisedLinesWithLabels) {
  const fs::path dir = testing::SharedDir() / "data" / "ocr-lines";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  // labels.tsv and meta.tsv parsed here directly.
  std::map<std::string, std::string> labels;
  {
    std::ifstream in(dir / "labels.tsv");
    std::string line;
    while (std::getline(in, line)) {
      const size_t tab = line.find('\t');
      ASSERT_NE(tab, std::string::npos);
      labels[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }
  ASSERT_EQ(labels.size(), 300u);
  std::map<std::string, int> content_width;
  {
    std::ifstream in(dir / "meta.tsv");
    std::string line;
    std::getline(in, line);  // header: file font font_px content_width
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string file, font, px, width;
      std::getline(ss, file, '\t');
      std::getline(ss, font, '\t');
      std::getline(ss, px, '\t');
      std::getline(ss, width, '\t');
      content_width[file] = std::stoi(width);
    }
  }
  ASSERT_EQ(content_width.size(), 300u);

  ImageDatasetOptions o;
  o.source = dir.string();
  o.input_name = "x";
  o.height = 48;
  o.width = 320;
  o.mean = {127.5f};
  o.scale = {127.5f};
  o.annotations.text_labels_file = (dir / "labels.tsv").string();
  auto d = ImageDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 300u);
  EXPECT_EQ((*d)->files()[0].filename(), "dev_0000.png");
  EXPECT_EQ((*d)->files()[299].filename(), "dev_0299.png");
  size_t chars = 0;
  for (size_t i = 0; i < (*d)->size(); ++i) {
    auto s = (*d)->Get(i);
    ASSERT_TRUE(s.ok()) << s.status().message();
    const std::string name = (*d)->files()[i].filename().string();
    ASSERT_TRUE(s->annotation && s->annotation->text);
    EXPECT_EQ(*s->annotation->text, labels.at(name));
    chars += s->annotation->text->size();
    const graph::Tensor& t = s->inputs.at("x");
    ASSERT_EQ(t.shape(), (graph::Shape{1, 3, 48, 320}));
    const float* v = t.data<float>();
    float lo = 1, hi = -1;
    const int cw = content_width.at(name);
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 48; ++y) {
        for (int x = 0; x < 320; ++x) {
          const float p = v[(c * 48 + y) * 320 + x];
          lo = std::min(lo, p);
          hi = std::max(hi, p);
          // Achromatic: the three channels agree.
          ASSERT_EQ(p, v[y * 320 + x]);
          // Right of the text crop the canvas is white: (255/255 - 0.5)/0.5 = 1.
          if (x >= cw) {
            ASSERT_EQ(p, 1.0f) << name << " " << x;
          }
        }
      }
    }
    EXPECT_GE(lo, -1.0f);
    EXPECT_LE(hi, 1.0f);
    EXPECT_LT(lo, -0.5f) << name;  // dark text somewhere
  }
  EXPECT_EQ(chars, 3881u);  // README: 3881 characters in all
  EXPECT_EQ(labels.at("dev_0000.png"), "halogen");
}

}  // namespace
}  // namespace ptqflow::io

// Generates a labelled OCR text-line set for the demo and tests, from Debian packages only:
// words from `wamerican` (/usr/share/dict/american-english), rendered with the DejaVu fonts
// (`fonts-dejavu-core`) through OpenCV's FreeType module: black text on white, 48 x 320
// (H x W, PP-OCR's recognition input), left-aligned; labels.tsv holds "file<TAB>text".
//
// usage: sample_make_text_lines OUT_DIR [COUNT=300] [SEED=1]
// Deterministic for a given dictionary, font files and seed.
#include <opencv2/freetype.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR [COUNT=300] [SEED=1]\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  const int count = argc > 2 ? std::atoi(argv[2]) : 300;
  const unsigned seed = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 1u;
  const fs::path dict = "/usr/share/dict/american-english";
  const std::vector<fs::path> fonts = {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                       "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"};
  std::ifstream in(dict);
  if (!in) {
    std::fprintf(stderr, "error: cannot read %s (apt-get install wamerican)\n", dict.c_str());
    return 1;
  }
  std::vector<std::string> words;
  for (std::string w; std::getline(in, w);) {
    bool ok = w.size() >= 3 && w.size() <= 9;
    for (char c : w) ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
    if (ok) words.push_back(w);
  }
  std::vector<cv::Ptr<cv::freetype::FreeType2>> ft;
  for (const fs::path& f : fonts) {
    if (!fs::exists(f)) {
      std::fprintf(stderr, "error: missing font %s (apt-get install fonts-dejavu-core)\n",
                   f.c_str());
      return 1;
    }
    ft.push_back(cv::freetype::createFreeType2());
    ft.back()->loadFontData(f.string(), 0);
  }
  fs::create_directories(out);
  std::ofstream labels(out / "labels.tsv");
  std::mt19937 rng(seed);
  const int kH = 48, kW = 320;
  for (int i = 0; i < count; ++i) {
    const int font = static_cast<int>(rng() % ft.size());
    const int height = 26 + static_cast<int>(rng() % 7);  // glyph height in pixels
    std::string text;
    const int n_words = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n_words; ++k) {
      std::string candidate = text + (text.empty() ? "" : " ") + words[rng() % words.size()];
      int baseline = 0;
      const cv::Size size = ft[font]->getTextSize(candidate, height, -1, &baseline);
      if (size.width > kW - 8 && !text.empty()) break;
      if (size.width > kW - 8) continue;
      text = candidate;
    }
    if (text.empty()) text = words[rng() % words.size()].substr(0, 6);
    cv::Mat img(kH, kW, CV_8UC3, cv::Scalar(255, 255, 255));
    int baseline = 0;
    const cv::Size size = ft[font]->getTextSize(text, height, -1, &baseline);
    const int y = (kH + size.height) / 2 - baseline / 2;
    ft[font]->putText(img, text, cv::Point(4, y), height, cv::Scalar(0, 0, 0), -1, cv::LINE_AA,
                      true);
    char name[32];
    std::snprintf(name, sizeof(name), "line_%04d.png", i);
    if (!cv::imwrite((out / name).string(), img)) {
      std::fprintf(stderr, "error: cannot write %s\n", (out / name).c_str());
      return 1;
    }
    labels << name << '\t' << text << '\n';
  }
  std::printf("wrote %d text lines and labels.tsv to %s\n", count, out.c_str());
  return 0;
}

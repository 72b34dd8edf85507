#include "io/data/image_dataset.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace ptqflow::io {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

Result<ColorOrder> ParseColorOrder(const std::string& s) {
  if (s == "bgr" || s == "BGR") return ColorOrder::kBgr;
  if (s == "rgb" || s == "RGB") return ColorOrder::kRgb;
  if (s == "gray" || s == "grayscale" || s == "GRAY") return ColorOrder::kGray;
  return Status::Error("color order '" + s + "': expected bgr, rgb or gray");
}

Result<Interpolation> ParseInterpolation(const std::string& s) {
  if (s == "nearest") return Interpolation::kNearest;
  if (s == "linear" || s == "bilinear") return Interpolation::kLinear;
  if (s == "cubic" || s == "bicubic") return Interpolation::kCubic;
  if (s == "area") return Interpolation::kArea;
  return Status::Error("interpolation '" + s + "': expected nearest, linear, cubic or area");
}

Result<ResizeMode> ParseResizeMode(const std::string& s) {
  if (s == "stretch") return ResizeMode::kStretch;
  if (s == "keep_aspect_pad") return ResizeMode::kKeepAspectPad;
  return Status::Error("resize mode '" + s + "': expected stretch or keep_aspect_pad");
}

Result<Layout> ParseLayout(const std::string& s) {
  if (s == "NCHW" || s == "nchw") return Layout::kNchw;
  if (s == "NHWC" || s == "nhwc") return Layout::kNhwc;
  return Status::Error("layout '" + s + "': expected NCHW or NHWC");
}

const std::vector<std::string>& ImageDataset::Extensions() {
  static const std::vector<std::string> kExt = {
      ".bmp", ".dib", ".jpeg", ".jpg", ".jpe",  ".jp2", ".png", ".webp", ".pbm", ".pgm", ".ppm",
      ".pxm", ".pnm", ".sr",   ".ras", ".tiff", ".tif", ".exr", ".hdr",  ".pic", ".pfm"};
  return kExt;
}

namespace {

Status CheckOptions(const ImageDatasetOptions& o) {
  if (o.height < 0 || o.width < 0 || (o.height == 0) != (o.width == 0)) {
    return Status::Error("image dataset: height and width must both be > 0 (resize) or both 0 " +
                         std::string("(keep size); got ") + std::to_string(o.height) + "x" +
                         std::to_string(o.width));
  }
  if (o.central_fraction < 0 || o.central_fraction > 1) {
    return Status::Error("image dataset: central_fraction must be in (0, 1], got " +
                         std::to_string(o.central_fraction));
  }
  if (o.border < 0) return Status::Error("image dataset: border must be >= 0");
  const size_t channels = o.color == ColorOrder::kGray ? 1 : 3;
  if (o.mean.size() > 1 && o.mean.size() != channels) {
    return Status::Error("image dataset: mean has " + std::to_string(o.mean.size()) +
                         " values for " + std::to_string(channels) + " channels");
  }
  if (o.scale.size() > 1 && o.scale.size() != channels) {
    return Status::Error("image dataset: scale has " + std::to_string(o.scale.size()) +
                         " values for " + std::to_string(channels) + " channels");
  }
  for (float s : o.scale) {
    if (s == 0.0f) return Status::Error("image dataset: scale values must be non-zero");
  }
  if (o.output_type != ElementType::kF32 && o.output_type != ElementType::kU8) {
    return Status::Error("image dataset: output type must be f32 or u8, got " +
                         std::string(graph::ElementTypeName(o.output_type)));
  }
  if (o.output_type == ElementType::kU8 && (!o.mean.empty() || !o.scale.empty())) {
    return Status::Error("image dataset: output type u8 cannot carry mean/scale normalisation");
  }
  return Status::Ok();
}

int CvInterpolation(Interpolation i) {
  switch (i) {
    case Interpolation::kNearest:
      return cv::INTER_NEAREST;
    case Interpolation::kLinear:
      return cv::INTER_LINEAR;
    case Interpolation::kCubic:
      return cv::INTER_CUBIC;
    case Interpolation::kArea:
      return cv::INTER_AREA;
  }
  return cv::INTER_LINEAR;
}

// Steps 2-4 on an 8-bit image.
cv::Mat Geometry(cv::Mat img, const ImageDatasetOptions& o) {
  if (o.central_fraction > 0 && o.central_fraction < 1) {
    const int h = img.rows, w = img.cols;
    const int dh = static_cast<int>(h * o.central_fraction);
    const int dw = static_cast<int>(w * o.central_fraction);
    img = img(cv::Rect((w - dw) / 2, (h - dh) / 2, std::max(dw, 1), std::max(dh, 1))).clone();
  }
  if (o.height > 0 && o.width > 0 && (img.rows != o.height || img.cols != o.width)) {
    const int interp = CvInterpolation(o.interpolation);
    if (o.resize_mode == ResizeMode::kStretch) {
      cv::Mat out;
      cv::resize(img, out, cv::Size(o.width, o.height), 0, 0, interp);
      img = out;
    } else {
      const double s = std::min(static_cast<double>(o.height) / img.rows,
                                static_cast<double>(o.width) / img.cols);
      const int nh = std::clamp(static_cast<int>(std::lround(img.rows * s)), 1, o.height);
      const int nw = std::clamp(static_cast<int>(std::lround(img.cols * s)), 1, o.width);
      cv::Mat scaled;
      if (nh == img.rows && nw == img.cols) {
        scaled = img;
      } else {
        cv::resize(img, scaled, cv::Size(nw, nh), 0, 0, interp);
      }
      const int top = o.pad_align == PadAlign::kCenter ? (o.height - nh) / 2 : 0;
      const int left = o.pad_align == PadAlign::kCenter ? (o.width - nw) / 2 : 0;
      cv::Mat out;
      cv::copyMakeBorder(scaled, out, top, o.height - nh - top, left, o.width - nw - left,
                         cv::BORDER_CONSTANT, cv::Scalar::all(o.pad_value));
      img = out;
    }
  }
  if (o.border > 0) {
    cv::Mat out;
    cv::copyMakeBorder(img, out, o.border, o.border, o.border, o.border, cv::BORDER_CONSTANT,
                       cv::Scalar::all(o.border_value));
    img = out;
  }
  return img;
}

}  // namespace

Result<std::unique_ptr<ImageDataset>> ImageDataset::Create(const ImageDatasetOptions& options) {
  PTQ_RETURN_IF_ERROR(CheckOptions(options));
  std::unique_ptr<ImageDataset> d(new ImageDataset(options));
  PTQ_ASSIGN_OR_RETURN(d->files_, ListDataFiles(options.source, options.source_kind, Extensions()));
  PTQ_ASSIGN_OR_RETURN(d->annotations_, FileAnnotations::Load(options.annotations, d->files_));
  return d;
}

Result<Tensor> ImageDataset::LoadImage(const fs::path& file) const {
  const ImageDatasetOptions& o = options_;
  cv::Mat img;
  try {
    const int flags = o.color == ColorOrder::kGray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
    img = cv::imread(file.string(), flags);
    if (img.empty()) {
      std::error_code ec;
      if (!fs::is_regular_file(file, ec)) return Status::Error("cannot open image: no such file");
      return Status::Error("cannot decode image (unreadable, corrupt or not an image)");
    }
    if (o.color == ColorOrder::kRgb) cv::cvtColor(img, img, cv::COLOR_BGR2RGB);
    img = Geometry(img, o);
  } catch (const std::exception& e) {
    return Status::Error(std::string("OpenCV error while reading/resizing: ") + e.what());
  }
  const int C = img.channels(), H = img.rows, W = img.cols;
  CHECK_EQ(img.depth(), CV_8U);
  CHECK(img.isContinuous());
  const graph::Shape shape =
      o.layout == Layout::kNchw ? graph::Shape{1, C, H, W} : graph::Shape{1, H, W, C};
  const uint8_t* src = img.ptr<uint8_t>();
  auto dst_index = [&](int c, int y, int x) -> size_t {
    return o.layout == Layout::kNchw ? (static_cast<size_t>(c) * H + y) * W + x
                                     : (static_cast<size_t>(y) * W + x) * C + c;
  };
  if (o.output_type == ElementType::kU8) {
    Tensor t = Tensor::Allocate(ElementType::kU8, shape);
    uint8_t* d = t.mutable_data<uint8_t>();
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        for (int c = 0; c < C; ++c) d[dst_index(c, y, x)] = src[(y * W + x) * C + c];
    return t;
  }
  std::vector<float> mean(C, 0.0f), scale(C, 1.0f);
  for (int c = 0; c < C; ++c) {
    if (!o.mean.empty()) mean[c] = o.mean.size() == 1 ? o.mean[0] : o.mean[c];
    if (!o.scale.empty()) scale[c] = o.scale.size() == 1 ? o.scale[0] : o.scale[c];
  }
  const bool plain = o.mean.empty() && o.scale.empty();
  Tensor t = Tensor::Allocate(ElementType::kF32, shape);
  float* d = t.mutable_data<float>();
  for (int y = 0; y < H; ++y) {
    for (int x = 0; x < W; ++x) {
      for (int c = 0; c < C; ++c) {
        const float v = static_cast<float>(src[(y * W + x) * C + c]);
        d[dst_index(c, y, x)] = plain ? v : (v - mean[c]) / scale[c];
      }
    }
  }
  return t;
}

Result<Sample> ImageDataset::Get(size_t i) const {
  if (i >= files_.size()) {
    return Status::Error("sample " + std::to_string(i) + " out of range (dataset " +
                         options_.source + " has " + std::to_string(files_.size()) + " images)");
  }
  const fs::path& f = files_[i];
  Result<Tensor> t = LoadImage(f);
  if (!t.ok()) return t.status().WithContext(SampleContext(i, f.string()));
  Sample s;
  s.inputs.emplace(options_.input_name, std::move(t).value());
  s.annotation = annotations_.For(f);
  s.source = f.string();
  return s;
}

}  // namespace ptqflow::io

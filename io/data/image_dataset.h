// Image dataset (OpenCV imgcodecs/imgproc): one sample per image file.
//
// Pipeline for each image, in this order:
//   1. read 8-bit with cv::imread: kBgr (3 channels, like cv2.imread), kRgb, or kGray (1 channel);
//   2. central crop: keep the central `central_fraction` of height and width
//      (dst = int(size * fraction), start = (size - dst) / 2, as POT's crop());
//   3. resize to height x width (if both > 0) with `interpolation`; kStretch ignores the aspect
//      ratio (cv::resize to exactly H x W); kKeepAspectPad scales by min(H/h, W/w) (new size
//      rounded, at least 1) and pads the rest with `pad_value` (image centred or top-left);
//   4. border: `border` pixels on every side with `border_value` (raw pixel value, before
//      normalisation — e.g. Fashion-MNIST 28x28 -> 32x32 with 0);
//   5. convert to float and normalise per channel: (x - mean[c]) / scale[c] (channel order of
//      the output, after step 1; one value applies to all channels; empty = none);
//   6. lay out as NCHW [1,C,H,W] or NHWC [1,H,W,C]; output f32 (default) or u8 (u8 only without
//      normalisation).
// With the defaults (BGR, no crop, resize kStretch + kLinear, no normalisation, NCHW) this is
// exactly POT's simplified-mode image loader: imread, cv::resize INTER_LINEAR on the 8-bit
// image, HWC->CHW, values 0..255.
//
// Thread-safety: immutable after Create; Get() may be called concurrently.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "graph/element_type.h"
#include "io/data/annotations.h"
#include "io/data/dataset.h"
#include "io/data/file_util.h"

namespace ptqflow::io {

enum class ColorOrder { kBgr, kRgb, kGray };
enum class Interpolation { kNearest, kLinear, kCubic, kArea };
enum class ResizeMode { kStretch, kKeepAspectPad };
enum class PadAlign { kCenter, kTopLeft };
enum class Layout { kNchw, kNhwc };

// Parsers for config/CLI strings ("bgr", "linear", "keep_aspect_pad", "nchw", ...); errors list
// the accepted values.
Result<ColorOrder> ParseColorOrder(const std::string& s);
Result<Interpolation> ParseInterpolation(const std::string& s);
Result<ResizeMode> ParseResizeMode(const std::string& s);
Result<Layout> ParseLayout(const std::string& s);

struct ImageDatasetOptions {
  // Folder, glob pattern, list file or single image (see SourceKind).
  std::string source;
  SourceKind source_kind = SourceKind::kAuto;
  // Model input the tensor feeds; "" = the model's only input.
  std::string input_name;
  ColorOrder color = ColorOrder::kBgr;
  // Target size; 0 x 0 keeps each image's own size (all images must then agree for batching,
  // which is the caller's concern).
  int height = 0;
  int width = 0;
  ResizeMode resize_mode = ResizeMode::kStretch;
  Interpolation interpolation = Interpolation::kLinear;
  double pad_value = 0.0;  // kKeepAspectPad fill (raw pixel value)
  PadAlign pad_align = PadAlign::kCenter;
  // Central crop fraction in (0, 1]; 0 or 1 = no crop.
  double central_fraction = 0.0;
  int border = 0;  // pixels added on each side after resizing
  double border_value = 0.0;
  std::vector<float> mean;   // per channel, or one value; empty = 0
  std::vector<float> scale;  // per channel, or one value; empty = 1
  Layout layout = Layout::kNchw;
  graph::ElementType output_type = graph::ElementType::kF32;  // kF32 or kU8
  AnnotationOptions annotations;
};

class ImageDataset : public Dataset {
 public:
  // Lists the files and loads annotations; images are decoded lazily in Get(). Errors: bad
  // options (named), no files, unreadable annotation files.
  static Result<std::unique_ptr<ImageDataset>> Create(const ImageDatasetOptions& options);

  size_t size() const override { return files_.size(); }
  Result<Sample> Get(size_t i) const override;

  const std::vector<std::filesystem::path>& files() const { return files_; }
  // The preprocessed tensor of one image file (steps 1–6), independent of the file list.
  Result<graph::Tensor> LoadImage(const std::filesystem::path& file) const;

  // Extensions accepted when listing a folder (those OpenCV's imgcodecs reads).
  static const std::vector<std::string>& Extensions();

 private:
  explicit ImageDataset(ImageDatasetOptions o) : options_(std::move(o)) {}
  ImageDatasetOptions options_;
  std::vector<std::filesystem::path> files_;
  FileAnnotations annotations_;
};

}  // namespace ptqflow::io

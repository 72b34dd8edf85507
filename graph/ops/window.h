// Sliding-window geometry shared by shape inference and the executor: how OpenVINO's
// `auto_pad` modes (explicit / notset, same_upper, same_lower, valid) turn into per-axis pads and
// output sizes for Convolution and pooling ops.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/status.h"

namespace ptqflow::graph::ops {

enum class AutoPad { kExplicit, kSameUpper, kSameLower, kValid };

// Parses "explicit", "notset" (= explicit), "same_upper", "same_lower", "valid" (any case).
Result<AutoPad> ParseAutoPad(const std::string& s);

// Output-size rounding of a pooling window: floor (default, and always for Convolution), ceil
// (OpenVINO "ceil": ceil((in + pads - window) / stride) + 1), ceil_torch (as ceil, but a last
// window that would start inside the end padding is dropped, as PyTorch/ONNX do).
enum class Rounding { kFloor, kCeil, kCeilTorch };

// One spatial axis: the effective pads and output size of a window of `kernel` elements with
// `stride` and `dilation` over an input of `in` elements (in < 0 = dynamic -> out = -1).
// For kExplicit the given pads are used; for kValid pads are 0; for kSame* the total pad
// makes out = ceil(in / stride), split with the odd element at the end (same_upper) or the
// beginning (same_lower).
struct WindowAxis {
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
  int64_t out = 0;
};
WindowAxis ResolveWindowAxis(AutoPad mode, int64_t in, int64_t kernel, int64_t stride,
                             int64_t dilation, int64_t pad_begin, int64_t pad_end,
                             Rounding rounding = Rounding::kFloor);

}  // namespace ptqflow::graph::ops

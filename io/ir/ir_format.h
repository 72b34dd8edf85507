// Small pieces of the OpenVINO IR XML format shared by the reader and the writer.
//
// Tensor names: a port's `names` attribute lists its tensor names separated by commas; a comma
// inside a name is written as "\,". Port dims: one <dim> per axis, "-1" for a dynamic
// dimension. A port of dynamic rank is written (by ptqflow) as a single <dim>...</dim>.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ptqflow::io {

// "a,b\,c" -> {"a", "b,c"}; "" -> {}.
std::vector<std::string> SplitTensorNames(std::string_view names);
// Inverse of SplitTensorNames.
std::string JoinTensorNames(const std::vector<std::string>& names);

inline constexpr std::string_view kDynamicRankDim = "...";

}  // namespace ptqflow::io

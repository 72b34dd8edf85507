// Reading a model in either format into one graph: `.xml` (+ `.bin`) OpenVINO IR v10/v11 or
// `.onnx`. Input shapes can be fixed and inputs frozen to constants; afterwards every port has
// its element type and shape inferred (graph::ops::InferShapes).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"

namespace ptqflow::io {

struct ModelReadOptions {
  // Fixes model input shapes (e.g. x -> [1,3,48,320]).
  std::map<std::string, graph::PartialShape> input_shapes;
  // ONNX only: replaces inputs by constants (e.g. sr -> int64 16000).
  std::map<std::string, graph::Tensor> frozen_inputs;
  // IR only: weights file (default: the .xml path with .bin).
  std::filesystem::path weights;
};

Result<graph::Graph> ReadModel(const std::filesystem::path& path,
                               const ModelReadOptions& options = {});

// Splits "name=value[,name=value...]" into pairs, in order. Empty names or values and repeated
// names are errors quoting `what` (e.g. "--input") and the bad item.
Result<std::vector<std::pair<std::string, std::string>>> ParseNameValueList(
    const std::string& spec, const std::string& what);

// Parses "name=value[,name=value...]" into scalar tensors: an integer literal gives i64, a
// number with '.'/'e' gives f32. Error quotes the bad text.
Result<std::map<std::string, graph::Tensor>> ParseFrozenInputs(const std::string& spec);

}  // namespace ptqflow::io

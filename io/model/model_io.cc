#include "io/model/model_io.h"

#include <charconv>

#include "graph/ops/shape_inference.h"
#include "io/ir/ir_reader.h"
#include "io/onnx/onnx_importer.h"

namespace ptqflow::io {
namespace fs = std::filesystem;

Result<graph::Graph> ReadModel(const fs::path& path, const ModelReadOptions& options) {
  const std::string ext = path.extension().string();
  if (ext == ".onnx") {
    OnnxImportOptions onnx;
    onnx.input_shapes = options.input_shapes;
    onnx.frozen_inputs = options.frozen_inputs;
    return ImportOnnx(path, onnx);
  }
  if (ext != ".xml") {
    return Status::Error("'" + path.string() +
                         "': unknown model format (expected .xml for OpenVINO IR or .onnx)");
  }
  if (!options.frozen_inputs.empty()) {
    return Status::Error("'" + path.string() + "': freezing inputs is supported for ONNX models");
  }
  PTQ_ASSIGN_OR_RETURN(graph::Graph g, ReadIr(path, options.weights));
  if (!options.input_shapes.empty()) {
    PTQ_RETURN_IF_ERROR(
        graph::ops::SetInputShapes(g, options.input_shapes).WithContext(path.string()));
    PTQ_RETURN_IF_ERROR(graph::ops::InferShapes(g).WithContext(path.string()));
  }
  return g;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseNameValueList(
    const std::string& spec, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status::Error(what + " '" + item + "' is not of the form name=value");
    }
    for (const auto& [name, value] : out) {
      if (name == item.substr(0, eq)) {
        return Status::Error(what + " names '" + name + "' twice");
      }
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

Result<std::map<std::string, graph::Tensor>> ParseFrozenInputs(const std::string& spec) {
  PTQ_ASSIGN_OR_RETURN(auto items, ParseNameValueList(spec, "frozen input"));
  std::map<std::string, graph::Tensor> out;
  for (const auto& [name, value] : items) {
    const char* b = value.data();
    const char* e = value.data() + value.size();
    int64_t iv = 0;
    auto ri = std::from_chars(b, e, iv);
    if (ri.ec == std::errc() && ri.ptr == e) {
      out[name] = graph::Tensor::FromVector<int64_t>(graph::ElementType::kI64, {}, {iv});
      continue;
    }
    float fv = 0;
    auto rf = std::from_chars(b, e, fv);
    if (rf.ec != std::errc() || rf.ptr != e) {
      return Status::Error("frozen input '" + name + "': '" + value + "' is not a number");
    }
    out[name] = graph::Tensor::Scalar(fv);
  }
  return out;
}

}  // namespace ptqflow::io

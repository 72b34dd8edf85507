// ONNX importer: reads an ONNX model (protobuf, onnx.proto from libonnx-dev) and translates it
// into a graph::Graph in the OpenVINO op set, the way OpenVINO's own ONNX frontend does
// (Conv -> Convolution/GroupConvolution + bias Add, Gemm -> MatMul [+ Multiply] + Add, ...).
//
//   * Default-domain opsets 7-18 are accepted; any other opset, or a node of another domain, is an
//     error naming it.
//   * Weights come from initializers and `Constant` nodes (raw_data and the typed fields; f32,
//     f16, bf16, f64, (u)int8/16/32/64, bool). External data is rejected with a clear error.
//   * Graph inputs become Parameters (dim_param -> dynamic dim), unless fixed by
//     `input_shapes` or replaced by a constant through `frozen_inputs`. Initializers that are
//     also listed as graph inputs are constants.
//   * Model outputs become Result nodes named after the output.
//   * `If` nodes whose condition is known at import time (constant sub-graphs, shapes of values
//     once the input shapes are static) are replaced by their taken branch. A non-constant If is
//     an error that suggests fixing input shapes or freezing inputs.
//   * BatchNormalization becomes BatchNormInference (opset5); it is not folded into the conv.
//   * Every main op is named after its ONNX node (or its first output if the node has no name)
//     and records that name in `Node::onnx_node`; helper ops get "/Suffix" names. Every output
//     port that carries an ONNX tensor 1:1 has `names = {tensor}` and
//     `OutputPort::onnx_tensor = tensor`.
//   * After translation, nodes that do not contribute to an output are removed and
//     graph::ops::InferShapes fills every port's element type and shape.
//
// The list of translated ONNX op types is io/onnx/translators.def.
//
// Errors name the file and, for a node, "ONNX node 'name' (OpType)" and what is wrong. No
// exception escapes. Thread-safety: ImportOnnx is reentrant (no shared state).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/shape.h"
#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::io {

struct OnnxImportOptions {
  // Fixes (dynamic) input dims, e.g. {"x", [1,3,48,320]}. An unknown input name, or a shape whose
  // rank or static dims contradict the model's declared input, is an error.
  std::map<std::string, graph::PartialShape> input_shapes;
  // Replaces a graph input by a constant (like OpenVINO MO's freeze_placeholder_with_value),
  // e.g. {"sr", int64 scalar 16000}. Unknown input name is an error.
  std::map<std::string, graph::Tensor> frozen_inputs;
  // Run graph::ops::InferShapes on the result (default). Turning it off leaves output ports
  // as the translators made them (element types/shapes of non-Const ports unknown).
  bool infer_shapes = true;
};

Result<graph::Graph> ImportOnnx(const std::filesystem::path& file,
                                const OnnxImportOptions& options = {});

// Same, from serialized ModelProto bytes; `source_name` is used in messages in place of the
// file name.
Result<graph::Graph> ImportOnnxFromBytes(const std::string& bytes, const std::string& source_name,
                                         const OnnxImportOptions& options = {});

// The ONNX op types the importer translates (default domain), sorted.
std::vector<std::string> SupportedOnnxOps();

}  // namespace ptqflow::io

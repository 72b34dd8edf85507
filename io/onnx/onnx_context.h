// Internal to io/onnx: what one ONNX node's translator sees, and the shared import state.
//
// ImportState owns the graph under construction, the map from ONNX tensor names to graph values,
// and lazily runs shape inference when a translator needs a shape (e.g. a rank to normalize an
// axis) or an If condition depends on a shape. NodeContext borrows the state for one ONNX node:
// it reads inputs and attributes, builds ops named after the node, binds the node's outputs to
// graph values and formats errors as "ONNX node 'name' (OpType): why".
//
// Thread-safety: none; one import at a time per ImportState.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "graph/tensor.h"
#include "io/onnx/onnx_importer.h"

namespace ptqflow::io::onnx_import {

// ONNX TensorProto data type -> element type; error names the numeric type.
Result<graph::ElementType> ElementTypeFromOnnx(int32_t data_type);
// Decodes an ONNX tensor (raw_data or typed fields). External data / strings -> error naming the
// tensor.
Result<graph::Tensor> TensorFromProto(const onnx::TensorProto& t);

class ImportState {
 public:
  ImportState(const OnnxImportOptions& options, int opset) : options_(options), opset_(opset) {}

  graph::Graph& graph() { return g_; }
  const OnnxImportOptions& options() const { return options_; }
  int opset() const { return opset_; }

  // ONNX tensor name -> value; nullptr if unknown.
  const graph::ValueRef* Lookup(const std::string& name) const;
  void Bind(const std::string& name, graph::ValueRef v) { values_[name] = v; }

  // Marks shapes stale (called whenever a node is added).
  void Touch() { shapes_fresh_ = false; }
  // Shape of a value, running graph::ops::InferShapes on the graph built so far if stale.
  Result<graph::PartialShape> ShapeOf(graph::ValueRef v);

 private:
  graph::Graph g_;
  const OnnxImportOptions& options_;
  int opset_;
  std::unordered_map<std::string, graph::ValueRef> values_;
  bool shapes_fresh_ = false;
  Status last_infer_;
};

class NodeContext {
 public:
  NodeContext(ImportState& st, const onnx::NodeProto& node, const char* target)
      : st_(st), node_(node), target_(target) {}

  const onnx::NodeProto& proto() const { return node_; }
  const std::string& op_type() const { return node_.op_type(); }
  // The ONNX node name, or its first output's name when the node has none.
  std::string name() const;
  int opset() const { return st_.opset(); }
  // The OpenVINO op type the translator table pairs with this ONNX op ("" if none).
  const char* target() const { return target_; }
  graph::Graph& graph() { return st_.graph(); }
  ImportState& state() { return st_; }

  size_t num_inputs() const { return static_cast<size_t>(node_.input_size()); }
  bool has_input(size_t i) const { return i < num_inputs() && !node_.input(int(i)).empty(); }
  // Error if the input is absent or unknown.
  Result<graph::ValueRef> input(size_t i) const;
  // The constant tensor feeding input i (a Const node), or nullptr.
  const graph::Tensor* const_input(size_t i) const;
  // Constant input i as int64 values; error if absent or not constant (names `what`).
  Result<std::vector<int64_t>> const_ints(size_t i, const std::string& what) const;
  size_t num_outputs() const { return static_cast<size_t>(node_.output_size()); }
  bool has_output(size_t i) const { return i < num_outputs() && !node_.output(int(i)).empty(); }

  const onnx::AttributeProto* attr(const std::string& name) const;
  Result<int64_t> attr_int(const std::string& name, int64_t def) const;
  Result<float> attr_float(const std::string& name, float def) const;
  Result<std::string> attr_string(const std::string& name, const std::string& def) const;
  Result<std::vector<int64_t>> attr_ints(const std::string& name,
                                         const std::vector<int64_t>& def) const;
  Result<std::vector<float>> attr_floats(const std::string& name,
                                         const std::vector<float>& def) const;
  Result<graph::Tensor> attr_tensor(const std::string& name) const;

  // Adds an op named name()+suffix, tagged with this ONNX node; returns its id.
  graph::NodeId AddOp(const std::string& type, const std::string& version,
                      std::vector<graph::ValueRef> inputs, graph::Attributes attrs = {},
                      const std::string& suffix = "", int num_outputs = 1);
  // Same, returns output 0.
  graph::ValueRef Op(const std::string& type, const std::string& version,
                     std::vector<graph::ValueRef> inputs, graph::Attributes attrs = {},
                     const std::string& suffix = "") {
    return {AddOp(type, version, std::move(inputs), std::move(attrs), suffix, 1), 0};
  }
  graph::ValueRef Const(const std::string& suffix, graph::Tensor t);
  graph::ValueRef ConstI64(const std::string& suffix, const std::vector<int64_t>& v,
                           bool scalar = false);
  graph::ValueRef ConstF32(const std::string& suffix, float v, graph::Shape shape = {});

  // Binds ONNX output i to `v` (no-op when the output is absent). The port gets the ONNX name as
  // tensor name and, if it has none yet, as onnx_tensor.
  void SetOutput(size_t i, graph::ValueRef v);

  // Shape / rank of a value (may run shape inference on the graph so far).
  Result<graph::PartialShape> ShapeOf(graph::ValueRef v);
  // Known rank of input i; error if it cannot be determined.
  Result<int64_t> InputRank(size_t i);

  // "ONNX node 'name' (OpType): message".
  Status Error(const std::string& message) const;

 private:
  ImportState& st_;
  const onnx::NodeProto& node_;
  const char* target_;
};

// Attribute string helpers.
std::string JoinInts(const std::vector<int64_t>& v);

// Reshapes x to 2-D [prod(dims[:axis]), prod(dims[axis:])] (constant target when the leading dims
// are static, else computed from ShapeOf). Helper ops are named name()+sfx.
Result<graph::ValueRef> FlattenTo2D(NodeContext& ctx, graph::ValueRef x, int64_t axis,
                                    const std::string& sfx);

// One ONNX op's translation into the OpenVINO op set.
using TranslateFn = Status (*)(NodeContext&);

#define PTQ_ONNX_OP(onnx_type, fn, target) Status fn(NodeContext& ctx);
#include "io/onnx/translators.def"
#undef PTQ_ONNX_OP

// Implemented by the importer: translates the nodes of an If's taken branch (used by TranslateIf).
Status TranslateSubgraph(ImportState& st, const onnx::GraphProto& g);
// Tries to evaluate a small integer/boolean value at import time (constants, shapes of values
// with static shapes and integer ops on them). Returns an empty tensor if unknown; `why` gets
// the reason.
graph::Tensor EvaluateValue(ImportState& st, graph::ValueRef v, std::string* why);

}  // namespace ptqflow::io::onnx_import

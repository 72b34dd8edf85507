// Shape and element-type inference for the OpenVINO op set (opset1–opset13 semantics).
//
// InferShapes walks the graph in topological order and sets every output port's element type
// and (partial) shape from its inputs and attributes. Small integer tensors whose values are
// known at compile time (Const, ShapeOf of a static shape, and integer arithmetic / Gather /
// Concat / Squeeze / Unsqueeze / Slice / StridedSlice / Convert / Range on such values) are
// evaluated along the way, so a Reshape fed by a shape sub-graph gets a static output shape
// once the inputs are static. Errors name the layer (Describe(node)) and what is wrong
// (bad attribute, incompatible shapes, element-type mismatch, unknown op type).
//
// Ops whose type is not in the op table keep the output ports they already have (e.g. as read
// from an IR file), so unknown ops survive a round trip; InferShapes reports them only when
// `options.require_known_ops` is set.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace ptqflow::graph::ops {

struct InferOptions {
  bool require_known_ops = false;
};

Status InferShapes(Graph& g, const InferOptions& options = {});

// Fixes model input shapes, e.g. {"x": [1,3,48,320]}. Unknown input name, or a shape whose rank
// or static dims contradict the model's declared input shape -> error naming the input.
// Updates the Parameter's `shape` attribute and its output port; call InferShapes afterwards.
Status SetInputShapes(Graph& g, const std::map<std::string, PartialShape>& shapes);
// Parses "x[1,3,48,320]" or "a[1,16],b[1,?]" (? or -1 = dynamic). Error quotes the bad text.
Result<std::map<std::string, PartialShape>> ParseInputShapes(const std::string& spec);

// Replaces every non-Const node whose outputs were all evaluated by InferShapes (value-known)
// with Const nodes, then removes nodes no longer used. Returns the number of folded nodes.
//   single-output node: becomes a Const in place (same NodeId, name, ir_id and output port,
//                       so consumers are untouched);
//   multi-output node:  one Const per output, named "<name>.<port>", carrying the port's
//                       tensor names; the node is removed.
// Nodes made dead by the folding are removed (Parameters never); nodes that were already unused
// are kept. Value-known means: i32/i64/boolean tensors of at most 1024 elements and f32/f64
// tensors of at most 64 elements (see graph/ops/infer_context.h). Float -> integer Convert
// truncates toward zero.
Result<int> FoldKnownValues(Graph& g);

// True if `type` is in the op table (has shape inference).
bool IsKnownOp(const std::string& type);
// All op types in the table, sorted.
std::vector<std::string> KnownOps();
// The table's default opset version for `type` ("opset1", ...); "" if not in the table.
std::string DefaultOpsetVersion(const std::string& type);

}  // namespace ptqflow::graph::ops

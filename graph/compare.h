// Structural comparison of two graphs, used by the round-trip tests of every part of the
// project (IR read -> write -> read, ONNX import -> IR -> read, passes that must be no-ops).
//
// Live nodes are matched pairwise in node-id order (tombstones are skipped), so both graphs
// must have the same live-node sequence. For each pair: name, type, version, attributes (names,
// values and order), input count and each input's source (by position of the producing node
// in the live sequence, and port), input/output port rt_info, output element type, shape and
// tensor names, constant type, shape and bytes, layer rt_info. Also compared: graph name and
// net rt_info. Not compared: Graph::ir_version; IR layer/port ids and ONNX origins unless
// asked for in CompareOptions.
//
// Thread-safety: reads both graphs only.
#pragma once

#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::graph {

struct CompareOptions {
  // Also compare Node::ir_id and the ir_port_id of every port.
  bool compare_ir_ids = false;
  // Also compare Node::onnx_node and OutputPort::onnx_tensor.
  bool compare_onnx_origin = false;
};

// Ok if equal; otherwise an error whose message describes the FIRST difference found, naming
// the node (live position, Describe() of both sides) and what differs with both values.
Status CompareGraphs(const Graph& a, const Graph& b, const CompareOptions& options = {});

}  // namespace ptqflow::graph

// The model in memory: one graph in the OpenVINO op set for both input formats (IR and ONNX).
//
//   Node  — an op instance: name, type ("Convolution"), opset version ("opset1"), attributes as
//           the IR stores them, numbered input ports (each fed by one ValueRef) and output ports
//           (element type, partial shape, tensor names), optional constant data (type "Const"),
//           rt_info kept as opaque XML text.
//   Graph — owns its nodes in a vector; nodes are addressed by index (NodeId), so a Graph copy
//           is a deep structural copy that shares constant bytes (Tensor handles).
//
// Removing a node leaves a tombstone (alive() false); indices of other nodes never change.
// Thread-safety: none internally; a const Graph may be read from many threads.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/attributes.h"
#include "graph/element_type.h"
#include "graph/shape.h"
#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::graph {

using NodeId = int32_t;
inline constexpr NodeId kNoNode = -1;

// One output port of one node: the unit of data flow (a "value" / tensor).
struct ValueRef {
  NodeId node = kNoNode;
  int32_t port = 0;
  bool valid() const { return node != kNoNode; }
  bool operator==(const ValueRef& o) const { return node == o.node && port == o.port; }
  bool operator!=(const ValueRef& o) const { return !(*this == o); }
  bool operator<(const ValueRef& o) const { return node != o.node ? node < o.node : port < o.port; }
};

struct ValueRefHash {
  size_t operator()(const ValueRef& v) const {
    return std::hash<int64_t>()((int64_t(v.node) << 32) ^ uint32_t(v.port));
  }
};

struct InputPort {
  ValueRef source;
  int32_t ir_port_id = -1;  // id in the IR file; -1 = assign on write
  std::string rt_info;      // opaque XML of the port's <rt_info>, "" if none
};

struct OutputPort {
  ElementType type = ElementType::kUndefined;
  PartialShape shape;
  std::vector<std::string> names;  // tensor names (IR `names`, ONNX value name)
  int32_t ir_port_id = -1;
  std::string rt_info;
  // Name of the ONNX tensor this value was translated from ("" if none or not 1:1). The QDQ
  // exporter writes quantization back onto that tensor.
  std::string onnx_tensor;
};

struct Node {
  std::string name;
  std::string type;     // OpenVINO op type; constants are "Const"
  std::string version;  // "opset1", ...; "" if unknown
  Attributes attrs;     // for Const: no element_type/shape/offset/size (see constant)
  std::vector<InputPort> inputs;
  std::vector<OutputPort> outputs;
  Tensor constant;        // type "Const" only
  std::string rt_info;    // opaque XML of the layer's <rt_info>, "" if none
  int64_t ir_id = -1;     // layer id in the IR file; -1 = assign on write
  std::string onnx_node;  // ONNX node this op was translated from ("" if none)
  bool alive = true;

  bool is_const() const { return type == "Const"; }
  ValueRef input(size_t i) const { return inputs[i].source; }
};

// "layer 'conv1' (id 5, Convolution)" — the form every error message about a node uses.
std::string Describe(const Node& n);

class Graph {
 public:
  // Appends a node and returns its id. Output ports keep their given order.
  NodeId AddNode(Node n);
  // Convenience builders.
  NodeId AddConst(const std::string& name, Tensor value);
  NodeId AddParameter(const std::string& name, ElementType type, PartialShape shape);
  NodeId AddOp(const std::string& type, const std::string& name, std::vector<ValueRef> inputs,
               Attributes attrs = {}, int num_outputs = 1, const std::string& version = "");
  NodeId AddResult(const std::string& name, ValueRef value);

  // Marks a node removed. Callers must first re-route its consumers.
  void RemoveNode(NodeId id);
  // Every input that reads `from` now reads `to`.
  void ReplaceAllUses(ValueRef from, ValueRef to);

  size_t size() const { return nodes_.size(); }  // including tombstones
  Node& node(NodeId id) { return nodes_[static_cast<size_t>(id)]; }
  const Node& node(NodeId id) const { return nodes_[static_cast<size_t>(id)]; }
  const OutputPort& output(ValueRef v) const { return node(v.node).outputs[v.port]; }
  OutputPort& output(ValueRef v) { return node(v.node).outputs[v.port]; }
  bool contains(NodeId id) const { return id >= 0 && size_t(id) < nodes_.size(); }

  // Live nodes of the given type, in id order. Parameters and Results in id order are the
  // model's inputs and outputs.
  std::vector<NodeId> NodesOfType(const std::string& type) const;
  std::vector<NodeId> parameters() const { return NodesOfType("Parameter"); }
  std::vector<NodeId> results() const { return NodesOfType("Result"); }
  std::vector<NodeId> LiveNodes() const;
  NodeId FindByName(const std::string& name) const;  // kNoNode if absent (first match)

  // For every live value, the (node, input index) pairs that read it, in node-id order.
  struct Use {
    NodeId node;
    int32_t input;
  };
  std::unordered_map<ValueRef, std::vector<Use>, ValueRefHash> BuildConsumers() const;

  // Live nodes such that producers precede consumers; ties broken by node id (deterministic).
  // Error on a cycle, naming a node on it.
  Result<std::vector<NodeId>> TopologicalOrder() const;

  // Structural checks: every input references a live node's existing output port; no cycles;
  // at least one Result; Const nodes carry data matching their output port.
  Status Validate() const;

  std::string name;
  int ir_version = 11;
  std::string rt_info;  // opaque XML of the net's <rt_info>

 private:
  std::vector<Node> nodes_;
};

}  // namespace ptqflow::graph

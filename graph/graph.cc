#include "graph/graph.h"

#include <glog/logging.h>

#include <queue>

namespace ptqflow::graph {

std::string Describe(const Node& n) {
  return "layer '" + n.name + "' (id " + std::to_string(n.ir_id) + ", " + n.type + ")";
}

NodeId Graph::AddNode(Node n) {
  nodes_.push_back(std::move(n));
  return static_cast<NodeId>(nodes_.size() - 1);
}

NodeId Graph::AddConst(const std::string& name, Tensor value) {
  Node n;
  n.name = name;
  n.type = "Const";
  n.version = "opset1";
  OutputPort out;
  out.type = value.type();
  out.shape = PartialShape(value.shape());
  n.outputs.push_back(std::move(out));
  n.constant = std::move(value);
  return AddNode(std::move(n));
}

NodeId Graph::AddParameter(const std::string& name, ElementType type, PartialShape shape) {
  Node n;
  n.name = name;
  n.type = "Parameter";
  n.version = "opset1";
  std::string dims;
  if (shape.rank_known()) {
    for (size_t i = 0; i < shape.rank(); ++i) {
      if (i) dims += ",";
      dims += std::to_string(shape[i]);
    }
  } else {
    dims = "...";
  }
  n.attrs.Set("shape", dims);
  n.attrs.Set("element_type", std::string(ElementTypeName(type)));
  OutputPort out;
  out.type = type;
  out.shape = std::move(shape);
  out.names = {name};
  n.outputs.push_back(std::move(out));
  return AddNode(std::move(n));
}

NodeId Graph::AddOp(const std::string& type, const std::string& name, std::vector<ValueRef> inputs,
                    Attributes attrs, int num_outputs, const std::string& version) {
  Node n;
  n.name = name;
  n.type = type;
  n.version = version;
  n.attrs = std::move(attrs);
  for (const ValueRef& v : inputs) {
    InputPort p;
    p.source = v;
    n.inputs.push_back(p);
  }
  n.outputs.resize(static_cast<size_t>(num_outputs));
  return AddNode(std::move(n));
}

NodeId Graph::AddResult(const std::string& name, ValueRef value) {
  return AddOp("Result", name, {value}, {}, 0, "opset1");
}

void Graph::RemoveNode(NodeId id) {
  Node& n = node(id);
  n.alive = false;
  n.inputs.clear();
  n.constant = Tensor();
}

void Graph::ReplaceAllUses(ValueRef from, ValueRef to) {
  for (Node& n : nodes_) {
    if (!n.alive) continue;
    for (InputPort& p : n.inputs) {
      if (p.source == from) p.source = to;
    }
  }
}

std::vector<NodeId> Graph::NodesOfType(const std::string& type) const {
  std::vector<NodeId> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].alive && nodes_[i].type == type) out.push_back(static_cast<NodeId>(i));
  }
  return out;
}

std::vector<NodeId> Graph::LiveNodes() const {
  std::vector<NodeId> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].alive) out.push_back(static_cast<NodeId>(i));
  }
  return out;
}

NodeId Graph::FindByName(const std::string& name) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].alive && nodes_[i].name == name) return static_cast<NodeId>(i);
  }
  return kNoNode;
}

std::unordered_map<ValueRef, std::vector<Graph::Use>, ValueRefHash> Graph::BuildConsumers() const {
  std::unordered_map<ValueRef, std::vector<Use>, ValueRefHash> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (!n.alive) continue;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      out[n.inputs[k].source].push_back({static_cast<NodeId>(i), static_cast<int32_t>(k)});
    }
  }
  return out;
}

Result<std::vector<NodeId>> Graph::TopologicalOrder() const {
  const size_t n = nodes_.size();
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<NodeId>> succ(n);
  for (size_t i = 0; i < n; ++i) {
    if (!nodes_[i].alive) continue;
    for (const InputPort& p : nodes_[i].inputs) {
      if (!contains(p.source.node) || !nodes_[p.source.node].alive) {
        return Status::Error(Describe(nodes_[i]) + ": input reads a missing node");
      }
      ++indegree[i];
      succ[static_cast<size_t>(p.source.node)].push_back(static_cast<NodeId>(i));
    }
  }
  std::priority_queue<NodeId, std::vector<NodeId>, std::greater<>> ready;
  size_t live = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!nodes_[i].alive) continue;
    ++live;
    if (indegree[i] == 0) ready.push(static_cast<NodeId>(i));
  }
  std::vector<NodeId> order;
  order.reserve(live);
  while (!ready.empty()) {
    NodeId id = ready.top();
    ready.pop();
    order.push_back(id);
    for (NodeId s : succ[static_cast<size_t>(id)]) {
      if (--indegree[static_cast<size_t>(s)] == 0) ready.push(s);
    }
  }
  if (order.size() != live) {
    for (size_t i = 0; i < n; ++i) {
      if (nodes_[i].alive && indegree[i] > 0) {
        return Status::Error("the graph has a cycle through " + Describe(nodes_[i]));
      }
    }
  }
  return order;
}

Status Graph::Validate() const {
  for (const Node& n : nodes_) {
    if (!n.alive) continue;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const ValueRef& v = n.inputs[k].source;
      if (!contains(v.node) || !nodes_[v.node].alive) {
        return Status::Error(Describe(n) + ": input " + std::to_string(k) +
                             " is not connected to a live node");
      }
      const Node& src = nodes_[v.node];
      if (v.port < 0 || size_t(v.port) >= src.outputs.size()) {
        return Status::Error(Describe(n) + ": input " + std::to_string(k) + " reads output port " +
                             std::to_string(v.port) + " of " + Describe(src) + ", which has " +
                             std::to_string(src.outputs.size()) + " outputs");
      }
    }
    if (n.is_const()) {
      if (n.outputs.size() != 1) return Status::Error(Describe(n) + ": a Const has one output");
      if (n.constant.empty()) return Status::Error(Describe(n) + ": Const without data");
      if (n.outputs[0].type != n.constant.type() ||
          n.outputs[0].shape != PartialShape(n.constant.shape())) {
        return Status::Error(Describe(n) +
                             ": output port does not match the constant's type/shape");
      }
    }
  }
  if (results().empty()) return Status::Error("the graph has no Result");
  auto order = TopologicalOrder();
  if (!order.ok()) return order.status();
  return Status::Ok();
}

}  // namespace ptqflow::graph

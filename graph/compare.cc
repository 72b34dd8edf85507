#include "graph/compare.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace ptqflow::graph {
namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

std::string Names(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += Quote(names[i]);
  }
  return out + "]";
}

std::string ShapeString(const PartialShape& s) {
  return s.ToString() + (s.rank_known() && s.rank() == 0 ? " (scalar)" : "");
}

class Comparer {
 public:
  Comparer(const Graph& a, const Graph& b, const CompareOptions& o) : a_(a), b_(b), o_(o) {}

  Status Run() {
    if (a_.name != b_.name) {
      return Status::Error("graph names differ: " + Quote(a_.name) + " vs " + Quote(b_.name));
    }
    if (a_.rt_info != b_.rt_info) {
      return Status::Error("graph rt_info differs: " + Quote(a_.rt_info) + " vs " +
                           Quote(b_.rt_info));
    }
    live_a_ = a_.LiveNodes();
    live_b_ = b_.LiveNodes();
    for (size_t i = 0; i < live_a_.size(); ++i) pos_a_[live_a_[i]] = i;
    for (size_t i = 0; i < live_b_.size(); ++i) pos_b_[live_b_[i]] = i;
    const size_t common = std::min(live_a_.size(), live_b_.size());
    for (size_t i = 0; i < common; ++i) {
      PTQ_RETURN_IF_ERROR(CompareNode(i));
    }
    if (live_a_.size() != live_b_.size()) {
      const bool a_longer = live_a_.size() > live_b_.size();
      const Node& extra = a_longer ? a_.node(live_a_[common]) : b_.node(live_b_[common]);
      return Status::Error("live node counts differ: " + std::to_string(live_a_.size()) + " vs " +
                           std::to_string(live_b_.size()) + "; first extra node (in " +
                           (a_longer ? "first" : "second") + " graph): " + Describe(extra));
    }
    return Status::Ok();
  }

 private:
  std::string Source(const Graph& g, const std::unordered_map<NodeId, size_t>& pos,
                     ValueRef v) const {
    if (!g.contains(v.node) || !g.node(v.node).alive) return "<not a live node>";
    return Describe(g.node(v.node)) + " output " + std::to_string(v.port) + " (live node #" +
           std::to_string(pos.at(v.node)) + ")";
  }

  Status CompareNode(size_t i) {
    const Node& x = a_.node(live_a_[i]);
    const Node& y = b_.node(live_b_[i]);
    const std::string where =
        "live node #" + std::to_string(i) + " (" + Describe(x) + " vs " + Describe(y) + "): ";
    auto diff = [&](const std::string& what, const std::string& va, const std::string& vb) {
      return Status::Error(where + what + " differs: " + va + " vs " + vb);
    };
    if (x.name != y.name) return diff("name", Quote(x.name), Quote(y.name));
    if (x.type != y.type) return diff("type", Quote(x.type), Quote(y.type));
    if (x.version != y.version) return diff("version", Quote(x.version), Quote(y.version));
    if (o_.compare_ir_ids && x.ir_id != y.ir_id) {
      return diff("IR layer id", std::to_string(x.ir_id), std::to_string(y.ir_id));
    }
    if (o_.compare_onnx_origin && x.onnx_node != y.onnx_node) {
      return diff("ONNX node", Quote(x.onnx_node), Quote(y.onnx_node));
    }
    // Attributes, entry by entry (order matters: it is part of the IR bytes).
    const auto& ea = x.attrs.entries();
    const auto& eb = y.attrs.entries();
    for (size_t k = 0; k < std::min(ea.size(), eb.size()); ++k) {
      if (ea[k].first != eb[k].first) {
        return diff("attribute #" + std::to_string(k) + " name", Quote(ea[k].first),
                    Quote(eb[k].first));
      }
      if (ea[k].second != eb[k].second) {
        return diff("attribute '" + ea[k].first + "'", Quote(ea[k].second), Quote(eb[k].second));
      }
    }
    if (ea.size() != eb.size()) {
      const auto& extra = ea.size() > eb.size() ? ea[eb.size()] : eb[ea.size()];
      return diff("attribute count (first extra: '" + extra.first + "')", std::to_string(ea.size()),
                  std::to_string(eb.size()));
    }
    if (x.rt_info != y.rt_info) return diff("rt_info", Quote(x.rt_info), Quote(y.rt_info));

    if (x.inputs.size() != y.inputs.size()) {
      return diff("input port count", std::to_string(x.inputs.size()),
                  std::to_string(y.inputs.size()));
    }
    for (size_t k = 0; k < x.inputs.size(); ++k) {
      const InputPort& p = x.inputs[k];
      const InputPort& q = y.inputs[k];
      const std::string port = "input " + std::to_string(k) + " ";
      const bool a_ok = a_.contains(p.source.node) && a_.node(p.source.node).alive;
      const bool b_ok = b_.contains(q.source.node) && b_.node(q.source.node).alive;
      if (!a_ok || !b_ok || pos_a_.at(p.source.node) != pos_b_.at(q.source.node) ||
          p.source.port != q.source.port) {
        return diff(port + "source", Source(a_, pos_a_, p.source), Source(b_, pos_b_, q.source));
      }
      if (p.rt_info != q.rt_info) return diff(port + "rt_info", Quote(p.rt_info), Quote(q.rt_info));
      if (o_.compare_ir_ids && p.ir_port_id != q.ir_port_id) {
        return diff(port + "IR port id", std::to_string(p.ir_port_id),
                    std::to_string(q.ir_port_id));
      }
    }
    if (x.outputs.size() != y.outputs.size()) {
      return diff("output port count", std::to_string(x.outputs.size()),
                  std::to_string(y.outputs.size()));
    }
    for (size_t k = 0; k < x.outputs.size(); ++k) {
      const OutputPort& p = x.outputs[k];
      const OutputPort& q = y.outputs[k];
      const std::string port = "output " + std::to_string(k) + " ";
      if (p.type != q.type) {
        return diff(port + "element type", std::string(ElementTypeName(p.type)),
                    std::string(ElementTypeName(q.type)));
      }
      if (p.shape != q.shape)
        return diff(port + "shape", ShapeString(p.shape), ShapeString(q.shape));
      if (p.names != q.names) return diff(port + "tensor names", Names(p.names), Names(q.names));
      if (p.rt_info != q.rt_info) return diff(port + "rt_info", Quote(p.rt_info), Quote(q.rt_info));
      if (o_.compare_ir_ids && p.ir_port_id != q.ir_port_id) {
        return diff(port + "IR port id", std::to_string(p.ir_port_id),
                    std::to_string(q.ir_port_id));
      }
      if (o_.compare_onnx_origin && p.onnx_tensor != q.onnx_tensor) {
        return diff(port + "ONNX tensor", Quote(p.onnx_tensor), Quote(q.onnx_tensor));
      }
    }
    // Constant data.
    const Tensor& s = x.constant;
    const Tensor& t = y.constant;
    if (s.empty() != t.empty()) {
      return diff("constant presence", s.empty() ? "none" : "present",
                  t.empty() ? "none" : "present");
    }
    if (!s.empty()) {
      if (s.type() != t.type()) {
        return diff("constant element type", std::string(ElementTypeName(s.type())),
                    std::string(ElementTypeName(t.type())));
      }
      if (s.shape() != t.shape()) {
        return diff("constant shape", ShapeToString(s.shape()), ShapeToString(t.shape()));
      }
      const size_t n = s.nbytes();
      if (n == 0 || s.bytes() == t.bytes() || std::memcmp(s.bytes(), t.bytes(), n) == 0) {
        return Status::Ok();
      }
      for (size_t k = 0; k < n; ++k) {
        if (s.bytes()[k] != t.bytes()[k]) {
          return diff(
              "constant byte at offset " + std::to_string(k) + " (of " + std::to_string(n) + ")",
              std::to_string(s.bytes()[k]), std::to_string(t.bytes()[k]));
        }
      }
    }
    return Status::Ok();
  }

  const Graph& a_;
  const Graph& b_;
  const CompareOptions& o_;
  std::vector<NodeId> live_a_;
  std::vector<NodeId> live_b_;
  std::unordered_map<NodeId, size_t> pos_a_;
  std::unordered_map<NodeId, size_t> pos_b_;
};

}  // namespace

Status CompareGraphs(const Graph& a, const Graph& b, const CompareOptions& options) {
  return Comparer(a, b, options).Run();
}

}  // namespace ptqflow::graph

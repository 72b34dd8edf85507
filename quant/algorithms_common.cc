#include "quant/algorithms_common.h"

#include <glog/logging.h>

#include <algorithm>
#include <vector>

namespace ptqflow::quant {

using graph::Graph;
using graph::kNoNode;
using graph::NodeId;
using graph::ValueRef;

bool IsConvolution(const std::string& type) {
  return type == "Convolution" || type == "GroupConvolution";
}

bool IsOpWithWeights(const std::string& type) {
  return IsConvolution(type) || type == "ConvolutionBackpropData" ||
         type == "GroupConvolutionBackpropData" || type == "MatMul";
}

bool IsOpWithBias(const std::string& type) { return IsConvolution(type) || type == "MatMul"; }

int OpChannelAxis(const std::string& type) { return type == "MatMul" ? -1 : 1; }

NodeId ConstSource(const Graph& g, ValueRef v) {
  while (v.valid()) {
    const graph::Node& n = g.node(v.node);
    if (n.is_const()) return v.node;
    if (n.type != "Convert" || n.inputs.empty()) return kNoNode;
    v = n.input(0);
  }
  return kNoNode;
}

bool IsWeightFakeQuantize(const Graph& g, NodeId fq) {
  const graph::Node& n = g.node(fq);
  return n.type == "FakeQuantize" && !n.inputs.empty() && ConstSource(g, n.input(0)) != kNoNode;
}

namespace {

// Input 1 of `op`, looking through the Reshape (constant shape) that carries 4-D grouped
// convolution weights to 5-D (MO's form of GroupConvolution weights).
ValueRef WeightInput(const Graph& g, NodeId op) {
  const graph::Node& n = g.node(op);
  if (n.inputs.size() < 2) return ValueRef{};
  ValueRef w = n.input(1);
  const graph::Node& wn = g.node(w.node);
  if (wn.type == "Reshape" && wn.inputs.size() == 2 && ConstSource(g, wn.input(1)) != kNoNode) {
    w = wn.input(0);
  }
  return w;
}

}  // namespace

NodeId WeightFakeQuantize(const Graph& g, NodeId op) {
  ValueRef w = WeightInput(g, op);
  if (!w.valid()) return kNoNode;
  return IsWeightFakeQuantize(g, w.node) ? w.node : kNoNode;
}

NodeId WeightConst(const Graph& g, NodeId op) {
  ValueRef w = WeightInput(g, op);
  if (!w.valid()) return kNoNode;
  if (g.node(w.node).type == "FakeQuantize") w = g.node(w.node).input(0);
  return ConstSource(g, w);
}

BiasInfo FindBias(const Graph& g, const ConsumerMap& consumers, NodeId op) {
  BiasInfo info;
  auto it = consumers.find(ValueRef{op, 0});
  if (it == consumers.end() || it->second.size() != 1) return info;
  const NodeId add = it->second[0].node;
  const graph::Node& a = g.node(add);
  if (a.type != "Add" || a.inputs.size() < 2) return info;
  for (const graph::InputPort& in : a.inputs) {
    if (g.node(in.source.node).is_const()) {
      info.add = add;
      info.bias_const = in.source.node;
      return info;
    }
  }
  return info;
}

std::vector<float> ConstValuesF32(const Graph& g, NodeId c) {
  const graph::Tensor& t = g.node(c).constant;
  CHECK(!t.empty()) << graph::Describe(g.node(c)) << " has no data";
  graph::Tensor f = t.type() == graph::ElementType::kF32 ? t : t.ToF32();
  return std::vector<float>(f.data<float>(), f.data<float>() + f.size());
}

Status SetConstValuesF32(Graph* g, NodeId c, std::span<const float> values) {
  graph::Node& n = g->node(c);
  CHECK(n.is_const());
  const graph::Tensor& old = n.constant;
  CHECK_EQ(static_cast<int64_t>(values.size()), old.size()) << graph::Describe(n);
  graph::Tensor t = graph::Tensor::Allocate(old.type(), old.shape());
  switch (old.type()) {
    case graph::ElementType::kF32:
      std::copy(values.begin(), values.end(), t.mutable_data<float>());
      break;
    case graph::ElementType::kF64:
      std::copy(values.begin(), values.end(), t.mutable_data<double>());
      break;
    case graph::ElementType::kF16: {
      uint16_t* out = t.mutable_data<uint16_t>();
      for (size_t i = 0; i < values.size(); ++i) out[i] = graph::FloatToHalf(values[i]);
      break;
    }
    default:
      return Status::Error(graph::Describe(n) + ": cannot rewrite a constant of element type " +
                           std::string(graph::ElementTypeName(old.type())) +
                           " (expected f32, f16 or f64)");
  }
  n.constant = std::move(t);
  return Status::Ok();
}

Graph BypassFakeQuantize(const Graph& g, bool activations_only) {
  Graph copy = g;
  for (NodeId id : g.NodesOfType("FakeQuantize")) {
    if (activations_only && IsWeightFakeQuantize(g, id)) continue;
    copy.ReplaceAllUses(ValueRef{id, 0}, g.node(id).input(0));
  }
  for (NodeId id : g.NodesOfType("FakeQuantize")) {
    if (activations_only && IsWeightFakeQuantize(g, id)) continue;
    copy.RemoveNode(id);
  }
  RemoveDeadNodes(&copy);
  return copy;
}

int RemoveDeadNodes(Graph* g) {
  std::vector<bool> needed(g->size(), false);
  std::vector<NodeId> stack = g->results();
  for (NodeId r : stack) needed[static_cast<size_t>(r)] = true;
  while (!stack.empty()) {
    NodeId id = stack.back();
    stack.pop_back();
    for (const graph::InputPort& in : g->node(id).inputs) {
      if (!needed[static_cast<size_t>(in.source.node)]) {
        needed[static_cast<size_t>(in.source.node)] = true;
        stack.push_back(in.source.node);
      }
    }
  }
  int removed = 0;
  for (NodeId id : g->LiveNodes()) {
    if (!needed[static_cast<size_t>(id)]) {
      g->RemoveNode(id);
      ++removed;
    }
  }
  return removed;
}

Result<int> WeightOutputChannelAxis(const Graph& g, NodeId op, size_t rank) {
  const graph::Node& n = g.node(op);
  if (rank == 0) return 0;
  if (n.type == "ConvolutionBackpropData" || n.type == "GroupConvolutionBackpropData") {
    return rank > 1 ? 1 : 0;
  }
  if (n.type == "MatMul") {
    PTQ_ASSIGN_OR_RETURN(bool tb, n.attrs.GetBool("transpose_b", false));
    if (rank == 1) return 0;
    return static_cast<int>(tb ? rank - 2 : rank - 1);
  }
  return 0;
}

std::vector<float> MoveAxisToFront(std::span<const float> data, const graph::Shape& shape,
                                   int axis) {
  CHECK_GE(axis, 0);
  CHECK_LT(static_cast<size_t>(axis), shape.size());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t c = shape[axis];
  std::vector<float> out(data.size());
  // in[o][k][i] -> out[k][o][i]
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k = 0; k < c; ++k) {
      const float* src = data.data() + (o * c + k) * inner;
      float* dst = out.data() + (k * outer + o) * inner;
      std::copy(src, src + inner, dst);
    }
  }
  return out;
}

int64_t BroadcastIndex(const graph::Shape& big, const graph::Shape& small, int64_t i) {
  int64_t result = 0;
  int64_t small_stride = 1;
  const size_t off = big.size() - small.size();
  for (size_t d = big.size(); d-- > 0;) {
    const int64_t coord = i % big[d];
    i /= big[d];
    if (d >= off) {
      const int64_t sd = small[d - off];
      if (sd != 1) result += coord * small_stride;
      small_stride *= sd;
    }
  }
  return result;
}

}  // namespace ptqflow::quant

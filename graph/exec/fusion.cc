#include "graph/exec/fusion.h"

#include <cmath>
#include <string>

namespace ptqflow::exec {
namespace {

using dnnl::algorithm;
using graph::ElementType;

PostOp Eltwise(algorithm alg, float alpha = 0.f, float beta = 0.f) {
  PostOp p;
  p.kind = PostOp::Kind::kEltwise;
  p.alg = alg;
  p.alpha = alpha;
  p.beta = beta;
  return p;
}

// The compile-time f32 value feeding input i of n, or nullptr.
const graph::Tensor* ConstF32(const graph::Node& n, size_t i, const ConstantLookup& constant_of) {
  if (i >= n.inputs.size()) return nullptr;
  const graph::Tensor* t = constant_of(n.input(i));
  if (!t || t->empty() || t->type() != ElementType::kF32) return nullptr;
  return t;
}

// Values of a constant that broadcasts to `shape` without changing it, expanded to one value
// per channel; nullopt if it varies along any other axis.
std::optional<std::vector<float>> PerChannel(const graph::Tensor& t, const graph::Shape& shape,
                                             int axis) {
  const graph::Shape& s = t.shape();
  if (s.size() > shape.size()) return std::nullopt;
  const size_t lead = shape.size() - s.size();
  const int64_t c = shape[axis];
  bool varies = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = lead + i;
    if (s[i] == 1) continue;
    if (static_cast<int>(d) != axis || s[i] != c) return std::nullopt;
    varies = true;
  }
  const float* v = t.data<float>();
  std::vector<float> out(static_cast<size_t>(c));
  for (int64_t k = 0; k < c; ++k) out[k] = varies ? v[k] : v[0];
  return out;
}

bool AllEqual(const std::vector<float>& v) {
  for (float x : v) {
    if (x != v[0]) return false;
  }
  return true;
}

std::optional<double> ScalarConst(const graph::Node& n, size_t i,
                                  const ConstantLookup& constant_of) {
  const graph::Tensor* t = ConstF32(n, i, constant_of);
  if (!t || t->size() != 1) return std::nullopt;
  return static_cast<double>(t->data<float>()[0]);
}

}  // namespace

bool AppendPostOps(std::vector<PostOp>* ops, const std::vector<PostOp>& more,
                   bool folds_leading_affine) {
  std::vector<PostOp> out = *ops;
  for (const PostOp& op : more) {
    const bool linear = op.kind == PostOp::Kind::kEltwise && op.alg == algorithm::eltwise_linear;
    if (linear && !out.empty() && out.back().kind == PostOp::Kind::kEltwise &&
        out.back().alg == algorithm::eltwise_linear) {
      PostOp& prev = out.back();
      prev.beta = prev.beta * op.alpha + op.beta;
      prev.alpha *= op.alpha;
      continue;
    }
    out.push_back(op);
  }
  size_t first = 0;
  while (
      folds_leading_affine && first < out.size() &&
      (out[first].kind != PostOp::Kind::kEltwise || out[first].alg == algorithm::eltwise_linear)) {
    ++first;
  }
  for (size_t i = first; i < out.size(); ++i) {
    for (size_t j = first; j < i; ++j) {
      if (out[i].kind == PostOp::Kind::kEltwise && out[j].kind == PostOp::Kind::kEltwise &&
          out[i].alg == out[j].alg &&
          (out[i].alpha != out[j].alpha || out[i].beta != out[j].beta)) {
        return false;
      }
    }
  }
  *ops = std::move(out);
  return true;
}

bool AcceptsPostOps(const std::string& t) {
  // Not the transposed convolutions: oneDNN 2.6 applies their bias and post-ops in reference
  // loops after the (jit) backward-data convolution, slower than our separate kernels.
  return t == "Convolution" || t == "GroupConvolution" || t == "MatMul";
}

std::optional<std::vector<PostOp>> MatchPostOp(const graph::Graph& /*g*/, const graph::Node& n,
                                               graph::ValueRef from, const graph::Shape& shape,
                                               int channel_axis,
                                               const ConstantLookup& constant_of) {
  using Ops = std::vector<PostOp>;
  if (n.outputs.size() != 1 || n.inputs.empty()) return std::nullopt;
  if (n.outputs[0].type != ElementType::kF32 && n.outputs[0].type != ElementType::kUndefined) {
    return std::nullopt;
  }
  const std::string& t = n.type;
  const bool unary_input = n.input(0) == from;
  if (n.inputs.size() == 1 && unary_input) {
    if (t == "Relu") return Ops{Eltwise(algorithm::eltwise_relu)};
    if (t == "Sigmoid") return Ops{Eltwise(algorithm::eltwise_logistic)};
    if (t == "Tanh") return Ops{Eltwise(algorithm::eltwise_tanh)};
    if (t == "HSwish") return Ops{Eltwise(algorithm::eltwise_hardswish)};
    if (t == "Exp") return Ops{Eltwise(algorithm::eltwise_exp)};
    if (t == "Abs") return Ops{Eltwise(algorithm::eltwise_abs)};
    if (t == "Sqrt") return Ops{Eltwise(algorithm::eltwise_sqrt)};
    if (t == "Log") return Ops{Eltwise(algorithm::eltwise_log)};
    if (t == "Mish") return Ops{Eltwise(algorithm::eltwise_mish)};
    if (t == "Swish") return Ops{Eltwise(algorithm::eltwise_swish, 1.f)};
    if (t == "HSigmoid") {
      // min(max(x + 3, 0), 6) / 6 == clip(x / 6 + 0.5, 0, 1)
      return Ops{Eltwise(algorithm::eltwise_linear, 1.f / 6.f, 0.5f),
                 Eltwise(algorithm::eltwise_clip, 0.f, 1.f)};
    }
    if (t == "Clamp") {
      Result<double> lo = n.attrs.GetFloat("min");
      Result<double> hi = n.attrs.GetFloat("max");
      if (!lo.ok() || !hi.ok() || *lo > *hi) return std::nullopt;
      return Ops{
          Eltwise(algorithm::eltwise_clip, static_cast<float>(*lo), static_cast<float>(*hi))};
    }
    if (t == "Elu") {
      Result<double> a = n.attrs.GetFloat("alpha");
      if (!a.ok()) return std::nullopt;
      return Ops{Eltwise(algorithm::eltwise_elu, static_cast<float>(*a))};
    }
    if (t == "Gelu") {
      Result<std::string> mode = n.attrs.GetString("approximation_mode", "ERF");
      if (!mode.ok()) return std::nullopt;
      std::string m = *mode;
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (m == "ERF") return Ops{Eltwise(algorithm::eltwise_gelu_erf)};
      if (m == "TANH") return Ops{Eltwise(algorithm::eltwise_gelu_tanh)};
      return std::nullopt;
    }
    return std::nullopt;
  }
  if (t == "Swish" && unary_input && n.inputs.size() == 2) {
    std::optional<double> beta = ScalarConst(n, 1, constant_of);
    if (!beta) return std::nullopt;
    return Ops{Eltwise(algorithm::eltwise_swish, static_cast<float>(*beta))};
  }
  if (t == "PRelu" && unary_input && n.inputs.size() == 2) {
    std::optional<double> slope = ScalarConst(n, 1, constant_of);
    if (!slope) return std::nullopt;  // per-channel slopes stay a separate layer
    return Ops{Eltwise(algorithm::eltwise_relu, static_cast<float>(*slope))};
  }
  if (t == "HardSigmoid" && unary_input && n.inputs.size() == 3) {
    std::optional<double> a = ScalarConst(n, 1, constant_of), b = ScalarConst(n, 2, constant_of);
    if (!a || !b) return std::nullopt;
    return Ops{Eltwise(algorithm::eltwise_linear, static_cast<float>(*a), static_cast<float>(*b)),
               Eltwise(algorithm::eltwise_clip, 0.f, 1.f)};
  }
  if ((t == "Add" || t == "Multiply" || t == "Subtract") && n.inputs.size() == 2) {
    Result<std::string> bc = n.attrs.GetString("auto_broadcast", "numpy");
    if (!bc.ok() || *bc != "numpy") return std::nullopt;
    const bool first = n.input(0) == from;
    if (!first && n.input(1) != from) return std::nullopt;
    if (n.input(0) == n.input(1)) return std::nullopt;
    if (t == "Subtract" && !first) return std::nullopt;  // c - x is not a post-op here
    const graph::Tensor* c = ConstF32(n, first ? 1 : 0, constant_of);
    if (!c) return std::nullopt;
    std::optional<std::vector<float>> v = PerChannel(*c, shape, channel_axis);
    if (!v) return std::nullopt;
    if (t == "Subtract") {
      for (float& x : *v) x = -x;
    }
    const bool mul = t == "Multiply";
    if (AllEqual(*v)) {
      return Ops{mul ? Eltwise(algorithm::eltwise_linear, (*v)[0], 0.f)
                     : Eltwise(algorithm::eltwise_linear, 1.f, (*v)[0])};
    }
    PostOp p;
    p.kind = mul ? PostOp::Kind::kMul : PostOp::Kind::kAdd;
    p.values = std::move(*v);
    return Ops{std::move(p)};
  }
  if (t == "BatchNormInference" && n.inputs.size() == 5 && channel_axis == 1) {
    // opset5 order: data, gamma, beta, mean, variance (opset1 may put data third).
    const bool v1 = n.input(0) != from && n.input(2) == from;
    if (!v1 && n.input(0) != from) return std::nullopt;
    const size_t gi = v1 ? 0 : 1, bi = v1 ? 1 : 2;
    const graph::Tensor* gm = ConstF32(n, gi, constant_of);
    const graph::Tensor* bt = ConstF32(n, bi, constant_of);
    const graph::Tensor* mn = ConstF32(n, 3, constant_of);
    const graph::Tensor* vr = ConstF32(n, 4, constant_of);
    Result<double> eps = n.attrs.GetFloat("epsilon");
    const int64_t c = shape[1];
    if (!gm || !bt || !mn || !vr || !eps.ok()) return std::nullopt;
    for (const graph::Tensor* x : {gm, bt, mn, vr}) {
      if (x->size() != c) return std::nullopt;
    }
    // The BatchNormInference kernel's arithmetic: scale = g / sqrt(v + eps) (double, rounded to
    // float), y = x * scale + (b - m * scale).
    PostOp mul, add;
    mul.kind = PostOp::Kind::kMul;
    add.kind = PostOp::Kind::kAdd;
    for (int64_t k = 0; k < c; ++k) {
      const float scale =
          static_cast<float>(gm->data<float>()[k] / std::sqrt(double(vr->data<float>()[k]) + *eps));
      mul.values.push_back(scale);
      add.values.push_back(bt->data<float>()[k] - mn->data<float>()[k] * scale);
    }
    return Ops{std::move(mul), std::move(add)};
  }
  return std::nullopt;
}

std::vector<graph::NodeId> MatchDecomposedHSwish(
    const graph::Graph& g, graph::ValueRef x,
    const std::function<std::vector<graph::NodeId>(graph::ValueRef)>& uses,
    const ConstantLookup& constant_of, const std::function<bool(graph::ValueRef)>& observable) {
  using graph::NodeId;
  auto is_scalar = [&](const graph::Node& n, size_t i, double v) {
    std::optional<double> c = ScalarConst(n, i, constant_of);
    return c && std::abs(*c - v) <= 1e-6 * std::abs(v);
  };
  // The single use of v (v not observable), else kNoNode.
  auto single = [&](graph::ValueRef v) {
    if (observable(v)) return graph::kNoNode;
    std::vector<NodeId> u = uses(v);
    return u.size() == 1 ? u[0] : graph::kNoNode;
  };
  auto other_input = [&](const graph::Node& n, graph::ValueRef v) -> std::optional<size_t> {
    if (n.inputs.size() != 2 || n.input(0) == n.input(1)) return std::nullopt;
    if (n.input(0) == v) return 1;
    if (n.input(1) == v) return 0;
    return std::nullopt;
  };
  // x/6 or x*(1/6) reading v.
  auto is_div6 = [&](NodeId id, graph::ValueRef v) {
    const graph::Node& n = g.node(id);
    std::optional<size_t> o = other_input(n, v);
    if (!o) return false;
    if (n.type == "Divide") return *o == 1 && is_scalar(n, 1, 6.0);
    return n.type == "Multiply" && is_scalar(n, *o, 1.0 / 6.0);
  };
  std::vector<NodeId> xu = uses(x);
  if (xu.size() != 2) return {};
  for (int first = 0; first < 2; ++first) {
    const NodeId add = xu[first], mul = xu[1 - first];
    const graph::Node& a = g.node(add);
    std::optional<size_t> ao = other_input(a, x);
    if (a.type != "Add" || !ao || !is_scalar(a, *ao, 3.0)) continue;
    const NodeId clamp = single({add, 0});
    if (clamp == graph::kNoNode) continue;
    const graph::Node& c = g.node(clamp);
    Result<double> lo = c.attrs.GetFloat("min"), hi = c.attrs.GetFloat("max");
    if (c.type != "Clamp" || !lo.ok() || !hi.ok() || *lo != 0.0 || *hi != 6.0) continue;
    const graph::Node& m = g.node(mul);
    if (m.type != "Multiply" || !other_input(m, x)) continue;
    const NodeId after_clamp = single({clamp, 0});
    if (after_clamp == mul) {
      const NodeId div = single({mul, 0});
      if (div != graph::kNoNode && is_div6(div, {mul, 0})) return {add, clamp, mul, div};
    } else if (after_clamp != graph::kNoNode && is_div6(after_clamp, {clamp, 0})) {
      if (single({after_clamp, 0}) == mul && other_input(m, {after_clamp, 0})) {
        return {add, clamp, after_clamp, mul};
      }
    }
  }
  return {};
}

}  // namespace ptqflow::exec

// Import-time evaluation of small integer/boolean values, used to decide which branch of an ONNX
// If node is taken. Handles the patterns exporters emit for such conditions: constants (incl.
// frozen inputs), ShapeOf of values whose shape is known (after shape inference of the graph so
// far), and Convert / Gather / Squeeze / Unsqueeze / Reshape / Concat / ReduceProd / comparisons /
// logical and integer arithmetic on them. Unknown dimensions of a partially static shape stay
// unknown element-wise, so Gather of a static dim of a partially dynamic shape is still known.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/onnx/onnx_context.h"

namespace ptqflow::io::onnx_import {
namespace {

using graph::ElementType;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

constexpr int64_t kUnknown = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxElements = 4096;

struct Val {
  Shape shape;
  std::vector<int64_t> v;  // row-major; kUnknown marks an unknown element
  bool ok = false;
};

Val Fail(std::string* why, const std::string& reason) {
  if (why->empty()) *why = reason;
  return {};
}

Val Make(Shape s, std::vector<int64_t> v) {
  Val r;
  r.shape = std::move(s);
  r.v = std::move(v);
  r.ok = true;
  return r;
}

int64_t Norm(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

class Evaluator {
 public:
  Evaluator(ImportState& st, std::string* why) : st_(st), why_(why) {}

  Val Eval(ValueRef v, int depth) {
    if (depth > 64) return Fail(why_, "the condition's sub-graph is too deep to evaluate");
    graph::Graph& g = st_.graph();
    const graph::Node& n = g.node(v.node);
    auto in = [&](size_t i) { return Eval(n.input(i), depth + 1); };
    const std::string& t = n.type;
    if (t == "Const") {
      const Tensor& c = n.constant;
      if (c.size() > kMaxElements) return Fail(why_, "constant '" + n.name + "' is too large");
      if (graph::IsFloat(c.type())) {
        std::vector<int64_t> out;
        for (double d : c.ToDoubles()) {
          if (d != std::floor(d)) {
            return Fail(why_, "constant '" + n.name + "' has non-integer values");
          }
          out.push_back(static_cast<int64_t>(d));
        }
        return Make(c.shape(), out);
      }
      if (c.type() == ElementType::kI4 || c.type() == ElementType::kU4 ||
          c.type() == ElementType::kU1) {
        return Fail(why_, "constant '" + n.name + "' has a packed type");
      }
      return Make(c.shape(), c.ToInt64s());
    }
    if (t == "Parameter") return Fail(why_, "it depends on the model input '" + n.name + "'");
    if (t == "ShapeOf") {
      auto s = st_.ShapeOf(n.input(0));
      if (!s.ok()) return Fail(why_, s.status().message());
      if (!s->rank_known()) {
        return Fail(why_, "the rank of the input of '" + n.name + "' is unknown");
      }
      std::vector<int64_t> dims;
      for (int64_t d : s->dims()) dims.push_back(d < 0 ? kUnknown : d);
      return Make({int64_t(dims.size())}, dims);
    }
    if (t == "Convert") {
      Val a = in(0);
      if (!a.ok) return a;
      auto dst = n.attrs.GetString("destination_type", "");
      if (dst.ok() && *dst == "boolean") {
        for (int64_t& x : a.v) x = x == kUnknown ? kUnknown : (x != 0);
      }
      return a;
    }
    if (t == "Squeeze" || t == "Unsqueeze" || t == "Reshape") {
      Val a = in(0);
      if (!a.ok) return a;
      std::vector<int64_t> axes;
      if (n.inputs.size() > 1) {
        Val b = in(1);
        if (!b.ok) return b;
        axes = b.v;
        for (int64_t x : axes) {
          if (x == kUnknown) return Fail(why_, "unknown axes of '" + n.name + "'");
        }
      }
      Shape out;
      const int64_t rank = int64_t(a.shape.size());
      if (t == "Squeeze") {
        for (int64_t i = 0; i < rank; ++i) {
          bool drop = axes.empty() ? a.shape[i] == 1 : false;
          for (int64_t x : axes) drop |= Norm(x, rank) == i;
          if (!drop) out.push_back(a.shape[i]);
        }
      } else if (t == "Unsqueeze") {
        const int64_t out_rank = rank + int64_t(axes.size());
        std::vector<char> ins(size_t(out_rank), 0);
        for (int64_t x : axes) {
          int64_t k = Norm(x, out_rank);
          if (k < 0 || k >= out_rank) return Fail(why_, "bad axes of '" + n.name + "'");
          ins[size_t(k)] = 1;
        }
        size_t j = 0;
        for (int64_t i = 0; i < out_rank; ++i) out.push_back(ins[size_t(i)] ? 1 : a.shape[j++]);
      } else {
        auto sz = n.attrs.GetBool("special_zero", false);
        int64_t known = 1, minus = -1;
        for (size_t i = 0; i < axes.size(); ++i) {
          int64_t d = axes[i];
          if (d == 0 && sz.ok() && *sz) d = i < a.shape.size() ? a.shape[i] : 0;
          if (d == -1) {
            minus = int64_t(i);
          } else {
            known *= d;
          }
          out.push_back(d);
        }
        if (minus >= 0) out[size_t(minus)] = known ? int64_t(a.v.size()) / known : 0;
      }
      if (graph::ElementCount(out) != int64_t(a.v.size())) {
        return Fail(why_, "shape mismatch evaluating '" + n.name + "'");
      }
      a.shape = out;
      return a;
    }
    if (t == "Gather") {
      Val d = in(0), idx = in(1), ax = in(2);
      if (!d.ok || !idx.ok || !ax.ok) return Val{};
      if (ax.v.size() != 1 || ax.v[0] == kUnknown) return Fail(why_, "unknown Gather axis");
      const int64_t rank = int64_t(d.shape.size());
      const int64_t axis = Norm(ax.v[0], rank);
      if (axis < 0 || axis >= rank) return Fail(why_, "bad Gather axis in '" + n.name + "'");
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < axis; ++i) outer *= d.shape[size_t(i)];
      for (int64_t i = axis + 1; i < rank; ++i) inner *= d.shape[size_t(i)];
      const int64_t dim = d.shape[size_t(axis)];
      Shape out(d.shape.begin(), d.shape.begin() + axis);
      out.insert(out.end(), idx.shape.begin(), idx.shape.end());
      out.insert(out.end(), d.shape.begin() + axis + 1, d.shape.end());
      std::vector<int64_t> r;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t k : idx.v) {
          if (k == kUnknown) return Fail(why_, "unknown Gather index");
          if (k < 0) k += dim;
          if (k < 0 || k >= dim) return Fail(why_, "Gather index out of range in '" + n.name + "'");
          for (int64_t i = 0; i < inner; ++i) r.push_back(d.v[size_t((o * dim + k) * inner + i)]);
        }
      }
      return Make(out, r);
    }
    if (t == "Concat") {
      std::vector<int64_t> r;
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        Val a = in(i);
        if (!a.ok) return a;
        if (a.shape.size() > 1) return Fail(why_, "Concat of rank > 1 in '" + n.name + "'");
        r.insert(r.end(), a.v.begin(), a.v.end());
      }
      return Make({int64_t(r.size())}, r);
    }
    if (t == "ReduceProd") {
      Val a = in(0);
      if (!a.ok) return a;
      if (a.shape.size() > 1) return Fail(why_, "ReduceProd of rank > 1 in '" + n.name + "'");
      int64_t p = 1;
      for (int64_t x : a.v) p = (x == kUnknown || p == kUnknown) ? kUnknown : p * x;
      auto keep = n.attrs.GetBool("keep_dims", false);
      return Make(keep.ok() && *keep ? Shape{1} : Shape{}, {p});
    }
    if (t == "LogicalNot") {
      Val a = in(0);
      if (!a.ok) return a;
      for (int64_t& x : a.v) x = x == kUnknown ? kUnknown : !x;
      return a;
    }
    static const std::map<std::string, std::function<int64_t(int64_t, int64_t)>> kBinary = {
        {"Equal", [](int64_t a, int64_t b) -> int64_t { return a == b; }},
        {"NotEqual", [](int64_t a, int64_t b) -> int64_t { return a != b; }},
        {"Less", [](int64_t a, int64_t b) -> int64_t { return a < b; }},
        {"LessEqual", [](int64_t a, int64_t b) -> int64_t { return a <= b; }},
        {"Greater", [](int64_t a, int64_t b) -> int64_t { return a > b; }},
        {"GreaterEqual", [](int64_t a, int64_t b) -> int64_t { return a >= b; }},
        {"LogicalAnd", [](int64_t a, int64_t b) -> int64_t { return a && b; }},
        {"LogicalOr", [](int64_t a, int64_t b) -> int64_t { return a || b; }},
        {"LogicalXor", [](int64_t a, int64_t b) -> int64_t { return (a != 0) != (b != 0); }},
        {"Add", [](int64_t a, int64_t b) { return a + b; }},
        {"Subtract", [](int64_t a, int64_t b) { return a - b; }},
        {"Multiply", [](int64_t a, int64_t b) { return a * b; }},
        {"Maximum", [](int64_t a, int64_t b) { return std::max(a, b); }},
        {"Minimum", [](int64_t a, int64_t b) { return std::min(a, b); }},
    };
    auto it = kBinary.find(t);
    if (it != kBinary.end() && n.inputs.size() == 2) {
      Val a = in(0), b = in(1);
      if (!a.ok || !b.ok) return Val{};
      Shape out;
      if (a.v.size() == b.v.size()) {
        out = a.shape.size() >= b.shape.size() ? a.shape : b.shape;
      } else if (b.v.size() == 1) {
        out = a.shape;
      } else if (a.v.size() == 1) {
        out = b.shape;
      } else {
        return Fail(why_, "unsupported broadcast in '" + n.name + "'");
      }
      std::vector<int64_t> r(size_t(graph::ElementCount(out)));
      for (size_t i = 0; i < r.size(); ++i) {
        int64_t x = a.v[a.v.size() == 1 ? 0 : i], y = b.v[b.v.size() == 1 ? 0 : i];
        r[i] = (x == kUnknown || y == kUnknown) ? kUnknown : it->second(x, y);
      }
      return Make(out, r);
    }
    return Fail(
        why_, "it depends on '" + n.name + "' (" + t + "), which is not evaluated at import time");
  }

 private:
  ImportState& st_;
  std::string* why_;
};

}  // namespace

Tensor EvaluateValue(ImportState& st, ValueRef v, std::string* why) {
  why->clear();
  Evaluator ev(st, why);
  Val r = ev.Eval(v, 0);
  if (!r.ok) return Tensor();
  for (int64_t x : r.v) {
    if (x == kUnknown) {
      if (why->empty()) *why = "it depends on a dimension that is dynamic";
      return Tensor();
    }
  }
  return Tensor::FromVector<int64_t>(ElementType::kI64, r.shape, r.v);
}

}  // namespace ptqflow::io::onnx_import

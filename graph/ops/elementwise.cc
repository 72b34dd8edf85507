// Element-wise ops: unary math/activations, binary arithmetic and comparisons with numpy
// broadcasting, logical ops, Select, Convert.
#include <cmath>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

// Output shape of a binary op under its auto_broadcast attribute.
Result<PartialShape> BinaryShape(const InferContext& ctx, const PartialShape& a,
                                 const PartialShape& b) {
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("auto_broadcast", "numpy"));
  if (mode == "none") {
    if (!a.rank_known()) return b;
    if (!b.rank_known()) return a;
    if (a.rank() != b.rank()) {
      return ctx.Error("auto_broadcast 'none' needs equal shapes, got " + a.ToString() + " and " +
                       b.ToString());
    }
    PartialShape out = a;
    for (size_t i = 0; i < a.rank(); ++i) {
      if (!MergeDim(a[i], b[i], &out.mutable_dims()[i])) {
        return ctx.Error("auto_broadcast 'none' needs equal shapes, got " + a.ToString() + " and " +
                         b.ToString());
      }
    }
    return out;
  }
  if (mode == "pdpd") return a;  // B is broadcast into A; output has A's shape
  if (mode != "numpy") return ctx.Error("unsupported auto_broadcast '" + mode + "'");
  auto r = BroadcastShapes(a, b);
  if (!r.ok()) return ctx.Error(r.status().message());
  return r;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t IPow(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : (a == -1 ? (b % 2 ? -1 : 1) : 0);
  int64_t r = 1;
  for (int64_t i = 0; i < b && i < 64; ++i) r *= a;
  return r;
}

// Evaluates a binary op on known values. Returns false if the op cannot be evaluated (e.g.
// integer division by zero).
bool EvalBinary(const std::string& op, const Tensor& a, const Tensor& b, ElementType out_type,
                const Shape& out_shape, Tensor* out) {
  const std::vector<int64_t> ia = BroadcastIndex(a.shape(), out_shape);
  const std::vector<int64_t> ib = BroadcastIndex(b.shape(), out_shape);
  const size_t n = ia.size();
  const bool float_math = IsFloat(a.type());
  if (float_math) {
    const std::vector<double> va = a.ToDoubles(), vb = b.ToDoubles();
    std::vector<double> r(n);
    for (size_t i = 0; i < n; ++i) {
      const double x = va[ia[i]], y = vb[ib[i]];
      double z;
      if (op == "Add")
        z = x + y;
      else if (op == "Subtract")
        z = x - y;
      else if (op == "Multiply")
        z = x * y;
      else if (op == "Divide")
        z = x / y;
      else if (op == "Maximum")
        z = std::max(x, y);
      else if (op == "Minimum")
        z = std::min(x, y);
      else if (op == "Power")
        z = std::pow(x, y);
      else if (op == "SquaredDifference")
        z = (x - y) * (x - y);
      else if (op == "FloorMod")
        z = x - std::floor(x / y) * y;
      else if (op == "Mod")
        z = std::fmod(x, y);
      else if (op == "Equal")
        z = x == y;
      else if (op == "NotEqual")
        z = x != y;
      else if (op == "Less")
        z = x < y;
      else if (op == "LessEqual")
        z = x <= y;
      else if (op == "Greater")
        z = x > y;
      else if (op == "GreaterEqual")
        z = x >= y;
      else
        return false;
      r[i] = z;
    }
    if (IsFloat(out_type) && out_type != ElementType::kF16) {
      // Round through the output precision (f32 math where OpenVINO computes in f32).
      for (double& z : r) z = out_type == ElementType::kF32 ? double(float(z)) : z;
    }
    *out = MakeTensor(out_type, out_shape, r);
    return true;
  }
  const std::vector<int64_t> va = a.ToInt64s(), vb = b.ToInt64s();
  std::vector<int64_t> r(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = va[ia[i]], y = vb[ib[i]];
    int64_t z;
    if (op == "Add")
      z = x + y;
    else if (op == "Subtract")
      z = x - y;
    else if (op == "Multiply")
      z = x * y;
    else if (op == "Divide") {
      if (y == 0) return false;
      z = FloorDiv(x, y);  // python_division default: floor for integers
    } else if (op == "Maximum")
      z = std::max(x, y);
    else if (op == "Minimum")
      z = std::min(x, y);
    else if (op == "Power")
      z = IPow(x, y);
    else if (op == "SquaredDifference")
      z = (x - y) * (x - y);
    else if (op == "FloorMod") {
      if (y == 0) return false;
      z = x - FloorDiv(x, y) * y;
    } else if (op == "Mod") {
      if (y == 0) return false;
      z = x % y;
    } else if (op == "Equal")
      z = x == y;
    else if (op == "NotEqual")
      z = x != y;
    else if (op == "Less")
      z = x < y;
    else if (op == "LessEqual")
      z = x <= y;
    else if (op == "Greater")
      z = x > y;
    else if (op == "GreaterEqual")
      z = x >= y;
    else if (op == "LogicalAnd")
      z = (x != 0) && (y != 0);
    else if (op == "LogicalOr")
      z = (x != 0) || (y != 0);
    else if (op == "LogicalXor")
      z = (x != 0) != (y != 0);
    else
      return false;
    r[i] = z;
  }
  *out = MakeIntTensor(out_type, out_shape, r);
  return true;
}

Status InferBinary(InferContext& ctx, bool boolean_output, bool boolean_inputs) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  const ElementType ta = ctx.in_type(0), tb = ctx.in_type(1);
  PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ta, tb));
  if (boolean_inputs && t != ElementType::kBoolean && t != ElementType::kUndefined) {
    return ctx.Error("inputs must be boolean, got " + std::string(ElementTypeName(t)));
  }
  PTQ_ASSIGN_OR_RETURN(PartialShape shape, BinaryShape(ctx, ctx.in_shape(0), ctx.in_shape(1)));
  const ElementType out_type = boolean_output ? ElementType::kBoolean : t;
  ctx.SetOutput(0, out_type, shape);
  const Tensor* a = ctx.in_value(0);
  const Tensor* b = ctx.in_value(1);
  if (a && b && shape.is_static() && a->type() == b->type()) {
    Tensor v;
    if (EvalBinary(ctx.node().type, *a, *b, out_type, shape.to_shape(), &v)) {
      ctx.SetValue(0, std::move(v));
    }
  }
  return Status::Ok();
}

}  // namespace

Status InferUnary(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  ctx.SetOutput(0, ctx.in_type(0), ctx.in_shape(0));
  const Tensor* v = ctx.in_value(0);
  const std::string& op = ctx.node().type;
  if (v && !IsFloat(v->type()) &&
      (op == "Negative" || op == "Abs" || op == "Floor" || op == "Ceiling" || op == "Relu" ||
       op == "Sign")) {
    std::vector<int64_t> x = v->ToInt64s();
    for (int64_t& e : x) {
      if (op == "Negative")
        e = -e;
      else if (op == "Abs")
        e = e < 0 ? -e : e;
      else if (op == "Relu")
        e = e < 0 ? 0 : e;
      else if (op == "Sign")
        e = (e > 0) - (e < 0);
    }
    ctx.SetValue(0, MakeIntTensor(v->type(), v->shape(), x));
  }
  return Status::Ok();
}

Status InferArithmetic(InferContext& ctx) { return InferBinary(ctx, false, false); }
Status InferComparison(InferContext& ctx) { return InferBinary(ctx, true, false); }
Status InferLogicalBinary(InferContext& ctx) { return InferBinary(ctx, true, true); }

}  // namespace ptqflow::graph::ops

namespace ptqflow::graph::ops {
namespace {

Status RequireFloat(const InferContext& ctx, size_t i) {
  const ElementType t = ctx.in_type(i);
  if (t != ElementType::kUndefined && !IsFloat(t)) {
    return ctx.Error("input " + std::to_string(i) + " must be floating point, got " +
                     std::string(ElementTypeName(t)));
  }
  return Status::Ok();
}

}  // namespace

Status InferLogicalNot(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  const ElementType t = ctx.in_type(0);
  if (t != ElementType::kBoolean && t != ElementType::kUndefined) {
    return ctx.Error("input must be boolean, got " + std::string(ElementTypeName(t)));
  }
  ctx.SetOutput(0, ElementType::kBoolean, ctx.in_shape(0));
  if (const Tensor* v = ctx.in_value(0)) {
    std::vector<int64_t> x = v->ToInt64s();
    for (int64_t& e : x) e = e == 0;
    ctx.SetValue(0, MakeIntTensor(ElementType::kBoolean, v->shape(), x));
  }
  return Status::Ok();
}

Status InferSelect(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3));
  const ElementType tc = ctx.in_type(0);
  if (tc != ElementType::kBoolean && tc != ElementType::kUndefined) {
    return ctx.Error("condition (input 0) must be boolean, got " +
                     std::string(ElementTypeName(tc)));
  }
  PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ctx.in_type(1), ctx.in_type(2)));
  Result<std::string> mode = ctx.Str("auto_broadcast", "numpy");
  if (!mode.ok()) return mode.status();
  PartialShape shape;
  if (mode.value() == "none") {
    shape = ctx.in_shape(1);
  } else {
    auto ab = BroadcastShapes(ctx.in_shape(1), ctx.in_shape(2));
    if (!ab.ok()) return ctx.Error(ab.status().message());
    auto abc = BroadcastShapes(*ab, ctx.in_shape(0));
    if (!abc.ok()) return ctx.Error(abc.status().message());
    shape = *abc;
  }
  ctx.SetOutput(0, t, shape);
  const Tensor* c = ctx.in_value(0);
  const Tensor* a = ctx.in_value(1);
  const Tensor* b = ctx.in_value(2);
  if (c && a && b && shape.is_static() && a->type() == b->type()) {
    const Shape& s = shape.to_shape();
    const auto ic = BroadcastIndex(c->shape(), s), ia = BroadcastIndex(a->shape(), s),
               ib = BroadcastIndex(b->shape(), s);
    const auto vc = c->ToInt64s();
    if (IsFloat(t)) {
      const auto va = a->ToDoubles(), vb = b->ToDoubles();
      std::vector<double> r(ic.size());
      for (size_t i = 0; i < r.size(); ++i) r[i] = vc[ic[i]] ? va[ia[i]] : vb[ib[i]];
      ctx.SetValue(0, MakeTensor(t, s, r));
    } else {
      const auto va = a->ToInt64s(), vb = b->ToInt64s();
      std::vector<int64_t> r(ic.size());
      for (size_t i = 0; i < r.size(); ++i) r[i] = vc[ic[i]] ? va[ia[i]] : vb[ib[i]];
      ctx.SetValue(0, MakeIntTensor(t, s, r));
    }
  }
  return Status::Ok();
}

Status InferConvert(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  PTQ_ASSIGN_OR_RETURN(ElementType t, ctx.Type("destination_type"));
  ctx.SetOutput(0, t, ctx.in_shape(0));
  const Tensor* v = ctx.in_value(0);
  if (v && IsTrackedValueType(t, v->size())) {
    if (IsFloat(t)) {
      ctx.SetValue(0, MakeTensor(t, v->shape(), v->ToDoubles()));
    } else if (IsFloat(v->type())) {
      // Float -> integer truncates toward zero (static_cast, as OpenVINO's reference Convert).
      std::vector<int64_t> x;
      for (double d : v->ToDoubles()) {
        if (!std::isfinite(d) || std::fabs(d) > 9.2e18) return Status::Ok();
        x.push_back(static_cast<int64_t>(d));
      }
      ctx.SetValue(0, MakeIntTensor(t, v->shape(), x));
    } else {
      ctx.SetValue(0, MakeIntTensor(t, v->shape(), v->ToInt64s()));
    }
  }
  return Status::Ok();
}

Status InferConvertLike(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  ctx.SetOutput(0, ctx.in_type(1), ctx.in_shape(0));
  return Status::Ok();
}

// Ops whose output equals input 0 and whose extra inputs are parameters (PRelu slope,
// HardSigmoid alpha/beta, Swish beta, ...).
Status InferLikeFirstInput(InferContext& ctx) {
  const std::string& op = ctx.node().type;
  if (op == "PRelu") {
    PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  } else if (op == "HardSigmoid") {
    PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3));
  } else if (op == "Swish") {
    PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  } else {
    PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  }
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(i)));
    (void)t;
  }
  if (op == "Clamp") {
    PTQ_ASSIGN_OR_RETURN(double lo, ctx.Float("min"));
    PTQ_ASSIGN_OR_RETURN(double hi, ctx.Float("max"));
    if (lo > hi) return ctx.Error("min " + FormatDouble(lo) + " > max " + FormatDouble(hi));
  } else if (op == "Elu") {
    PTQ_ASSIGN_OR_RETURN(double alpha, ctx.Float("alpha"));
    (void)alpha;
  } else if (op == "Gelu") {
    PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("approximation_mode", "ERF"));
    if (mode != "ERF" && mode != "TANH" && mode != "erf" && mode != "tanh") {
      return ctx.Error("unknown approximation_mode '" + mode + "'");
    }
  }
  ctx.SetOutput(0, ctx.in_type(0), ctx.in_shape(0));
  if (op == "Clamp" && ctx.in_value(0) && !IsFloat(ctx.in_type(0))) {
    const Tensor* v = ctx.in_value(0);
    const double lo = *ctx.Float("min"), hi = *ctx.Float("max");
    std::vector<int64_t> x = v->ToInt64s();
    for (int64_t& e : x) {
      e = static_cast<int64_t>(
          std::min<double>(std::max<double>(double(e), std::ceil(lo)), std::floor(hi)));
    }
    ctx.SetValue(0, MakeIntTensor(v->type(), v->shape(), x));
  }
  return Status::Ok();
}

Status InferSoftmax(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", 1));
  const PartialShape& s = ctx.in_shape(0);
  if (s.rank_known()) {
    if (ctx.opset() == 1 && ctx.node().type == "Softmax" && axis < 0) {
      return ctx.Error("Softmax-1 axis must be non-negative, got " + std::to_string(axis));
    }
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axis, s.rank(), "axis"));
    (void)a;
  }
  ctx.SetOutput(0, ctx.in_type(0), s);
  return Status::Ok();
}

Status InferFakeQuantize(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(5));
  PTQ_ASSIGN_OR_RETURN(int64_t levels, ctx.Int("levels"));
  if (levels < 2) return ctx.Error("levels must be >= 2, got " + std::to_string(levels));
  PartialShape shape = ctx.in_shape(0);
  for (size_t i = 1; i < 5; ++i) {
    PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(i)));
    (void)t;
    auto b = BroadcastShapes(shape, ctx.in_shape(i));
    if (!b.ok()) {
      return ctx.Error("input " + std::to_string(i) + ": " + b.status().message());
    }
    shape = *b;
  }
  ctx.SetOutput(0, ctx.in_type(0), shape);
  return Status::Ok();
}

Status InferBatchNormInference(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(5));
  // opset1 order: gamma, beta, data, mean, variance; opset5: data, gamma, beta, mean, variance.
  const size_t data = ctx.opset() == 1 ? 2 : 0;
  PTQ_ASSIGN_OR_RETURN(double eps, ctx.Float("epsilon"));
  if (eps < 0) return ctx.Error("epsilon must be non-negative");
  PTQ_RETURN_IF_ERROR(RequireFloat(ctx, data));
  const PartialShape& s = ctx.in_shape(data);
  if (s.rank_known() && s.rank() < 2) {
    return ctx.Error("data " + s.ToString() + " must have rank >= 2");
  }
  int64_t channels = s.rank_known() ? s[1] : kDynamicDim;
  for (size_t i = 0; i < 5; ++i) {
    if (i == data) continue;
    PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ctx.in_type(data), ctx.in_type(i)));
    (void)t;
    const PartialShape& p = ctx.in_shape(i);
    if (!p.rank_known()) continue;
    if (p.rank() != 1) return ctx.Error("input " + std::to_string(i) + " must be 1-D");
    if (!MergeDim(channels, p[0], &channels)) {
      return ctx.Error("input " + std::to_string(i) + " " + p.ToString() +
                       " does not match the data channels " + s.ToString());
    }
  }
  ctx.SetOutput(0, ctx.in_type(data), s);
  return Status::Ok();
}

// MVN-6 / NormalizeL2: data + axes input; MVN-2: data only.
Status InferNormalize(InferContext& ctx) {
  const bool has_axes = ctx.node().type == "NormalizeL2" || ctx.opset() != 2;
  if (ctx.node().type == "MVN" && ctx.num_inputs() == 1 && ctx.opset() != 6) {
    PTQ_ASSIGN_OR_RETURN(double eps, ctx.Float("eps"));
    (void)eps;
  } else {
    PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(has_axes ? 2 : 1));
    PTQ_ASSIGN_OR_RETURN(double eps, ctx.Float("eps"));
    (void)eps;
    if (ctx.node().type == "MVN") {
      PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("eps_mode"));
      if (mode != "inside_sqrt" && mode != "outside_sqrt") {
        return ctx.Error("unknown eps_mode '" + mode + "'");
      }
    }
    std::vector<int64_t> axes;
    const PartialShape& s = ctx.in_shape(0);
    if (ctx.num_inputs() == 2 && ctx.in_ints(1, &axes) && s.rank_known()) {
      for (int64_t a : axes) {
        PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, s.rank(), "axis"));
        (void)n;
      }
    }
  }
  PTQ_RETURN_IF_ERROR(RequireFloat(ctx, 0));
  ctx.SetOutput(0, ctx.in_type(0), ctx.in_shape(0));
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

namespace ptqflow::graph::ops {

// Output = input 0 (type and shape); the other inputs (indices, updates, axis) are not checked.
Status InferPassThrough(InferContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Error("has no inputs");
  ctx.SetOutput(0, ctx.in_type(0), ctx.in_shape(0));
  return Status::Ok();
}

Status InferGatherElements(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  const PartialShape& d = ctx.in_shape(0);
  const PartialShape& i = ctx.in_shape(1);
  if (d.rank_known() && i.rank_known() && d.rank() != i.rank()) {
    return ctx.Error("data " + d.ToString() + " and indices " + i.ToString() +
                     " must have the same rank");
  }
  ctx.SetOutput(0, ctx.in_type(0), i);
  return Status::Ok();
}

Status InferNonZero(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  ElementType t = ElementType::kI64;
  if (ctx.node().attrs.Has("output_type")) {
    PTQ_ASSIGN_OR_RETURN(t, ctx.Type("output_type"));
  }
  const PartialShape& x = ctx.in_shape(0);
  ctx.SetOutput(
      0, t,
      PartialShape({x.rank_known() ? static_cast<int64_t>(x.rank()) : kDynamicDim, kDynamicDim}));
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

// Element-wise ops: unary math/activations, binary arithmetic and comparisons with numpy
// broadcasting, logical ops, Select, Convert.
#include <cmath>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

// For each element of `out`, the flat index of the element of `in` it reads under numpy
// broadcasting (in is right-aligned against out).
std::vector<int64_t> BroadcastIndex(const Shape& in, const Shape& out) {
  const int64_t n = ElementCount(out);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  const size_t r = out.size();
  const size_t off = r - in.size();
  std::vector<int64_t> coord(r, 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t flat = 0;
    for (size_t d = off; d < r; ++d) {
      const int64_t dim = in[d - off];
      flat = flat * dim + (dim == 1 ? 0 : coord[d]);
    }
    idx[static_cast<size_t>(i)] = flat;
    for (size_t d = r; d-- > 0;) {
      if (++coord[d] < out[d]) break;
      coord[d] = 0;
    }
  }
  return idx;
}

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

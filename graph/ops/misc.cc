// Graph boundary ops (Parameter, Const, Result), ShapeOf, Range, Interpolate, LSTMSequence.
#include <cmath>
#include <set>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

// Parses an IR `shape` attribute: "1,3,?,320", "" (scalar), "..." (dynamic rank); a dimension
// may be "?", "-1" or an interval "1..10" (kept as dynamic).
Result<PartialShape> ParseShapeAttr(const InferContext& ctx, const std::string& s) {
  if (s == "...") return PartialShape::DynamicRank();
  Shape dims;
  if (s.empty()) return PartialShape(dims);
  size_t p = 0;
  while (p <= s.size()) {
    size_t comma = s.find(',', p);
    if (comma == std::string::npos) comma = s.size();
    std::string d = s.substr(p, comma - p);
    while (!d.empty() && d.front() == ' ') d.erase(d.begin());
    while (!d.empty() && d.back() == ' ') d.pop_back();
    if (d == "?" || d == "-1" || d.find("..") != std::string::npos) {
      dims.push_back(kDynamicDim);
    } else {
      try {
        size_t used = 0;
        const long long v = std::stoll(d, &used);
        if (used != d.size() || v < 0) throw std::invalid_argument(d);
        dims.push_back(v);
      } catch (const std::exception&) {
        return ctx.Error("attribute 'shape' has a bad dimension '" + d + "' in '" + s + "'");
      }
    }
    p = comma + 1;
  }
  return PartialShape(dims);
}

}  // namespace

Status InferParameter(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(0));
  Node& n = ctx.node();
  ElementType type = n.outputs.empty() ? ElementType::kUndefined : n.outputs[0].type;
  PartialShape shape = n.outputs.empty() ? PartialShape() : n.outputs[0].shape;
  if (n.attrs.Has("element_type")) {
    PTQ_ASSIGN_OR_RETURN(type, ctx.Type("element_type"));
  }
  if (n.attrs.Has("shape")) {
    PTQ_ASSIGN_OR_RETURN(std::string s, ctx.Str("shape"));
    PTQ_ASSIGN_OR_RETURN(shape, ParseShapeAttr(ctx, s));
  }
  ctx.SetOutput(0, type, shape);
  return Status::Ok();
}

Status InferConst(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(0));
  const Tensor& c = ctx.node().constant;
  if (c.empty()) return ctx.Error("Const without data");
  ctx.SetOutput(0, c.type(), PartialShape(c.shape()));
  ctx.SetValue(0, c);
  return Status::Ok();
}

Status InferResult(InferContext& ctx) { return ctx.ExpectInputs(1); }

Status InferShapeOf(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  ElementType t = ElementType::kI64;
  if (ctx.node().attrs.Has("output_type")) {
    PTQ_ASSIGN_OR_RETURN(t, ctx.Type("output_type"));
    if (t != ElementType::kI32 && t != ElementType::kI64) {
      return ctx.Error("output_type must be i32 or i64, got " + std::string(ElementTypeName(t)));
    }
  }
  const PartialShape& x = ctx.in_shape(0);
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicOfRank(1));
    return Status::Ok();
  }
  const Shape out{static_cast<int64_t>(x.rank())};
  ctx.SetOutput(0, t, PartialShape(out));
  if (x.is_static()) ctx.SetValue(0, MakeIntTensor(t, out, x.dims()));
  return Status::Ok();
}

Status InferRange(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3));
  ElementType t;
  if (ctx.opset() == 1 || !ctx.node().attrs.Has("output_type")) {
    PTQ_ASSIGN_OR_RETURN(t, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(1)));
    PTQ_ASSIGN_OR_RETURN(t, MergeTypes(ctx, t, ctx.in_type(2)));
  } else {
    PTQ_ASSIGN_OR_RETURN(t, ctx.Type("output_type"));
  }
  for (size_t i = 0; i < 3; ++i) {
    const PartialShape& s = ctx.in_shape(i);
    if (s.is_static() && ElementCount(s.to_shape()) != 1) {
      return ctx.Error("input " + std::to_string(i) + " must be a scalar, got " + s.ToString());
    }
  }
  const Tensor *a = ctx.in_value(0), *b = ctx.in_value(1), *c = ctx.in_value(2);
  if (!a || !b || !c) {
    ctx.SetOutput(0, t, PartialShape::DynamicOfRank(1));
    return Status::Ok();
  }
  const double start = a->ToDoubles()[0], stop = b->ToDoubles()[0], step = c->ToDoubles()[0];
  if (step == 0) return ctx.Error("step must not be 0");
  double span = stop - start;
  if (IsInteger(t)) {
    // Integer outputs: OpenVINO truncates the inputs to the output type first.
    span = std::trunc(stop) - std::trunc(start);
  }
  const double count_d = std::ceil(span / (IsInteger(t) ? std::trunc(step) : step));
  const int64_t count = count_d > 0 ? static_cast<int64_t>(count_d) : 0;
  const Shape out{count};
  ctx.SetOutput(0, t, PartialShape(out));
  if (count <= kMaxKnownElements) {
    std::vector<double> v(static_cast<size_t>(count));
    const double s0 = IsInteger(t) ? std::trunc(start) : start;
    const double st = IsInteger(t) ? std::trunc(step) : step;
    for (int64_t i = 0; i < count; ++i) v[i] = s0 + double(i) * st;
    if (IsTrackedValueType(t, count)) ctx.SetValue(0, MakeTensor(t, out, v));
  }
  return Status::Ok();
}

// Interpolate opset1 (data, target_spatial_shape; `axes` attribute), opset4 (data, sizes,
// scales, [axes]; shape_calculation_mode) and opset11 (data, sizes_or_scales, [axes]).
Status InferInterpolate(InferContext& ctx) {
  const int v = ctx.opset();
  const bool has_mode = ctx.node().attrs.Has("shape_calculation_mode");
  const bool v1 = v == 1 || (v == 0 && !has_mode);
  const bool v4 =
      v == 4 || (v == 0 && has_mode &&
                 (ctx.num_inputs() == 4 || (ctx.num_inputs() == 3 && IsFloat(ctx.in_type(2)))));
  PTQ_RETURN_IF_ERROR(v1   ? ctx.ExpectInputs(2)
                      : v4 ? ctx.ExpectInputs(3, 4)
                           : ctx.ExpectInputs(2, 3));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("mode"));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes;
  if (v1) {
    PTQ_ASSIGN_OR_RETURN(axes, ctx.Ints("axes"));
  } else {
    const size_t axes_input = v4 ? 3 : 2;
    if (ctx.num_inputs() > axes_input) {
      if (!ctx.in_ints(axes_input, &axes)) {
        ctx.SetOutput(0, t, PartialShape::DynamicOfRank(x.rank()));
        return Status::Ok();
      }
    } else {
      for (int64_t i = 0; i < rank; ++i) axes.push_back(i);
    }
  }
  std::vector<int64_t> norm;
  for (int64_t a : axes) {
    PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, rank, "axis"));
    norm.push_back(n);
  }
  Shape out = x.dims();
  std::vector<int64_t> pb(rank, 0), pe(rank, 0);
  if (!v1) {
    PTQ_ASSIGN_OR_RETURN(pb, ctx.Ints("pads_begin", std::vector<int64_t>(rank, 0)));
    PTQ_ASSIGN_OR_RETURN(pe, ctx.Ints("pads_end", std::vector<int64_t>(rank, 0)));
    pb.resize(rank, 0);
    pe.resize(rank, 0);
    for (int64_t d = 0; d < rank; ++d) {
      if (!IsDyn(out[d])) out[d] += pb[d] + pe[d];
    }
  }
  std::string calc = "sizes";
  if (!v1) {
    PTQ_ASSIGN_OR_RETURN(calc, ctx.Str("shape_calculation_mode"));
  }
  if (calc != "sizes" && calc != "scales") {
    return ctx.Error("unknown shape_calculation_mode '" + calc + "'");
  }
  const size_t values_input = v4 && calc == "scales" ? 2 : 1;
  const Tensor* vals = ctx.in_value(values_input);
  if (vals == nullptr) {
    for (int64_t a : norm) out[a] = kDynamicDim;
    ctx.SetOutput(0, t, PartialShape(out));
    return Status::Ok();
  }
  const std::vector<double> s = vals->ToDoubles();
  if (s.size() != norm.size()) {
    return ctx.Error(std::string(calc == "sizes" ? "sizes" : "scales") + " input has " +
                     std::to_string(s.size()) + " values but there are " +
                     std::to_string(norm.size()) + " axes");
  }
  for (size_t i = 0; i < norm.size(); ++i) {
    const int64_t a = norm[i];
    if (calc == "sizes") {
      out[a] = static_cast<int64_t>(s[i]);
    } else if (!IsDyn(out[a])) {
      // OpenVINO: floor(padded_dim * scale + epsilon) in float.
      out[a] = static_cast<int64_t>(
          std::floor(static_cast<float>(out[a]) * static_cast<float>(s[i]) + 1.0e-5f));
    }
    if (!IsDyn(out[a]) && out[a] < 0) return ctx.Error("negative output size");
  }
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

Status InferLSTMSequence(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(7));
  PTQ_ASSIGN_OR_RETURN(int64_t hidden, ctx.Int("hidden_size"));
  PTQ_ASSIGN_OR_RETURN(std::string dir, ctx.Str("direction"));
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional") {
    return ctx.Error("unknown direction '" + dir + "'");
  }
  const int64_t num_dir = dir == "bidirectional" ? 2 : 1;
  const ElementType t = ctx.in_type(0);
  for (size_t i : {1, 2, 4, 5, 6}) {
    PTQ_ASSIGN_OR_RETURN(ElementType m, MergeTypes(ctx, t, ctx.in_type(i)));
    (void)m;
  }
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(0, 3));
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(1, 3));
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(2, 3));
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(4, 3));
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(5, 3));
  PTQ_RETURN_IF_ERROR(ctx.ExpectRank(6, 2));
  const PartialShape& x = ctx.in_shape(0);
  const PartialShape& w = ctx.in_shape(4);
  const int64_t batch = x.rank_known() ? x[0] : kDynamicDim;
  const int64_t seq = x.rank_known() ? x[1] : kDynamicDim;
  if (w.rank_known()) {
    if (!IsDyn(w[0]) && w[0] != num_dir) {
      return ctx.Error("W " + w.ToString() + " does not match direction '" + dir + "'");
    }
    if (!IsDyn(w[1]) && w[1] != 4 * hidden) {
      return ctx.Error("W " + w.ToString() + " does not match hidden_size " +
                       std::to_string(hidden) + " (expected 4*hidden rows)");
    }
    if (x.rank_known() && !IsDyn(w[2]) && !IsDyn(x[2]) && w[2] != x[2]) {
      return ctx.Error("W " + w.ToString() + " does not match input size of X " + x.ToString());
    }
  }
  ctx.SetOutput(0, t, PartialShape({batch, num_dir, seq, hidden}));
  ctx.SetOutput(1, t, PartialShape({batch, num_dir, hidden}));
  ctx.SetOutput(2, t, PartialShape({batch, num_dir, hidden}));
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

// Data movement: Reshape, Transpose, Squeeze, Unsqueeze, Concat, Split, VariadicSplit,
// StridedSlice, Slice, Gather, Broadcast, Tile, Pad, DepthToSpace, ShuffleChannels.
#include <algorithm>
#include <limits>
#include <numeric>
#include <set>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {
namespace {

// out[i] = in[src[i]] for a known value `in`.
Tensor GatherFlat(const Tensor& in, const Shape& out_shape, const std::vector<int64_t>& src) {
  if (IsFloat(in.type())) {
    const std::vector<double> v = in.ToDoubles();
    std::vector<double> r(src.size());
    for (size_t i = 0; i < src.size(); ++i) r[i] = v[static_cast<size_t>(src[i])];
    return MakeTensor(in.type(), out_shape, r);
  }
  const std::vector<int64_t> v = in.ToInt64s();
  std::vector<int64_t> r(src.size());
  for (size_t i = 0; i < src.size(); ++i) r[i] = v[static_cast<size_t>(src[i])];
  return MakeIntTensor(in.type(), out_shape, r);
}

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Per output axis: the input axis it walks (or -1 for an inserted unit axis), first index and
// step. Used for slicing values and Transpose.
struct AxisWalk {
  int64_t in_axis;
  int64_t start;
  int64_t step;
  int64_t count;
};

// Source flat index for each element of the output walking `walks` over an input of shape `in`;
// `fixed` gives indices of input axes that are not walked (shrunk axes).
std::vector<int64_t> WalkIndices(const Shape& in, const std::vector<AxisWalk>& walks,
                                 const std::vector<int64_t>& fixed) {
  const std::vector<int64_t> st = Strides(in);
  int64_t base = 0;
  for (size_t d = 0; d < in.size(); ++d) base += fixed[d] * st[d];
  Shape out;
  for (const AxisWalk& w : walks) out.push_back(w.count);
  const int64_t n = ElementCount(out);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::vector<int64_t> coord(out.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t f = base;
    for (size_t k = 0; k < walks.size(); ++k) {
      if (walks[k].in_axis >= 0)
        f += (walks[k].start + coord[k] * walks[k].step) * st[walks[k].in_axis];
    }
    idx[static_cast<size_t>(i)] = f;
    for (size_t k = out.size(); k-- > 0;) {
      if (++coord[k] < out[k]) break;
      coord[k] = 0;
    }
  }
  return idx;
}

// Python-style slice of an axis of `dim` elements (dim >= 0): returns start and count.
void ClampSlice(int64_t dim, int64_t begin, int64_t end, int64_t step, bool ignore_begin,
                bool ignore_end, int64_t* start, int64_t* count) {
  if (step > 0) {
    int64_t b = ignore_begin ? 0 : begin;
    int64_t e = ignore_end ? dim : end;
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    b = std::clamp<int64_t>(b, 0, dim);
    e = std::clamp<int64_t>(e, 0, dim);
    *start = b;
    *count = e > b ? (e - b + step - 1) / step : 0;
  } else {
    int64_t b = ignore_begin ? dim - 1 : begin;
    int64_t e = ignore_end ? -1 : end;
    if (b < 0) b += dim;
    if (!ignore_end && e < 0) e += dim;
    b = std::clamp<int64_t>(b, -1, dim - 1);
    e = std::clamp<int64_t>(e, -1, dim - 1);
    *start = b;
    *count = b > e ? (b - e + (-step) - 1) / (-step) : 0;
  }
}

Status RequireIntInput(const InferContext& ctx, size_t i, const char* what) {
  const ElementType t = ctx.in_type(i);
  if (t != ElementType::kUndefined && !IsInteger(t)) {
    return ctx.Error(std::string(what) + " (input " + std::to_string(i) +
                     ") must be integer, got " + std::string(ElementTypeName(t)));
  }
  return Status::Ok();
}

// Length of a 1-D input when its shape is static, else -1.
int64_t StaticLength(const InferContext& ctx, size_t i) {
  const PartialShape& s = ctx.in_shape(i);
  if (s.rank_known() && s.rank() == 0) return 1;
  if (s.rank_known() && s.rank() == 1) return s[0];
  return kDynamicDim;
}

}  // namespace

Status InferReshape(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "target shape"));
  PTQ_ASSIGN_OR_RETURN(bool special_zero, ctx.Bool("special_zero", false));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> target;
  if (!ctx.in_ints(1, &target)) {
    const int64_t len = StaticLength(ctx, 1);
    ctx.SetOutput(0, t,
                  IsDyn(len) ? PartialShape::DynamicRank()
                             : PartialShape::DynamicOfRank(static_cast<size_t>(len)));
    return Status::Ok();
  }
  Shape out(target.size());
  int64_t minus_one = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t d = target[i];
    if (d == 0 && special_zero) {
      if (!x.rank_known()) {
        out[i] = kDynamicDim;
        continue;
      }
      if (i >= x.rank()) {
        return ctx.Error("target shape " + ShapeToString(target) + " copies dimension " +
                         std::to_string(i) + " (special_zero), but the input is " + x.ToString());
      }
      out[i] = x[i];
    } else if (d == -1) {
      if (minus_one >= 0) {
        return ctx.Error("target shape " + ShapeToString(target) + " has more than one -1");
      }
      minus_one = static_cast<int64_t>(i);
      out[i] = kDynamicDim;
    } else if (d < 0) {
      return ctx.Error("target shape " + ShapeToString(target) + " has a negative dimension");
    } else {
      out[i] = d;
    }
  }
  // Resolve -1 / check the element count when everything needed is static.
  bool in_static = x.is_static();
  if (in_static) {
    const int64_t total = ElementCount(x.to_shape());
    int64_t known = 1;
    bool others_static = true;
    for (size_t i = 0; i < out.size(); ++i) {
      if (static_cast<int64_t>(i) == minus_one) continue;
      if (IsDyn(out[i]))
        others_static = false;
      else
        known *= out[i];
    }
    if (others_static) {
      if (minus_one >= 0) {
        if (known == 0 || total % known != 0) {
          return ctx.Error("cannot reshape " + x.ToString() + " to " + ShapeToString(target) +
                           ": " + std::to_string(total) + " elements do not divide by " +
                           std::to_string(known));
        }
        out[minus_one] = total / known;
      } else if (known != total) {
        return ctx.Error("cannot reshape " + x.ToString() + " (" + std::to_string(total) +
                         " elements) to " + ShapeToString(out) + " (" + std::to_string(known) +
                         " elements)");
      }
    }
  }
  ctx.SetOutput(0, t, PartialShape(out));
  if (const Tensor* v = ctx.in_value(0)) {
    if (PartialShape(out).is_static()) ctx.SetValue(0, v->Reshaped(out));
  }
  return Status::Ok();
}

Status InferTranspose(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "order"));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> order;
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (!ctx.in_ints(1, &order)) {
    ctx.SetOutput(0, t, PartialShape::DynamicOfRank(x.rank()));
    return Status::Ok();
  }
  if (order.empty()) {
    for (int64_t i = rank - 1; i >= 0; --i) order.push_back(i);
  }
  if (static_cast<int64_t>(order.size()) != rank) {
    return ctx.Error("order " + ShapeToString(order) + " does not match input " + x.ToString());
  }
  std::vector<bool> seen(order.size(), false);
  Shape out(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(order[i], rank, "order axis"));
    if (seen[a]) return ctx.Error("order " + ShapeToString(order) + " repeats axis");
    seen[a] = true;
    order[i] = a;
    out[i] = x[a];
  }
  ctx.SetOutput(0, t, PartialShape(out));
  if (const Tensor* v = ctx.in_value(0)) {
    std::vector<AxisWalk> walks;
    for (size_t i = 0; i < order.size(); ++i) walks.push_back({order[i], 0, 1, out[i]});
    ctx.SetValue(
        0, GatherFlat(*v, out, WalkIndices(v->shape(), walks, std::vector<int64_t>(rank, 0))));
  }
  return Status::Ok();
}

Status InferSqueeze(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1, 2));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::set<int64_t> drop;
  if (ctx.num_inputs() == 2) {
    PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "axes"));
    std::vector<int64_t> axes;
    if (!ctx.in_ints(1, &axes)) {
      const int64_t len = StaticLength(ctx, 1);
      ctx.SetOutput(0, t,
                    IsDyn(len) ? PartialShape::DynamicRank()
                               : PartialShape::DynamicOfRank(
                                     static_cast<size_t>(std::max<int64_t>(0, rank - len))));
      return Status::Ok();
    }
    for (int64_t a : axes) {
      PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, rank, "squeeze axis"));
      if (!IsDyn(x[n]) && x[n] != 1) {
        return ctx.Error("cannot squeeze axis " + std::to_string(a) + " of " + x.ToString() +
                         ": its size is not 1");
      }
      drop.insert(n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i) {
      if (IsDyn(x[i])) {
        ctx.SetOutput(0, t, PartialShape::DynamicRank());
        return Status::Ok();
      }
      if (x[i] == 1) drop.insert(i);
    }
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!drop.count(i)) out.push_back(x[i]);
  }
  ctx.SetOutput(0, t, PartialShape(out));
  if (const Tensor* v = ctx.in_value(0)) ctx.SetValue(0, v->Reshaped(out));
  return Status::Ok();
}

Status InferUnsqueeze(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "axes"));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> axes;
  if (!x.rank_known() || !ctx.in_ints(1, &axes)) {
    const int64_t len = StaticLength(ctx, 1);
    ctx.SetOutput(0, t,
                  !x.rank_known() || IsDyn(len)
                      ? PartialShape::DynamicRank()
                      : PartialShape::DynamicOfRank(x.rank() + static_cast<size_t>(len)));
    return Status::Ok();
  }
  const int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
  std::set<int64_t> add;
  for (int64_t a : axes) {
    PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, out_rank, "unsqueeze axis"));
    if (!add.insert(n).second) return ctx.Error("unsqueeze axes repeat axis " + std::to_string(a));
  }
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(add.count(i) ? 1 : x[k++]);
  ctx.SetOutput(0, t, PartialShape(out));
  if (const Tensor* v = ctx.in_value(0)) ctx.SetValue(0, v->Reshaped(out));
  return Status::Ok();
}

Status InferConcat(InferContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Error("has no inputs");
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis"));
  ElementType t = ElementType::kUndefined;
  PartialShape out;
  int64_t norm_axis = -1;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    PTQ_ASSIGN_OR_RETURN(t, MergeTypes(ctx, t, ctx.in_type(i)));
    const PartialShape& s = ctx.in_shape(i);
    if (!s.rank_known()) continue;
    if (s.rank() == 0) return ctx.Error("input " + std::to_string(i) + " is a scalar");
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axis, s.rank(), "axis"));
    if (!out.rank_known()) {
      out = s;
      norm_axis = a;
      continue;
    }
    if (s.rank() != out.rank()) {
      return ctx.Error("input " + std::to_string(i) + " " + s.ToString() +
                       " has a different rank than " + out.ToString());
    }
    for (size_t d = 0; d < s.rank(); ++d) {
      int64_t& o = out.mutable_dims()[d];
      if (static_cast<int64_t>(d) == norm_axis) {
        o = IsDyn(o) || IsDyn(s[d]) ? kDynamicDim : o + s[d];
      } else if (!MergeDim(o, s[d], &o)) {
        return ctx.Error("input " + std::to_string(i) + " " + s.ToString() +
                         " does not match the other inputs in dimension " + std::to_string(d) +
                         " (concat axis " + std::to_string(axis) + ")");
      }
    }
  }
  // If some input had unknown rank the concatenated axis is unknown.
  for (size_t i = 0; i < ctx.num_inputs() && out.rank_known(); ++i) {
    if (!ctx.in_shape(i).rank_known()) out.mutable_dims()[norm_axis] = kDynamicDim;
  }
  ctx.SetOutput(0, t, out);
  // Values: concatenate along the axis.
  if (!out.is_static()) return Status::Ok();
  std::vector<const Tensor*> vals;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* v = ctx.in_value(i);
    if (v == nullptr || v->type() != t) return Status::Ok();
    vals.push_back(v);
  }
  const Shape& os = out.to_shape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < norm_axis; ++d) outer *= os[d];
  for (size_t d = norm_axis + 1; d < os.size(); ++d) inner *= os[d];
  if (IsFloat(t)) {
    std::vector<double> r;
    for (int64_t o = 0; o < outer; ++o) {
      for (const Tensor* v : vals) {
        const std::vector<double> x = v->ToDoubles();
        const int64_t chunk = v->shape()[norm_axis] * inner;
        r.insert(r.end(), x.begin() + o * chunk, x.begin() + (o + 1) * chunk);
      }
    }
    ctx.SetValue(0, MakeTensor(t, os, r));
  } else {
    std::vector<int64_t> r;
    for (int64_t o = 0; o < outer; ++o) {
      for (const Tensor* v : vals) {
        const std::vector<int64_t> x = v->ToInt64s();
        const int64_t chunk = v->shape()[norm_axis] * inner;
        r.insert(r.end(), x.begin() + o * chunk, x.begin() + (o + 1) * chunk);
      }
    }
    ctx.SetValue(0, MakeIntTensor(t, os, r));
  }
  return Status::Ok();
}

namespace {

// Sets the outputs of Split/VariadicSplit given the lengths along `axis` (kDynamicDim = unknown)
// and propagates known values.
void SetSplitOutputs(InferContext& ctx, int64_t axis, const std::vector<int64_t>& lengths) {
  const PartialShape& x = ctx.in_shape(0);
  const Tensor* v = ctx.in_value(0);
  int64_t offset = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    PartialShape s = x;
    s.mutable_dims()[axis] = lengths[i];
    ctx.SetOutput(i, ctx.in_type(0), s);
    if (v && s.is_static() && offset >= 0) {
      std::vector<AxisWalk> walks;
      for (size_t d = 0; d < x.rank(); ++d) {
        const bool on_axis = static_cast<int64_t>(d) == axis;
        walks.push_back({static_cast<int64_t>(d), on_axis ? offset : 0, 1, s[d]});
      }
      ctx.SetValue(i,
                   GatherFlat(*v, s.to_shape(),
                              WalkIndices(v->shape(), walks, std::vector<int64_t>(x.rank(), 0))));
    }
    offset = IsDyn(lengths[i]) || offset < 0 ? -1 : offset + lengths[i];
  }
}

Result<int64_t> SplitAxis(InferContext& ctx, const PartialShape& x) {
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "axis"));
  std::vector<int64_t> axis;
  if (!ctx.in_ints(1, &axis)) return ctx.Error("the split axis (input 1) must be a constant");
  if (axis.size() != 1) return ctx.Error("the split axis must be a scalar");
  return ctx.NormalizeAxis(axis[0], static_cast<int64_t>(x.rank()), "split axis");
}

}  // namespace

Status InferSplit(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.Int("num_splits"));
  if (n < 1) return ctx.Error("num_splits must be positive, got " + std::to_string(n));
  const PartialShape& x = ctx.in_shape(0);
  if (!x.rank_known()) {
    for (int64_t i = 0; i < n; ++i) ctx.SetOutput(i, ctx.in_type(0), PartialShape::DynamicRank());
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(int64_t axis, SplitAxis(ctx, x));
  const int64_t d = x[axis];
  if (!IsDyn(d) && d % n != 0) {
    return ctx.Error("dimension " + std::to_string(axis) + " of " + x.ToString() +
                     " does not divide into " + std::to_string(n) + " splits");
  }
  SetSplitOutputs(ctx, axis, std::vector<int64_t>(n, IsDyn(d) ? kDynamicDim : d / n));
  return Status::Ok();
}

Status InferVariadicSplit(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 2, "split_lengths"));
  const PartialShape& x = ctx.in_shape(0);
  std::vector<int64_t> lengths;
  const bool known = ctx.in_ints(2, &lengths);
  if (!x.rank_known()) {
    const size_t n = known ? lengths.size() : ctx.node().outputs.size();
    for (size_t i = 0; i < n; ++i) ctx.SetOutput(i, ctx.in_type(0), PartialShape::DynamicRank());
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(int64_t axis, SplitAxis(ctx, x));
  if (!known) {
    const int64_t len = StaticLength(ctx, 2);
    const size_t n = IsDyn(len) ? ctx.node().outputs.size() : static_cast<size_t>(len);
    SetSplitOutputs(ctx, axis, std::vector<int64_t>(n, kDynamicDim));
    return Status::Ok();
  }
  const int64_t d = x[axis];
  int64_t minus = -1, sum = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] == -1) {
      if (minus >= 0) return ctx.Error("split_lengths " + ShapeToString(lengths) + " has two -1");
      minus = static_cast<int64_t>(i);
    } else if (lengths[i] < 0) {
      return ctx.Error("split_lengths " + ShapeToString(lengths) + " has a negative length");
    } else {
      sum += lengths[i];
    }
  }
  if (!IsDyn(d)) {
    if (minus >= 0) {
      if (sum > d) {
        return ctx.Error("split_lengths " + ShapeToString(lengths) + " exceed dimension " +
                         std::to_string(axis) + " of " + x.ToString());
      }
      lengths[minus] = d - sum;
    } else if (sum != d) {
      return ctx.Error("split_lengths " + ShapeToString(lengths) + " sum to " +
                       std::to_string(sum) + ", but dimension " + std::to_string(axis) + " of " +
                       x.ToString() + " is " + std::to_string(d));
    }
  } else if (minus >= 0) {
    lengths[minus] = kDynamicDim;
  }
  SetSplitOutputs(ctx, axis, lengths);
  return Status::Ok();
}

namespace {

// Shared tail of StridedSlice and Slice: given per-output-axis walks (with count -1 = unknown),
// set the output and, when possible, the value.
void FinishSlice(InferContext& ctx, const std::vector<AxisWalk>& walks,
                 const std::vector<int64_t>& fixed, bool exact) {
  Shape out;
  for (const AxisWalk& w : walks) out.push_back(w.count);
  ctx.SetOutput(0, ctx.in_type(0), PartialShape(out));
  const Tensor* v = ctx.in_value(0);
  if (v && exact && PartialShape(out).is_static()) {
    ctx.SetValue(0, GatherFlat(*v, out, WalkIndices(v->shape(), walks, fixed)));
  }
}

std::vector<bool> MaskBits(const std::vector<int64_t>& mask, size_t n) {
  std::vector<bool> b(n, false);
  for (size_t i = 0; i < mask.size() && i < n; ++i) b[i] = mask[i] != 0;
  return b;
}

}  // namespace

Status InferStridedSlice(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, i, i == 1 ? "begin" : i == 2 ? "end" : "stride"));
  }
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> begin_mask, ctx.Ints("begin_mask"));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> end_mask, ctx.Ints("end_mask"));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> new_axis_mask, ctx.Ints("new_axis_mask", {}));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> shrink_mask, ctx.Ints("shrink_axis_mask", {}));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> ellipsis_mask, ctx.Ints("ellipsis_mask", {}));
  const PartialShape& x = ctx.in_shape(0);
  std::vector<int64_t> begin, end, stride;
  const bool have_begin = ctx.in_ints(1, &begin);
  const bool have_end = ctx.in_ints(2, &end);
  bool have_stride = true;
  if (ctx.num_inputs() == 4) have_stride = ctx.in_ints(3, &stride);
  size_t n =
      have_begin ? begin.size() : static_cast<size_t>(std::max<int64_t>(0, StaticLength(ctx, 1)));
  if (!have_begin && IsDyn(StaticLength(ctx, 1))) n = 0;
  if (have_end && end.size() != n && have_begin) {
    return ctx.Error("begin " + ShapeToString(begin) + " and end " + ShapeToString(end) +
                     " have different lengths");
  }
  if (!have_stride || stride.empty()) stride.assign(n, 1);
  if (have_stride && stride.size() != n && ctx.num_inputs() == 4 && have_begin) {
    return ctx.Error("stride " + ShapeToString(stride) + " does not match begin " +
                     ShapeToString(begin));
  }
  for (int64_t s : stride) {
    if (s == 0) return ctx.Error("stride must not be 0");
  }
  if (!x.rank_known() || (!have_begin && IsDyn(StaticLength(ctx, 1)))) {
    ctx.SetOutput(0, ctx.in_type(0), PartialShape::DynamicRank());
    return Status::Ok();
  }
  const std::vector<bool> bm = MaskBits(begin_mask, n), em = MaskBits(end_mask, n),
                          nm = MaskBits(new_axis_mask, n), sm = MaskBits(shrink_mask, n),
                          elm = MaskBits(ellipsis_mask, n);
  const int64_t rank = static_cast<int64_t>(x.rank());
  // Entries that consume an input axis (not new-axis, not ellipsis).
  int64_t consuming = 0;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < n; ++i) {
    if (elm[i] && !seen_ellipsis) {
      seen_ellipsis = true;
    } else if (!nm[i]) {
      ++consuming;
    }
  }
  if (consuming > rank) {
    return ctx.Error("begin/end have " + std::to_string(consuming) +
                     " sliced axes, more than the input rank " + std::to_string(rank));
  }
  std::vector<AxisWalk> walks;
  std::vector<int64_t> fixed(x.rank(), 0);
  bool exact = have_begin && have_end && have_stride;
  int64_t axis = 0;
  seen_ellipsis = false;
  for (size_t i = 0; i < n; ++i) {
    if (elm[i] && !seen_ellipsis) {
      seen_ellipsis = true;
      const int64_t span = rank - consuming;
      for (int64_t k = 0; k < span; ++k, ++axis) walks.push_back({axis, 0, 1, x[axis]});
      continue;
    }
    if (nm[i]) {
      walks.push_back({-1, 0, 1, 1});
      continue;
    }
    const int64_t dim = x[axis];
    if (sm[i]) {
      if (have_begin && !IsDyn(dim)) {
        int64_t b = begin[i] < 0 ? begin[i] + dim : begin[i];
        if (b < 0 || b >= dim) {
          return ctx.Error("shrink axis " + std::to_string(axis) + ": begin " +
                           std::to_string(begin[i]) + " is out of range for " + x.ToString());
        }
        fixed[axis] = b;
      } else {
        exact = false;
      }
      ++axis;
      continue;
    }
    if (IsDyn(dim) || (!have_begin && !bm[i]) || (!have_end && !em[i]) || !have_stride) {
      // Full ranges are known even with an unknown begin/end.
      const bool full = bm[i] && em[i] && have_stride && stride[i] == 1;
      walks.push_back({axis, 0, 1, full ? dim : kDynamicDim});
      exact = exact && full;
    } else {
      int64_t start, count;
      ClampSlice(dim, have_begin ? begin[i] : 0, have_end ? end[i] : 0, stride[i], bm[i], em[i],
                 &start, &count);
      walks.push_back({axis, start, stride[i], count});
    }
    ++axis;
  }
  for (; axis < rank; ++axis) walks.push_back({axis, 0, 1, x[axis]});
  FinishSlice(ctx, walks, fixed, exact);
  return Status::Ok();
}

Status InferSlice(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(4, 5));
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, i, "slice parameter"));
  }
  const PartialShape& x = ctx.in_shape(0);
  if (!x.rank_known()) {
    ctx.SetOutput(0, ctx.in_type(0), PartialShape::DynamicRank());
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> start, stop, step, axes;
  const bool have = ctx.in_ints(1, &start) && ctx.in_ints(2, &stop) && ctx.in_ints(3, &step);
  bool have_axes = true;
  if (ctx.num_inputs() == 5) {
    have_axes = ctx.in_ints(4, &axes);
  } else if (have) {
    axes.resize(start.size());
    std::iota(axes.begin(), axes.end(), 0);
  }
  if (!have || !have_axes) {
    // Unknown parameters: the sliced axes (or all, if unknown) become dynamic.
    std::vector<AxisWalk> walks;
    std::set<int64_t> sliced;
    if (have_axes && !axes.empty()) {
      for (int64_t a : axes) {
        PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, rank, "axis"));
        sliced.insert(n);
      }
    }
    for (int64_t d = 0; d < rank; ++d) {
      const bool dyn = !have_axes || axes.empty() || sliced.count(d);
      walks.push_back({d, 0, 1, dyn ? kDynamicDim : x[d]});
    }
    FinishSlice(ctx, walks, std::vector<int64_t>(rank, 0), false);
    return Status::Ok();
  }
  if (start.size() != stop.size() || start.size() != step.size() || start.size() != axes.size()) {
    return ctx.Error("start, stop, step and axes must have the same length");
  }
  std::vector<AxisWalk> walks;
  for (int64_t d = 0; d < rank; ++d) walks.push_back({d, 0, 1, x[d]});
  std::set<int64_t> seen;
  for (size_t i = 0; i < axes.size(); ++i) {
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axes[i], rank, "axis"));
    if (!seen.insert(a).second) return ctx.Error("axes repeat axis " + std::to_string(axes[i]));
    if (step[i] == 0) return ctx.Error("step must not be 0");
    if (IsDyn(x[a])) {
      walks[a].count = kDynamicDim;
      continue;
    }
    int64_t s, c;
    ClampSlice(x[a], start[i], stop[i], step[i], false, false, &s, &c);
    walks[a] = {a, s, step[i], c};
  }
  FinishSlice(ctx, walks, std::vector<int64_t>(rank, 0), true);
  return Status::Ok();
}

Status InferGather(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "indices"));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 2, "axis"));
  PTQ_ASSIGN_OR_RETURN(int64_t batch_dims, ctx.Int("batch_dims", 0));
  const PartialShape& x = ctx.in_shape(0);
  const PartialShape& idx = ctx.in_shape(1);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> axis_v;
  if (!x.rank_known() || !idx.rank_known() || !ctx.in_ints(2, &axis_v)) {
    if (x.rank_known() && idx.rank_known()) {
      const int64_t r =
          static_cast<int64_t>(x.rank() + idx.rank()) - 1 -
          (batch_dims < 0 ? batch_dims + static_cast<int64_t>(idx.rank()) : batch_dims);
      ctx.SetOutput(0, t,
                    r >= 0 ? PartialShape::DynamicOfRank(static_cast<size_t>(r))
                           : PartialShape::DynamicRank());
    } else {
      ctx.SetOutput(0, t, PartialShape::DynamicRank());
    }
    return Status::Ok();
  }
  if (axis_v.size() != 1) return ctx.Error("axis must be a scalar");
  const int64_t xr = static_cast<int64_t>(x.rank()), ir = static_cast<int64_t>(idx.rank());
  if (batch_dims < 0) batch_dims += ir;
  if (batch_dims < 0 || batch_dims > ir) {
    return ctx.Error("batch_dims is out of range for indices " + idx.ToString());
  }
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.NormalizeAxis(axis_v[0], xr, "axis"));
  if (axis < batch_dims) {
    return ctx.Error("axis " + std::to_string(axis_v[0]) + " is less than batch_dims " +
                     std::to_string(batch_dims));
  }
  Shape out;
  for (int64_t d = 0; d < batch_dims; ++d) {
    int64_t m;
    if (!MergeDim(x[d], idx[d], &m)) {
      return ctx.Error("batch dimension " + std::to_string(d) + " differs: data " + x.ToString() +
                       ", indices " + idx.ToString());
    }
    out.push_back(m);
  }
  for (int64_t d = batch_dims; d < axis; ++d) out.push_back(x[d]);
  for (int64_t d = batch_dims; d < ir; ++d) out.push_back(idx[d]);
  for (int64_t d = axis + 1; d < xr; ++d) out.push_back(x[d]);
  ctx.SetOutput(0, t, PartialShape(out));
  const Tensor* v = ctx.in_value(0);
  std::vector<int64_t> iv;
  if (v && ctx.in_ints(1, &iv) && PartialShape(out).is_static()) {
    const Shape& xs = v->shape();
    const int64_t dim = xs[axis];
    int64_t batch = 1, outer = 1, inner = 1;
    for (int64_t d = 0; d < batch_dims; ++d) batch *= xs[d];
    for (int64_t d = batch_dims; d < axis; ++d) outer *= xs[d];
    for (int64_t d = axis + 1; d < xr; ++d) inner *= xs[d];
    const int64_t per_batch_idx = batch == 0 ? 0 : static_cast<int64_t>(iv.size()) / batch;
    std::vector<int64_t> src;
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t k = 0; k < per_batch_idx; ++k) {
          int64_t j = iv[b * per_batch_idx + k];
          if (j < 0) j += dim;
          if (j < 0 || j >= dim) {
            return ctx.Error("index " + std::to_string(iv[b * per_batch_idx + k]) +
                             " is out of range for axis of size " + std::to_string(dim));
          }
          for (int64_t in = 0; in < inner; ++in) {
            src.push_back(((b * outer + o) * dim + j) * inner + in);
          }
        }
      }
    }
    ctx.SetValue(0, GatherFlat(*v, out, src));
  }
  return Status::Ok();
}

Status InferBroadcast(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "target_shape"));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("mode", "numpy"));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> target;
  if (!ctx.in_ints(1, &target)) {
    const int64_t len = StaticLength(ctx, 1);
    if (IsDyn(len) || (mode == "bidirectional" && !x.rank_known())) {
      ctx.SetOutput(0, t, PartialShape::DynamicRank());
    } else {
      size_t r = static_cast<size_t>(len);
      if (mode == "bidirectional") r = std::max(r, x.rank());
      ctx.SetOutput(0, t, PartialShape::DynamicOfRank(r));
    }
    return Status::Ok();
  }
  PartialShape out;
  if (mode == "numpy") {
    out = PartialShape(target);
    if (x.rank_known()) {
      if (x.rank() > target.size()) {
        return ctx.Error("cannot broadcast " + x.ToString() + " to the lower-rank " +
                         ShapeToString(target));
      }
      const size_t off = target.size() - x.rank();
      for (size_t i = 0; i < x.rank(); ++i) {
        if (!IsDyn(x[i]) && x[i] != 1 && x[i] != target[off + i]) {
          return ctx.Error("cannot broadcast " + x.ToString() + " to " + ShapeToString(target));
        }
      }
    }
  } else if (mode == "bidirectional") {
    auto b = BroadcastShapes(x, PartialShape(target));
    if (!b.ok()) return ctx.Error(b.status().message());
    out = *b;
  } else if (mode == "explicit") {
    out = PartialShape(target);
    std::vector<int64_t> mapping;
    if (ctx.num_inputs() < 3) return ctx.Error("mode 'explicit' needs the axes_mapping input");
    if (ctx.in_ints(2, &mapping) && x.rank_known()) {
      if (mapping.size() != x.rank()) {
        return ctx.Error("axes_mapping " + ShapeToString(mapping) + " does not match input " +
                         x.ToString());
      }
      for (size_t i = 0; i < mapping.size(); ++i) {
        if (mapping[i] < 0 || mapping[i] >= static_cast<int64_t>(target.size())) {
          return ctx.Error("axes_mapping " + ShapeToString(mapping) + " is out of range");
        }
        const int64_t d = target[mapping[i]];
        if (!IsDyn(x[i]) && x[i] != 1 && x[i] != d) {
          return ctx.Error("cannot broadcast " + x.ToString() + " to " + ShapeToString(target) +
                           " with axes_mapping " + ShapeToString(mapping));
        }
      }
    }
    ctx.SetOutput(0, t, out);
    // Value: align the input to the target rank through the mapping, then broadcast.
    if (const Tensor* v = ctx.in_value(0);
        v && out.is_static() && ctx.in_ints(2, &mapping) && mapping.size() == v->shape().size()) {
      Shape aligned(target.size(), 1);
      for (size_t i = 0; i < mapping.size(); ++i) aligned[mapping[i]] = v->shape()[i];
      ctx.SetValue(0, GatherFlat(v->Reshaped(aligned), out.to_shape(),
                                 BroadcastIndex(aligned, out.to_shape())));
    }
    return Status::Ok();
  } else {
    return ctx.Error("unknown broadcast mode '" + mode + "'");
  }
  ctx.SetOutput(0, t, out);
  const Tensor* v = ctx.in_value(0);
  if (v && out.is_static()) {
    ctx.SetValue(0, GatherFlat(*v, out.to_shape(), BroadcastIndex(v->shape(), out.to_shape())));
  }
  return Status::Ok();
}

Status InferTile(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "repeats"));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> rep;
  if (!x.rank_known() || !ctx.in_ints(1, &rep)) {
    const int64_t len = StaticLength(ctx, 1);
    if (x.rank_known() && !IsDyn(len)) {
      ctx.SetOutput(0, t, PartialShape::DynamicOfRank(std::max(x.rank(), size_t(len))));
    } else {
      ctx.SetOutput(0, t, PartialShape::DynamicRank());
    }
    return Status::Ok();
  }
  for (int64_t r : rep) {
    if (r < 0) return ctx.Error("repeats " + ShapeToString(rep) + " has a negative value");
  }
  Shape xs = x.dims();
  while (xs.size() < rep.size()) xs.insert(xs.begin(), 1);
  while (rep.size() < xs.size()) rep.insert(rep.begin(), 1);
  Shape out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) out[i] = IsDyn(xs[i]) ? kDynamicDim : xs[i] * rep[i];
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

Status InferPad(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(3, 4));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 1, "pads_begin"));
  PTQ_RETURN_IF_ERROR(RequireIntInput(ctx, 2, "pads_end"));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("pad_mode"));
  if (mode != "constant" && mode != "edge" && mode != "reflect" && mode != "symmetric") {
    return ctx.Error("unknown pad_mode '" + mode + "'");
  }
  if (ctx.num_inputs() == 4) {
    PTQ_ASSIGN_OR_RETURN(ElementType pt, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(3)));
    (void)pt;
  }
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  std::vector<int64_t> pb, pe;
  const bool known = ctx.in_ints(1, &pb) && ctx.in_ints(2, &pe);
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  if (!known) {
    ctx.SetOutput(0, t, PartialShape::DynamicOfRank(x.rank()));
    return Status::Ok();
  }
  if (pb.size() != x.rank() || pe.size() != x.rank()) {
    return ctx.Error("pads_begin " + ShapeToString(pb) + " / pads_end " + ShapeToString(pe) +
                     " must have one value per axis of " + x.ToString());
  }
  const bool allow_negative = ctx.opset() >= 12;
  Shape out(x.rank());
  for (size_t i = 0; i < x.rank(); ++i) {
    if (!allow_negative && (pb[i] < 0 || pe[i] < 0)) {
      return ctx.Error("Pad-1 pads must be non-negative, got " + ShapeToString(pb) + " / " +
                       ShapeToString(pe));
    }
    if (IsDyn(x[i])) {
      out[i] = kDynamicDim;
      continue;
    }
    const int64_t limit = mode == "reflect" ? x[i] - 1 : x[i];
    if ((mode == "reflect" || mode == "symmetric") && (pb[i] > limit || pe[i] > limit)) {
      return ctx.Error("pad_mode '" + mode + "' pads on axis " + std::to_string(i) +
                       " exceed the input size " + std::to_string(x[i]));
    }
    if (mode == "edge" && x[i] == 0 && (pb[i] > 0 || pe[i] > 0)) {
      return ctx.Error("pad_mode 'edge' on an empty axis " + std::to_string(i));
    }
    out[i] = x[i] + pb[i] + pe[i];
    if (out[i] < 0) {
      return ctx.Error("negative pads remove more than axis " + std::to_string(i) + " holds");
    }
  }
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

Status InferDepthToSpace(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  PTQ_ASSIGN_OR_RETURN(int64_t b, ctx.Int("block_size", 1));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("mode"));
  if (mode != "blocks_first" && mode != "depth_first") {
    return ctx.Error("unknown mode '" + mode + "'");
  }
  if (b < 1) return ctx.Error("block_size must be positive");
  const PartialShape& x = ctx.in_shape(0);
  if (!x.rank_known()) {
    ctx.SetOutput(0, ctx.in_type(0), x);
    return Status::Ok();
  }
  if (x.rank() < 3) return ctx.Error("data " + x.ToString() + " must have rank >= 3");
  const size_t spatial = x.rank() - 2;
  int64_t div = 1;
  for (size_t i = 0; i < spatial; ++i) div *= b;
  Shape out = x.dims();
  if (!IsDyn(x[1])) {
    if (x[1] % div != 0) {
      return ctx.Error("channels of " + x.ToString() + " do not divide by block_size^" +
                       std::to_string(spatial));
    }
    out[1] = x[1] / div;
  }
  for (size_t i = 2; i < x.rank(); ++i) out[i] = IsDyn(x[i]) ? kDynamicDim : x[i] * b;
  ctx.SetOutput(0, ctx.in_type(0), PartialShape(out));
  return Status::Ok();
}

Status InferShuffleChannels(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis", 1));
  PTQ_ASSIGN_OR_RETURN(int64_t group, ctx.Int("group", 1));
  if (group < 1) return ctx.Error("group must be positive");
  const PartialShape& x = ctx.in_shape(0);
  if (x.rank_known()) {
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axis, x.rank(), "axis"));
    if (!IsDyn(x[a]) && x[a] % group != 0) {
      return ctx.Error("axis " + std::to_string(axis) + " of " + x.ToString() +
                       " does not divide into " + std::to_string(group) + " groups");
    }
  }
  ctx.SetOutput(0, ctx.in_type(0), x);
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

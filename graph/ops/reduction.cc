// Reductions (ReduceMean/Max/Min/Sum/Prod/L1/L2/LogicalAnd/LogicalOr) and TopK.
#include <algorithm>
#include <set>

#include "graph/ops/infer_context.h"

namespace ptqflow::graph::ops {

Status InferReduce(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_ASSIGN_OR_RETURN(bool keep_dims, ctx.Bool("keep_dims", false));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  const std::string& op = ctx.node().type;
  if (op == "ReduceLogicalAnd" || op == "ReduceLogicalOr") {
    if (t != ElementType::kBoolean && t != ElementType::kUndefined) {
      return ctx.Error("input must be boolean, got " + std::string(ElementTypeName(t)));
    }
  }
  const ElementType at = ctx.in_type(1);
  if (at != ElementType::kUndefined && !IsInteger(at)) {
    return ctx.Error("axes (input 1) must be integer, got " + std::string(ElementTypeName(at)));
  }
  std::vector<int64_t> axes;
  if (!x.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (!ctx.in_ints(1, &axes)) {
    if (keep_dims) {
      ctx.SetOutput(0, t, PartialShape::DynamicOfRank(x.rank()));
    } else if (ctx.in_shape(1).is_static() && ctx.in_shape(1).rank() <= 1) {
      const int64_t k = ctx.in_shape(1).rank() == 0 ? 1 : ctx.in_shape(1)[0];
      ctx.SetOutput(
          0, t, PartialShape::DynamicOfRank(static_cast<size_t>(std::max<int64_t>(0, rank - k))));
    } else {
      ctx.SetOutput(0, t, PartialShape::DynamicRank());
    }
    return Status::Ok();
  }
  std::set<int64_t> reduced;
  for (int64_t a : axes) {
    PTQ_ASSIGN_OR_RETURN(int64_t n, ctx.NormalizeAxis(a, rank, "reduction axis"));
    reduced.insert(n);
  }
  Shape out, kept = x.dims();
  for (int64_t i = 0; i < rank; ++i) {
    if (reduced.count(i)) {
      kept[i] = 1;
      if (keep_dims) out.push_back(1);
    } else {
      out.push_back(x[i]);
    }
  }
  ctx.SetOutput(0, t, PartialShape(out));
  // Values: integer/boolean reductions of a known input.
  const Tensor* v = ctx.in_value(0);
  if (v && !IsFloat(v->type()) &&
      (op == "ReduceSum" || op == "ReduceProd" || op == "ReduceMax" || op == "ReduceMin" ||
       op == "ReduceLogicalAnd" || op == "ReduceLogicalOr")) {
    const Shape& in = v->shape();
    const std::vector<int64_t> vals = v->ToInt64s();
    std::vector<int64_t> acc(static_cast<size_t>(ElementCount(kept)));
    std::vector<bool> first(acc.size(), true);
    std::vector<int64_t> coord(in.size(), 0);
    for (size_t i = 0; i < vals.size(); ++i) {
      int64_t o = 0;
      for (size_t d = 0; d < in.size(); ++d) o = o * kept[d] + (reduced.count(d) ? 0 : coord[d]);
      int64_t& a = acc[static_cast<size_t>(o)];
      const int64_t e = vals[i];
      if (first[o]) {
        a = e;
        first[o] = false;
      } else if (op == "ReduceSum") {
        a += e;
      } else if (op == "ReduceProd") {
        a *= e;
      } else if (op == "ReduceMax") {
        a = std::max(a, e);
      } else if (op == "ReduceMin") {
        a = std::min(a, e);
      } else if (op == "ReduceLogicalAnd") {
        a = a && e;
      } else {
        a = a || e;
      }
      for (size_t d = in.size(); d-- > 0;) {
        if (++coord[d] < in[d]) break;
        coord[d] = 0;
      }
    }
    // Empty reductions: identity elements.
    for (size_t o = 0; o < acc.size(); ++o) {
      if (!first[o]) continue;
      if (op == "ReduceProd" || op == "ReduceLogicalAnd")
        acc[o] = 1;
      else if (op == "ReduceSum" || op == "ReduceLogicalOr")
        acc[o] = 0;
      else
        return Status::Ok();  // max/min of nothing: leave unknown
    }
    ctx.SetValue(0, MakeIntTensor(t, out, acc));
  }
  return Status::Ok();
}

Status InferTopK(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.Int("axis"));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.Str("mode"));
  if (mode != "max" && mode != "min")
    return ctx.Error("mode must be max or min, got '" + mode + "'");
  PTQ_ASSIGN_OR_RETURN(std::string sort, ctx.Str("sort", "none"));
  if (sort != "value" && sort != "index" && sort != "none") {
    return ctx.Error("sort must be value, index or none, got '" + sort + "'");
  }
  PTQ_ASSIGN_OR_RETURN(std::string it, ctx.Str("index_element_type", "i32"));
  auto idx_type = ParseElementType(it);
  if (!idx_type.ok() || (*idx_type != ElementType::kI32 && *idx_type != ElementType::kI64)) {
    return ctx.Error("index_element_type must be i32 or i64, got '" + it + "'");
  }
  const PartialShape& x = ctx.in_shape(0);
  PartialShape out = x;
  if (x.rank_known()) {
    PTQ_ASSIGN_OR_RETURN(int64_t a, ctx.NormalizeAxis(axis, x.rank(), "axis"));
    std::vector<int64_t> k;
    int64_t d = kDynamicDim;
    if (ctx.in_ints(1, &k)) {
      if (k.size() != 1 || k[0] < 0) return ctx.Error("k must be a non-negative scalar");
      d = IsDyn(x[a]) ? k[0] : std::min(k[0], x[a]);
    }
    out.mutable_dims()[a] = d;
  }
  ctx.SetOutput(0, ctx.in_type(0), out);
  ctx.SetOutput(1, *idx_type, out);
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

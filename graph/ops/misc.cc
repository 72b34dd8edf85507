// Graph boundary ops (Parameter, Const, Result) and small utility ops.
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

}  // namespace ptqflow::graph::ops

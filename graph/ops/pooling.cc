// Pooling: MaxPool (opset1: one output; opset8: values + indices, dilations) and AvgPool.
#include <cctype>

#include "graph/ops/infer_context.h"
#include "graph/ops/window.h"

namespace ptqflow::graph::ops {
namespace {

Status InferPool(InferContext& ctx, bool max_pool) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(1));
  const PartialShape& x = ctx.in_shape(0);
  const ElementType t = ctx.in_type(0);
  const bool with_indices = max_pool && (ctx.opset() >= 8 || ctx.node().outputs.size() >= 2);
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.Ints("kernel"));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> strides, ctx.Ints("strides"));
  const size_t spatial = kernel.size();
  const std::vector<int64_t> zeros(spatial, 0), ones(spatial, 1);
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pb, ctx.Ints("pads_begin", zeros));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pe, ctx.Ints("pads_end", zeros));
  std::vector<int64_t> dil = ones;
  if (max_pool) {
    PTQ_ASSIGN_OR_RETURN(dil, ctx.Ints("dilations", ones));
  }
  if (pb.empty()) pb = zeros;
  if (pe.empty()) pe = zeros;
  PTQ_ASSIGN_OR_RETURN(std::string rounding, ctx.Str("rounding_type", "floor"));
  for (char& c : rounding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (rounding != "floor" && rounding != "ceil" && rounding != "ceil_torch") {
    return ctx.Error("unknown rounding_type '" + rounding + "'");
  }
  const Rounding round = rounding == "floor"  ? Rounding::kFloor
                         : rounding == "ceil" ? Rounding::kCeil
                                              : Rounding::kCeilTorch;
  PTQ_ASSIGN_OR_RETURN(std::string ap, ctx.Str("auto_pad", "explicit"));
  auto mode = ParseAutoPad(ap);
  if (!mode.ok()) return ctx.Error(mode.status().message());
  if (!max_pool) {
    PTQ_ASSIGN_OR_RETURN(bool exclude_pad, ctx.Bool("exclude-pad", false));
    (void)exclude_pad;
  }
  auto check = [&](const char* name, const std::vector<int64_t>& v, int64_t min) -> Status {
    if (v.size() != spatial) {
      return ctx.Error(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                       " values, but 'kernel' has " + std::to_string(spatial));
    }
    for (int64_t e : v) {
      if (e < min) {
        return ctx.Error(std::string("attribute '") + name + "' has an invalid value " +
                         std::to_string(e));
      }
    }
    return Status::Ok();
  };
  PTQ_RETURN_IF_ERROR(check("kernel", kernel, 1));
  PTQ_RETURN_IF_ERROR(check("strides", strides, 1));
  PTQ_RETURN_IF_ERROR(check("dilations", dil, 1));
  PTQ_RETURN_IF_ERROR(check("pads_begin", pb, 0));
  PTQ_RETURN_IF_ERROR(check("pads_end", pe, 0));
  PartialShape out_shape;
  if (x.rank_known()) {
    if (x.rank() != spatial + 2) {
      return ctx.Error("data " + x.ToString() + " has rank " + std::to_string(x.rank()) +
                       ", but 'kernel' has " + std::to_string(spatial) +
                       " spatial axes (expected rank " + std::to_string(spatial + 2) + ")");
    }
    Shape out = x.dims();
    for (size_t i = 0; i < spatial; ++i) {
      const WindowAxis a =
          ResolveWindowAxis(*mode, x[i + 2], kernel[i], strides[i], dil[i], pb[i], pe[i], round);
      if (!IsDyn(x[i + 2]) && a.out < 1) {
        return ctx.Error("kernel does not fit data " + x.ToString() + " on spatial axis " +
                         std::to_string(i));
      }
      out[i + 2] = a.out;
    }
    out_shape = PartialShape(out);
  }
  ctx.SetOutput(0, t, out_shape);
  if (with_indices) {
    PTQ_ASSIGN_OR_RETURN(std::string it, ctx.Str("index_element_type", "i64"));
    auto idx_type = ParseElementType(it);
    if (!idx_type.ok() || (*idx_type != ElementType::kI32 && *idx_type != ElementType::kI64)) {
      return ctx.Error("index_element_type must be i32 or i64, got '" + it + "'");
    }
    ctx.SetOutput(1, *idx_type, out_shape);
  }
  return Status::Ok();
}

}  // namespace

Status InferMaxPool(InferContext& ctx) { return InferPool(ctx, true); }
Status InferAvgPool(InferContext& ctx) { return InferPool(ctx, false); }

}  // namespace ptqflow::graph::ops

// Translators for ONNX data-movement and shape ops: Reshape, Flatten, Transpose, Squeeze,
// Unsqueeze, Concat, Split, Slice, Gather, Shape, Size, Pad, Expand, Tile.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/onnx/onnx_context.h"

namespace ptqflow::io::onnx_import {

using graph::Attributes;
using graph::ElementType;
using graph::Tensor;
using graph::ValueRef;

// Reshape: allowzero=0 (default) means a 0 in the target copies the input dim = special_zero.
Status TranslateReshape(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t allowzero, ctx.attr_int("allowzero", 0));
  ValueRef shape;
  if (ctx.opset() < 5 || ctx.attr("shape")) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> s, ctx.attr_ints("shape", {}));
    shape = ctx.ConstI64("/shape", s);
  } else {
    PTQ_ASSIGN_OR_RETURN(shape, ctx.input(1));
  }
  Attributes a;
  a.SetBool("special_zero", allowzero == 0);
  ctx.SetOutput(0, ctx.Op("Reshape", "opset1", {x, shape}, a));
  return Status::Ok();
}

// Flatten(axis) -> Reshape to [prod(dims[:axis]), -1]; axis 1 is Reshape [0,-1] with
// special_zero.
Status TranslateFlatten(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.attr_int("axis", 1));
  if (axis < 0) {
    PTQ_ASSIGN_OR_RETURN(int64_t rank, ctx.InputRank(0));
    axis += rank;
    if (axis < 0) return ctx.Error("axis is out of range");
  }
  if (axis == 1) {
    Attributes a;
    a.SetBool("special_zero", true);
    ctx.SetOutput(0, ctx.Op("Reshape", "opset1", {x, ctx.ConstI64("/shape", {0, -1})}, a));
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(ValueRef y, FlattenTo2D(ctx, x, axis, ""));
  ctx.SetOutput(0, y);
  return Status::Ok();
}

Status TranslateTranspose(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> perm, ctx.attr_ints("perm", {}));
  // An empty order reverses the dims, as ONNX's default.
  ctx.SetOutput(0, ctx.Op("Transpose", "opset1", {x, ctx.ConstI64("/order", perm)}));
  return Status::Ok();
}

// Squeeze / Unsqueeze: axes as attribute (opset < 13) or input 1.
Status TranslateSqueeze(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  const std::string type = ctx.target();
  std::vector<ValueRef> in = {x};
  if (ctx.attr("axes")) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, ctx.attr_ints("axes", {}));
    in.push_back(ctx.ConstI64("/axes", axes));
  } else if (ctx.has_input(1)) {
    PTQ_ASSIGN_OR_RETURN(ValueRef axes, ctx.input(1));
    in.push_back(axes);
  } else if (type == "Unsqueeze") {
    return ctx.Error("axes are missing");
  }
  ctx.SetOutput(0, ctx.Op(type, "opset1", in));
  return Status::Ok();
}

Status TranslateConcat(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.attr_int("axis", 0));
  std::vector<ValueRef> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(i));
    in.push_back(v);
  }
  Attributes a;
  a.SetInt("axis", axis);
  ctx.SetOutput(0, ctx.Op("Concat", "opset1", in, a));
  return Status::Ok();
}

// Split -> Split-1 (equal parts) or VariadicSplit-1 (explicit sizes).
Status TranslateSplit(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.attr_int("axis", 0));
  const int n = static_cast<int>(ctx.num_outputs());
  std::optional<ValueRef> sizes;
  if (ctx.attr("split")) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> s, ctx.attr_ints("split", {}));
    sizes = ctx.ConstI64("/split_lengths", s);
  } else if (ctx.has_input(1)) {
    PTQ_ASSIGN_OR_RETURN(ValueRef s, ctx.input(1));
    sizes = s;
  }
  ValueRef ax = ctx.ConstI64("/axis", {axis}, true);
  graph::NodeId id;
  if (sizes) {
    id = ctx.AddOp("VariadicSplit", "opset1", {x, ax, *sizes}, {}, "", n);
  } else {
    Attributes a;
    a.SetInt("num_splits", n);
    id = ctx.AddOp("Split", "opset1", {x, ax}, a, "", n);
  }
  for (int i = 0; i < n; ++i) ctx.SetOutput(size_t(i), {id, i});
  return Status::Ok();
}

// Slice -> Slice-8 (data, start, stop, step[, axes]); opset < 10 reads attributes.
Status TranslateSlice(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  ValueRef start, stop, step;
  std::optional<ValueRef> axes;
  if (ctx.opset() < 10) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> s, ctx.attr_ints("starts", {}));
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> e, ctx.attr_ints("ends", {}));
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> ax, ctx.attr_ints("axes", {}));
    if (s.size() != e.size() || s.empty()) return ctx.Error("starts/ends are missing or differ");
    start = ctx.ConstI64("/start", s);
    stop = ctx.ConstI64("/stop", e);
    step = ctx.ConstI64("/step", std::vector<int64_t>(s.size(), 1));
    if (!ax.empty()) axes = ctx.ConstI64("/axes", ax);
  } else {
    PTQ_ASSIGN_OR_RETURN(start, ctx.input(1));
    PTQ_ASSIGN_OR_RETURN(stop, ctx.input(2));
    if (ctx.has_input(3)) {
      PTQ_ASSIGN_OR_RETURN(ValueRef a, ctx.input(3));
      axes = a;
    }
    if (ctx.has_input(4)) {
      PTQ_ASSIGN_OR_RETURN(step, ctx.input(4));
    } else if (const Tensor* s = ctx.const_input(1)) {
      step = ctx.ConstI64("/step", std::vector<int64_t>(size_t(s->size()), 1));
    } else {
      Attributes so;
      so.Set("output_type", "i64");
      ValueRef n = ctx.Op("ShapeOf", "opset3", {start}, so, "/start/ShapeOf");
      Attributes ba;
      ba.Set("mode", "numpy");
      step = ctx.Op("Broadcast", "opset3", {ctx.ConstI64("/one", {1}, true), n}, ba, "/step");
    }
  }
  std::vector<ValueRef> in = {x, start, stop, step};
  if (axes) in.push_back(*axes);
  ctx.SetOutput(0, ctx.Op("Slice", "opset8", in));
  return Status::Ok();
}

Status TranslateGather(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef idx, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.attr_int("axis", 0));
  Attributes a;
  a.SetInt("batch_dims", 0);
  ctx.SetOutput(0, ctx.Op("Gather", "opset8", {x, idx, ctx.ConstI64("/axis", {axis}, true)}, a));
  return Status::Ok();
}

// Shape -> ShapeOf-3 (i64) [-> Slice for opset-15 start/end].
Status TranslateShape(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  const bool sliced = ctx.attr("start") || ctx.attr("end");
  Attributes so;
  so.Set("output_type", "i64");
  ValueRef s = ctx.Op("ShapeOf", "opset3", {x}, so, sliced ? "/ShapeOf" : "");
  if (sliced) {
    PTQ_ASSIGN_OR_RETURN(int64_t b, ctx.attr_int("start", 0));
    PTQ_ASSIGN_OR_RETURN(int64_t e, ctx.attr_int("end", INT64_MAX));
    s = ctx.Op(
        "Slice", "opset8",
        {s, ctx.ConstI64("/start", {b}), ctx.ConstI64("/stop", {e}), ctx.ConstI64("/step", {1})});
  }
  ctx.SetOutput(0, s);
  return Status::Ok();
}

// Size -> ReduceProd(ShapeOf(x), axis 0) as an i64 scalar.
Status TranslateSize(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  Attributes so;
  so.Set("output_type", "i64");
  ValueRef s = ctx.Op("ShapeOf", "opset3", {x}, so, "/ShapeOf");
  Attributes a;
  a.SetBool("keep_dims", false);
  ctx.SetOutput(0, ctx.Op("ReduceProd", "opset1", {s, ctx.ConstI64("/axes", {0})}, a));
  return Status::Ok();
}

// Pad -> Pad-1 (data, pads_begin, pads_end[, pad_value]); ONNX pads are [begins..., ends...].
Status TranslatePad(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.attr_string("mode", "constant"));
  if (mode != "constant" && mode != "reflect" && mode != "edge") {
    return ctx.Error("mode '" + mode + "' is not supported");
  }
  ValueRef begin, end;
  std::optional<ValueRef> value;
  auto split_const = [&](const std::vector<int64_t>& pads) -> Status {
    if (pads.size() % 2) return ctx.Error("pads must have an even number of values");
    const size_t h = pads.size() / 2;
    begin = ctx.ConstI64("/pads_begin", {pads.begin(), pads.begin() + long(h)});
    end = ctx.ConstI64("/pads_end", {pads.begin() + long(h), pads.end()});
    return Status::Ok();
  };
  if (ctx.opset() < 11) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pads, ctx.attr_ints("pads", {}));
    PTQ_RETURN_IF_ERROR(split_const(pads));
    PTQ_ASSIGN_OR_RETURN(float v, ctx.attr_float("value", 0.f));
    if (mode == "constant" && v != 0.f) value = ctx.ConstF32("/pad_value", v);
  } else {
    if (ctx.has_input(3)) return ctx.Error("the axes input is not supported");
    if (const Tensor* p = ctx.const_input(1)) {
      if (!graph::IsInteger(p->type())) return ctx.Error("pads must be integers");
      PTQ_RETURN_IF_ERROR(split_const(p->ToInt64s()));
    } else {
      PTQ_ASSIGN_OR_RETURN(ValueRef pads, ctx.input(1));
      Attributes sa;
      sa.SetInt("num_splits", 2);
      graph::NodeId sp = ctx.AddOp("Split", "opset1", {pads, ctx.ConstI64("/pads/axis", {0}, true)},
                                   sa, "/pads/Split", 2);
      begin = {sp, 0};
      end = {sp, 1};
    }
    if (ctx.has_input(2) && mode == "constant") {
      PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(2));
      value = v;
    }
  }
  Attributes a;
  a.Set("pad_mode", mode);
  std::vector<ValueRef> in = {x, begin, end};
  if (value) in.push_back(*value);
  ctx.SetOutput(0, ctx.Op("Pad", "opset1", in, a));
  return Status::Ok();
}

Status TranslateExpand(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef shape, ctx.input(1));
  Attributes a;
  a.Set("mode", "bidirectional");
  ctx.SetOutput(0, ctx.Op("Broadcast", "opset3", {x, shape}, a));
  return Status::Ok();
}

Status TranslateTile(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef repeats, ctx.input(1));
  ctx.SetOutput(0, ctx.Op("Tile", "opset1", {x, repeats}));
  return Status::Ok();
}

}  // namespace ptqflow::io::onnx_import

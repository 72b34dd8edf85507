// Translators for convolutions, matrix products, normalization, pooling, softmax, reductions,
// Resize and LSTM.
#include <cctype>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "io/onnx/onnx_context.h"

namespace ptqflow::io::onnx_import {

using graph::Attributes;
using graph::ElementType;
using graph::Shape;
using graph::Tensor;
using graph::ValueRef;

namespace {

Attributes Numpy() {
  Attributes a;
  a.Set("auto_broadcast", "numpy");
  return a;
}

// strides / dilations / pads / auto_pad of a windowed op with `n` spatial dims, in IR form.
struct Window {
  std::vector<int64_t> strides, dilations, pads_begin, pads_end;
  std::string auto_pad;
};

Result<Window> ReadWindow(NodeContext& ctx, size_t n) {
  Window w;
  PTQ_ASSIGN_OR_RETURN(w.strides, ctx.attr_ints("strides", std::vector<int64_t>(n, 1)));
  PTQ_ASSIGN_OR_RETURN(w.dilations, ctx.attr_ints("dilations", std::vector<int64_t>(n, 1)));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pads,
                       ctx.attr_ints("pads", std::vector<int64_t>(2 * n, 0)));
  PTQ_ASSIGN_OR_RETURN(std::string ap, ctx.attr_string("auto_pad", "NOTSET"));
  if (w.strides.size() != n || w.dilations.size() != n || pads.size() != 2 * n) {
    return ctx.Error("strides/dilations/pads do not match " + std::to_string(n) +
                     " spatial dimensions");
  }
  if (ap == "NOTSET") {
    w.auto_pad = "explicit";
  } else if (ap == "SAME_UPPER") {
    w.auto_pad = "same_upper";
  } else if (ap == "SAME_LOWER") {
    w.auto_pad = "same_lower";
  } else if (ap == "VALID") {
    w.auto_pad = "valid";
  } else {
    return ctx.Error("auto_pad '" + ap + "' is not supported");
  }
  if (ap != "NOTSET") pads.assign(2 * n, 0);
  w.pads_begin.assign(pads.begin(), pads.begin() + long(n));
  w.pads_end.assign(pads.begin() + long(n), pads.end());
  return w;
}

// Number of spatial dims of a conv: from the weights (constant or inferred) or kernel_shape.
Result<size_t> SpatialRank(NodeContext& ctx) {
  if (const Tensor* w = ctx.const_input(1)) {
    if (w->shape().size() < 3) return ctx.Error("weights must have rank >= 3");
    return w->shape().size() - 2;
  }
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> k, ctx.attr_ints("kernel_shape", {}));
  if (!k.empty()) return k.size();
  PTQ_ASSIGN_OR_RETURN(int64_t r, ctx.InputRank(1));
  if (r < 3) return ctx.Error("weights must have rank >= 3");
  return size_t(r - 2);
}

// Static shape of input i (constant, or inferred); error if not static.
Result<Shape> StaticInputShape(NodeContext& ctx, size_t i) {
  if (const Tensor* t = ctx.const_input(i)) return t->shape();
  PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(i));
  PTQ_ASSIGN_OR_RETURN(graph::PartialShape s, ctx.ShapeOf(v));
  if (!s.is_static()) {
    return ctx.Error("the shape of input " + std::to_string(i) + " is not static (" + s.ToString() +
                     ")");
  }
  return s.to_shape();
}

// Weights reshaped to `shape` (a reshaped constant when constant, else a Reshape).
ValueRef ReshapeWeights(NodeContext& ctx, size_t i, const Shape& shape, const std::string& sfx) {
  if (const Tensor* w = ctx.const_input(i)) return ctx.Const(sfx, w->Reshaped(shape));
  Attributes a;
  a.SetBool("special_zero", false);
  return ctx.Op("Reshape", "opset1", {ctx.input(i).value(), ctx.ConstI64(sfx + "/shape", shape)}, a,
                sfx);
}

// y + bias reshaped to [1, C, 1, ...] (rank 2 + n).
Result<ValueRef> AddBias(NodeContext& ctx, ValueRef y, size_t bias_input, size_t n) {
  Shape target(n + 2, 1);
  target[1] = -1;
  ValueRef b;
  if (const Tensor* t = ctx.const_input(bias_input)) {
    target[1] = t->size();
    b = ctx.Const("/Bias", t->Reshaped(target));
  } else {
    PTQ_ASSIGN_OR_RETURN(ValueRef bv, ctx.input(bias_input));
    Attributes a;
    a.SetBool("special_zero", false);
    b = ctx.Op("Reshape", "opset1", {bv, ctx.ConstI64("/Bias/shape", target)}, a, "/Bias");
  }
  return ctx.Op("Add", "opset1", {y, b}, Numpy());
}

void SetWindow(Attributes& a, const Window& w, bool with_dilations) {
  a.Set("strides", JoinInts(w.strides));
  if (with_dilations) a.Set("dilations", JoinInts(w.dilations));
  a.Set("pads_begin", JoinInts(w.pads_begin));
  a.Set("pads_end", JoinInts(w.pads_end));
}

std::string FloatString(float f) { return graph::FormatDouble(static_cast<double>(f)); }

}  // namespace

// Conv -> Convolution (group 1) or GroupConvolution (weights [G, O/G, I/G, k...]) [+ bias Add].
Status TranslateConv(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef w, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(size_t n, SpatialRank(ctx));
  PTQ_ASSIGN_OR_RETURN(Window win, ReadWindow(ctx, n));
  PTQ_ASSIGN_OR_RETURN(int64_t group, ctx.attr_int("group", 1));
  if (group < 1) return ctx.Error("group must be >= 1");
  Attributes a;
  SetWindow(a, win, true);
  a.Set("auto_pad", win.auto_pad);
  const bool bias = ctx.has_input(2);
  const std::string sfx = bias ? "/WithoutBiases" : "";
  ValueRef y;
  if (group == 1) {
    y = ctx.Op("Convolution", "opset1", {x, w}, a, sfx);
  } else {
    PTQ_ASSIGN_OR_RETURN(Shape ws, StaticInputShape(ctx, 1));
    if (ws[0] % group != 0) {
      return ctx.Error("output channels " + std::to_string(ws[0]) + " not divisible by group " +
                       std::to_string(group));
    }
    Shape gs = {group, ws[0] / group};
    gs.insert(gs.end(), ws.begin() + 1, ws.end());
    ValueRef gw = ReshapeWeights(ctx, 1, gs, "/GroupWeights");
    y = ctx.Op("GroupConvolution", "opset1", {x, gw}, a, sfx);
  }
  if (bias) {
    PTQ_ASSIGN_OR_RETURN(y, AddBias(ctx, y, 2, n));
  }
  ctx.SetOutput(0, y);
  return Status::Ok();
}

// ConvTranspose -> ConvolutionBackpropData (group 1) or GroupConvolutionBackpropData [+ bias].
Status TranslateConvTranspose(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef w, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(size_t n, SpatialRank(ctx));
  PTQ_ASSIGN_OR_RETURN(Window win, ReadWindow(ctx, n));
  PTQ_ASSIGN_OR_RETURN(int64_t group, ctx.attr_int("group", 1));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad,
                       ctx.attr_ints("output_padding", std::vector<int64_t>(n, 0)));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> out_shape, ctx.attr_ints("output_shape", {}));
  if (out_pad.size() != n) return ctx.Error("output_padding does not match the spatial rank");
  Attributes a;
  SetWindow(a, win, true);
  a.Set("auto_pad", win.auto_pad);
  a.Set("output_padding", JoinInts(out_pad));
  std::vector<ValueRef> inputs = {x};
  const bool bias = ctx.has_input(2);
  const std::string sfx = bias ? "/WithoutBiases" : "";
  std::string type = "ConvolutionBackpropData";
  if (group == 1) {
    inputs.push_back(w);
  } else {
    PTQ_ASSIGN_OR_RETURN(Shape ws, StaticInputShape(ctx, 1));
    if (ws[0] % group != 0) return ctx.Error("input channels not divisible by group");
    Shape gs = {group, ws[0] / group};
    gs.insert(gs.end(), ws.begin() + 1, ws.end());
    inputs.push_back(ReshapeWeights(ctx, 1, gs, "/GroupWeights"));
    type = "GroupConvolutionBackpropData";
  }
  if (!out_shape.empty()) {
    if (out_shape.size() > n) out_shape.erase(out_shape.begin(), out_shape.end() - long(n));
    inputs.push_back(ctx.ConstI64("/output_shape", out_shape));
  }
  ValueRef y = ctx.Op(type, "opset1", inputs, a, sfx);
  if (bias) {
    PTQ_ASSIGN_OR_RETURN(y, AddBias(ctx, y, 2, n));
  }
  ctx.SetOutput(0, y);
  return Status::Ok();
}

Status TranslateMatMul(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef a, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef b, ctx.input(1));
  Attributes at;
  at.SetBool("transpose_a", false);
  at.SetBool("transpose_b", false);
  ctx.SetOutput(0, ctx.Op("MatMul", "opset1", {a, b}, at));
  return Status::Ok();
}

// Gemm: alpha * A' * B' + beta * C -> MatMul(transpose_a, transpose_b) [* alpha] [+ C [* beta]].
Status TranslateGemm(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef a, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef b, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(float alpha, ctx.attr_float("alpha", 1.f));
  PTQ_ASSIGN_OR_RETURN(float beta, ctx.attr_float("beta", 1.f));
  PTQ_ASSIGN_OR_RETURN(int64_t ta, ctx.attr_int("transA", 0));
  PTQ_ASSIGN_OR_RETURN(int64_t tb, ctx.attr_int("transB", 0));
  const bool has_c = ctx.has_input(2) && beta != 0.f;
  Attributes at;
  at.SetBool("transpose_a", ta != 0);
  at.SetBool("transpose_b", tb != 0);
  ValueRef y = ctx.Op("MatMul", "opset1", {a, b}, at, (has_c || alpha != 1.f) ? "/MatMul" : "");
  if (alpha != 1.f) {
    y = ctx.Op("Multiply", "opset1", {y, ctx.ConstF32("/alpha", alpha)}, Numpy(),
               has_c ? "/alpha/Multiply" : "");
  }
  if (has_c) {
    PTQ_ASSIGN_OR_RETURN(ValueRef c, ctx.input(2));
    if (beta != 1.f) {
      c = ctx.Op("Multiply", "opset1", {c, ctx.ConstF32("/beta", beta)}, Numpy(), "/beta/Multiply");
    }
    y = ctx.Op("Add", "opset1", {y, c}, Numpy());
  }
  ctx.SetOutput(0, y);
  return Status::Ok();
}

// BatchNormalization (inference) -> BatchNormInference-5; inputs keep ONNX's order
// (data, gamma, beta, mean, variance).
Status TranslateBatchNorm(NodeContext& ctx) {
  std::vector<ValueRef> in;
  for (size_t i = 0; i < 5; ++i) {
    PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(i));
    in.push_back(v);
  }
  for (size_t i = 1; i < ctx.num_outputs(); ++i) {
    if (ctx.has_output(i)) return ctx.Error("training-mode outputs are not supported");
  }
  PTQ_ASSIGN_OR_RETURN(float eps, ctx.attr_float("epsilon", 1e-5f));
  Attributes a;
  a.Set("epsilon", FloatString(eps));
  ctx.SetOutput(0, ctx.Op("BatchNormInference", "opset5", in, a));
  return Status::Ok();
}

// AveragePool -> AvgPool-1; MaxPool -> MaxPool-8.
Status TranslatePool(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.attr_ints("kernel_shape", {}));
  if (kernel.empty()) return ctx.Error("attribute 'kernel_shape' is missing");
  PTQ_ASSIGN_OR_RETURN(Window win, ReadWindow(ctx, kernel.size()));
  PTQ_ASSIGN_OR_RETURN(int64_t ceil_mode, ctx.attr_int("ceil_mode", 0));
  Attributes a;
  const bool max = std::string(ctx.target()) == "MaxPool";
  SetWindow(a, win, max);
  a.Set("kernel", JoinInts(kernel));
  a.Set("rounding_type", ceil_mode ? "ceil" : "floor");
  a.Set("auto_pad", win.auto_pad);
  if (max) {
    if (ctx.has_output(1)) return ctx.Error("the Indices output is not supported");
    a.Set("index_element_type", "i64");
    a.Set("axis", "0");
    graph::NodeId id = ctx.AddOp("MaxPool", "opset8", {x}, a, "", 2);
    ctx.SetOutput(0, {id, 0});
  } else {
    PTQ_ASSIGN_OR_RETURN(int64_t cip, ctx.attr_int("count_include_pad", 0));
    a.SetBool("exclude-pad", cip == 0);
    ctx.SetOutput(0, ctx.Op("AvgPool", "opset1", {x}, a));
  }
  return Status::Ok();
}

// GlobalAveragePool / GlobalMaxPool -> ReduceMean / ReduceMax over the spatial axes, keep_dims.
Status TranslateGlobalPool(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t rank, ctx.InputRank(0));
  std::vector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i) axes.push_back(i);
  Attributes a;
  a.SetBool("keep_dims", true);
  ctx.SetOutput(0, ctx.Op(ctx.target(), "opset1", {x, ctx.ConstI64("/axes", axes)}, a));
  return Status::Ok();
}

// Reshape x to 2-D [prod(dims[:axis]), prod(dims[axis:])] (static shape -> constant target;
// otherwise computed from ShapeOf).
Result<ValueRef> FlattenTo2D(NodeContext& ctx, ValueRef x, int64_t axis, const std::string& sfx) {
  Attributes ra;
  ra.SetBool("special_zero", false);
  if (axis == 0) {
    return ctx.Op("Reshape", "opset1", {x, ctx.ConstI64(sfx + "/shape", {1, -1})}, ra, sfx);
  }
  PTQ_ASSIGN_OR_RETURN(graph::PartialShape s, ctx.ShapeOf(x));
  if (s.rank_known()) {
    bool head_static = true;
    int64_t head = 1;
    for (int64_t i = 0; i < axis && i < int64_t(s.rank()); ++i) {
      if (s[size_t(i)] < 0) head_static = false;
      head *= s[size_t(i)];
    }
    if (head_static) {
      return ctx.Op("Reshape", "opset1", {x, ctx.ConstI64(sfx + "/shape", {head, -1})}, ra, sfx);
    }
  }
  Attributes so;
  so.Set("output_type", "i64");
  ValueRef shape = ctx.Op("ShapeOf", "opset3", {x}, so, sfx + "/ShapeOf");
  ValueRef head = ctx.Op("Slice", "opset8",
                         {shape, ctx.ConstI64(sfx + "/start", {0}),
                          ctx.ConstI64(sfx + "/stop", {axis}), ctx.ConstI64(sfx + "/step", {1})},
                         {}, sfx + "/Head");
  Attributes rp;
  rp.SetBool("keep_dims", true);
  ValueRef prod =
      ctx.Op("ReduceProd", "opset1", {head, ctx.ConstI64(sfx + "/axes", {0})}, rp, sfx + "/Prod");
  Attributes ca;
  ca.SetInt("axis", 0);
  ValueRef target =
      ctx.Op("Concat", "opset1", {prod, ctx.ConstI64(sfx + "/minus1", {-1})}, ca, sfx + "/Target");
  return ctx.Op("Reshape", "opset1", {x, target}, ra, sfx);
}

// Softmax: opset >= 13 normalizes along `axis`; before 13 the input is flattened to 2-D at `axis`
// and normalized along dim 1 (identical to Softmax(axis) when axis is the last dim).
Status TranslateSoftmax(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, ctx.attr_int("axis", ctx.opset() >= 13 ? -1 : 1));
  Attributes a;
  if (ctx.opset() >= 13) {
    a.SetInt("axis", axis);
    ctx.SetOutput(0, ctx.Op("Softmax", "opset8", {x}, a));
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(int64_t rank, ctx.InputRank(0));
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    return ctx.Error("axis is out of range for rank " + std::to_string(rank));
  if (axis == rank - 1) {
    a.SetInt("axis", axis);
    ctx.SetOutput(0, ctx.Op("Softmax", "opset8", {x}, a));
    return Status::Ok();
  }
  PTQ_ASSIGN_OR_RETURN(ValueRef flat, FlattenTo2D(ctx, x, axis, "/Flatten"));
  a.SetInt("axis", 1);
  ValueRef sm = ctx.Op("Softmax", "opset8", {flat}, a, "/Softmax");
  Attributes so;
  so.Set("output_type", "i64");
  ValueRef shape = ctx.Op("ShapeOf", "opset3", {x}, so, "/ShapeOf");
  Attributes ra;
  ra.SetBool("special_zero", false);
  ctx.SetOutput(0, ctx.Op("Reshape", "opset1", {sm, shape}, ra));
  return Status::Ok();
}

// ReduceX: axes from the attribute (older opsets) or input 1; no axes = all axes (or identity
// with noop_with_empty_axes).
Status TranslateReduce(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t keep, ctx.attr_int("keepdims", 1));
  PTQ_ASSIGN_OR_RETURN(int64_t noop, ctx.attr_int("noop_with_empty_axes", 0));
  const std::string type = ctx.target();
  std::optional<ValueRef> axes;
  if (ctx.attr("axes")) {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> ax, ctx.attr_ints("axes", {}));
    if (!ax.empty()) axes = ctx.ConstI64("/axes", ax);
  } else if (ctx.has_input(1)) {
    const Tensor* t = ctx.const_input(1);
    if (!t || t->size() > 0) {
      PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(1));
      axes = v;
    }
  }
  if (!axes) {
    if (noop) {
      ctx.SetOutput(0, x);
      return Status::Ok();
    }
    PTQ_ASSIGN_OR_RETURN(int64_t rank, ctx.InputRank(0));
    std::vector<int64_t> all;
    for (int64_t i = 0; i < rank; ++i) all.push_back(i);
    axes = ctx.ConstI64("/axes", all);
  }
  Attributes a;
  a.SetBool("keep_dims", keep != 0);
  ctx.SetOutput(0, ctx.Op(type, type == "ReduceL2" ? "opset4" : "opset1", {x, *axes}, a));
  return Status::Ok();
}

// Resize -> Interpolate-11 (scales or sizes over all axes).
Status TranslateResize(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(std::string mode, ctx.attr_string("mode", "nearest"));
  const bool v10 = ctx.opset() < 11;
  PTQ_ASSIGN_OR_RETURN(std::string ctm, ctx.attr_string("coordinate_transformation_mode",
                                                        v10 ? "asymmetric" : "half_pixel"));
  PTQ_ASSIGN_OR_RETURN(std::string nearest,
                       ctx.attr_string("nearest_mode", v10 ? "floor" : "round_prefer_floor"));
  PTQ_ASSIGN_OR_RETURN(float cubic, ctx.attr_float("cubic_coeff_a", -0.75f));
  PTQ_ASSIGN_OR_RETURN(int64_t antialias, ctx.attr_int("antialias", 0));
  PTQ_ASSIGN_OR_RETURN(int64_t exclude_outside, ctx.attr_int("exclude_outside", 0));
  if (ctx.attr("axes")) return ctx.Error("attribute 'axes' is not supported");
  if (exclude_outside) return ctx.Error("exclude_outside=1 is not supported");
  if (ctm == "tf_crop_and_resize") return ctx.Error("tf_crop_and_resize is not supported");
  std::string ov_mode;
  if (mode == "nearest") {
    ov_mode = "nearest";
  } else if (mode == "linear") {
    ov_mode = "linear_onnx";
  } else if (mode == "cubic") {
    ov_mode = "cubic";
  } else {
    return ctx.Error("mode '" + mode + "' is not supported");
  }
  // Inputs: opset 10 (X, scales); opset >= 11 (X, roi, scales, sizes).
  const size_t scales_i = v10 ? 1 : 2;
  bool use_sizes = false;
  if (!v10 && ctx.has_input(3)) {
    const Tensor* s = ctx.const_input(3);
    use_sizes = !s || s->size() > 0;
  }
  PTQ_ASSIGN_OR_RETURN(ValueRef target, ctx.input(use_sizes ? 3 : scales_i));
  Attributes a;
  a.Set("mode", ov_mode);
  a.Set("shape_calculation_mode", use_sizes ? "sizes" : "scales");
  a.Set("coordinate_transformation_mode", ctm);
  a.Set("nearest_mode", nearest);
  a.SetBool("antialias", antialias != 0);
  a.Set("pads_begin", "0");
  a.Set("pads_end", "0");
  a.Set("cube_coeff", FloatString(cubic));
  ctx.SetOutput(0, ctx.Op("Interpolate", "opset11", {x, target}, a));
  return Status::Ok();
}

// LSTM -> LSTMSequence-5. ONNX is time-major (layout 0) with gate order i,o,f,c and separate
// input/recurrent biases; OpenVINO is batch-major with gate order f,i,c,o and one bias:
//   X [S,B,I] -> Transpose -> [B,S,I];  H0/C0 [D,B,H] -> [B,D,H]
//   W/R [D,4H,*] -> Split(axis 1, 4) -> Concat(f,i,c,o);  B [D,8H] -> Wb + Rb -> reorder
//   Y [B,D,S,H] -> [S,D,B,H];  Yh/Yc [B,D,H] -> [D,B,H]
Status TranslateLstm(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef w, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(ValueRef r, ctx.input(2));
  PTQ_ASSIGN_OR_RETURN(int64_t hidden, ctx.attr_int("hidden_size", -1));
  PTQ_ASSIGN_OR_RETURN(std::string dir, ctx.attr_string("direction", "forward"));
  PTQ_ASSIGN_OR_RETURN(int64_t layout, ctx.attr_int("layout", 0));
  PTQ_ASSIGN_OR_RETURN(int64_t input_forget, ctx.attr_int("input_forget", 0));
  PTQ_ASSIGN_OR_RETURN(float clip, ctx.attr_float("clip", 0.f));
  PTQ_ASSIGN_OR_RETURN(std::vector<float> act_alpha, ctx.attr_floats("activation_alpha", {}));
  PTQ_ASSIGN_OR_RETURN(std::vector<float> act_beta, ctx.attr_floats("activation_beta", {}));
  if (input_forget) return ctx.Error("input_forget=1 is not supported");
  if (ctx.has_input(7)) return ctx.Error("peephole weights (input P) are not supported");
  if (!act_alpha.empty() || !act_beta.empty()) {
    return ctx.Error("activation_alpha/activation_beta are not supported");
  }
  std::vector<std::string> acts = {"sigmoid", "tanh", "tanh"};
  if (const auto* aa = ctx.attr("activations")) {
    if (aa->strings_size() != 3) {
      return ctx.Error("activations must list 3 functions (bidirectional is not supported)");
    }
    for (int i = 0; i < 3; ++i) {
      std::string s = aa->strings(i);
      for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
      if (s != "sigmoid" && s != "tanh" && s != "relu") {
        return ctx.Error("activation '" + aa->strings(i) + "' is not supported");
      }
      acts[size_t(i)] = s;
    }
  }
  if (dir != "forward" && dir != "reverse") {
    return ctx.Error("direction '" + dir + "' is not supported (forward or reverse only)");
  }
  if (hidden <= 0) {
    PTQ_ASSIGN_OR_RETURN(Shape rs, StaticInputShape(ctx, 2));
    hidden = rs.back();
  }
  const int64_t num_dir = 1;
  auto transpose = [&](ValueRef v, std::vector<int64_t> perm, const std::string& sfx) {
    return ctx.Op("Transpose", "opset1", {v, ctx.ConstI64(sfx + "/order", perm)}, {}, sfx);
  };
  // Reorders the 4 gate blocks along axis 1 from i,o,f,c to f,i,c,o.
  auto reorder = [&](ValueRef v, const std::string& sfx) {
    Attributes sa;
    sa.SetInt("num_splits", 4);
    graph::NodeId sp = ctx.AddOp("Split", "opset1", {v, ctx.ConstI64(sfx + "/axis", {1}, true)}, sa,
                                 sfx + "/Split", 4);
    Attributes ca;
    ca.SetInt("axis", 1);
    return ctx.Op("Concat", "opset1", {{sp, 2}, {sp, 0}, {sp, 3}, {sp, 1}}, ca, sfx);
  };
  ValueRef xb = layout == 0 ? transpose(x, {1, 0, 2}, "/X") : x;
  Attributes so;
  so.Set("output_type", "i64");
  ValueRef xshape = ctx.Op("ShapeOf", "opset3", {xb}, so, "/X/ShapeOf");
  Attributes ga;
  ga.SetInt("batch_dims", 0);
  ValueRef zero_axis = ctx.ConstI64("/gather_axis", {0}, true);
  ValueRef batch = ctx.Op("Gather", "opset8",
                          {xshape, ctx.ConstI64("/batch_index", {0}), zero_axis}, ga, "/Batch");
  auto state = [&](size_t i, const std::string& sfx) -> Result<ValueRef> {
    if (ctx.has_input(i)) {
      PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(i));
      return layout == 0 ? transpose(v, {1, 0, 2}, sfx) : v;
    }
    Attributes ca;
    ca.SetInt("axis", 0);
    ValueRef shape =
        ctx.Op("Concat", "opset1", {batch, ctx.ConstI64(sfx + "/dims", {num_dir, hidden})}, ca,
               sfx + "/Shape");
    Attributes ba;
    ba.Set("mode", "numpy");
    return ctx.Op("Broadcast", "opset3", {ctx.ConstF32(sfx + "/zero", 0.f), shape}, ba, sfx);
  };
  PTQ_ASSIGN_OR_RETURN(ValueRef h0, state(5, "/H0"));
  PTQ_ASSIGN_OR_RETURN(ValueRef c0, state(6, "/C0"));
  ValueRef lens;
  if (ctx.has_input(4)) {
    PTQ_ASSIGN_OR_RETURN(lens, ctx.input(4));
  } else {
    ValueRef seq = ctx.Op("Gather", "opset8",
                          {xshape, ctx.ConstI64("/seq_index", {1}, true), zero_axis}, ga, "/Seq");
    Attributes ba;
    ba.Set("mode", "numpy");
    lens = ctx.Op("Broadcast", "opset3", {seq, batch}, ba, "/SeqLengths");
  }
  ValueRef wr = reorder(w, "/W");
  ValueRef rr = reorder(r, "/R");
  ValueRef b;
  if (ctx.has_input(3)) {
    PTQ_ASSIGN_OR_RETURN(ValueRef bv, ctx.input(3));
    Attributes sa;
    sa.SetInt("num_splits", 2);
    graph::NodeId sp =
        ctx.AddOp("Split", "opset1", {bv, ctx.ConstI64("/B/axis", {1}, true)}, sa, "/B/Split", 2);
    ValueRef sum = ctx.Op("Add", "opset1", {{sp, 0}, {sp, 1}}, Numpy(), "/B/Add");
    b = reorder(sum, "/B");
  } else {
    b = ctx.Const("/B", Tensor::Allocate(ElementType::kF32, {num_dir, 4 * hidden}));
  }
  Attributes a;
  a.Set("direction", dir);
  a.SetInt("hidden_size", hidden);
  a.Set("activations", acts[0] + "," + acts[1] + "," + acts[2]);
  a.Set("activations_alpha", "");
  a.Set("activations_beta", "");
  a.Set("clip", FloatString(clip));
  graph::NodeId lstm = ctx.AddOp("LSTMSequence", "opset5", {xb, h0, c0, lens, wr, rr, b}, a, "", 3);
  if (ctx.has_output(0)) {
    ctx.SetOutput(0, transpose({lstm, 0},
                               layout == 0 ? std::vector<int64_t>{2, 1, 0, 3}
                                           : std::vector<int64_t>{0, 2, 1, 3},
                               "/Y"));
  }
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_output(size_t(i))) continue;
    ValueRef v{lstm, i};
    ctx.SetOutput(size_t(i), layout == 0 ? transpose(v, {1, 0, 2}, i == 1 ? "/Y_h" : "/Y_c") : v);
  }
  return Status::Ok();
}

}  // namespace ptqflow::io::onnx_import

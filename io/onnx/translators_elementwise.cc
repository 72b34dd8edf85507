// Translators for element-wise ONNX ops, activations, constants and casts.
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "io/onnx/onnx_context.h"

namespace ptqflow::io::onnx_import {

using graph::Attributes;
using graph::ElementType;
using graph::Tensor;
using graph::ValueRef;

namespace {

std::string VersionOf(const std::string& ov_type) {
  if (ov_type == "HSwish") return "opset4";
  if (ov_type == "HSigmoid") return "opset5";
  return "opset1";
}

Attributes Numpy() {
  Attributes a;
  a.Set("auto_broadcast", "numpy");
  return a;
}

}  // namespace

Status TranslateUnary(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  ctx.SetOutput(0, ctx.Op(ctx.target(), VersionOf(ctx.target()), {x}));
  return Status::Ok();
}

Status TranslateBinary(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef a, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef b, ctx.input(1));
  if (ctx.opset() < 7 && ctx.attr("broadcast")) {
    return ctx.Error("legacy 'broadcast' attribute is not supported");
  }
  const std::string type = ctx.target();
  ctx.SetOutput(0, ctx.Op(type, "opset1", {a, b}, type == "PRelu" ? Attributes() : Numpy()));
  return Status::Ok();
}

// Max / Min / Sum with any number of inputs: a left-to-right chain of binary ops.
Status TranslateVariadic(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef acc, ctx.input(0));
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    PTQ_ASSIGN_OR_RETURN(ValueRef b, ctx.input(i));
    const bool last = i + 1 == ctx.num_inputs();
    acc = ctx.Op(ctx.target(), "opset1", {acc, b}, Numpy(), last ? "" : "/" + std::to_string(i));
  }
  ctx.SetOutput(0, acc);
  return Status::Ok();
}

Status TranslateCast(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(int64_t to, ctx.attr_int("to", -1));
  auto type = ElementTypeFromOnnx(static_cast<int32_t>(to));
  if (!type.ok()) return ctx.Error("attribute 'to': " + type.status().message());
  Attributes a;
  a.Set("destination_type", std::string(graph::ElementTypeName(*type)));
  ctx.SetOutput(0, ctx.Op("Convert", "opset1", {x}, a));
  return Status::Ok();
}

// Clip -> Clamp when the bounds are constants (attributes before opset 11, inputs after);
// non-constant bounds -> Maximum / Minimum.
Status TranslateClip(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  double lo = std::numeric_limits<float>::lowest();
  double hi = std::numeric_limits<float>::max();
  std::optional<ValueRef> lo_v, hi_v;
  if (ctx.opset() < 11) {
    PTQ_ASSIGN_OR_RETURN(float l, ctx.attr_float("min", std::numeric_limits<float>::lowest()));
    PTQ_ASSIGN_OR_RETURN(float h, ctx.attr_float("max", std::numeric_limits<float>::max()));
    lo = l;
    hi = h;
  } else {
    for (size_t i : {size_t(1), size_t(2)}) {
      if (!ctx.has_input(i)) continue;
      const Tensor* t = ctx.const_input(i);
      if (t) {
        if (t->size() != 1) return ctx.Error("min/max input must have one element");
        (i == 1 ? lo : hi) = t->ToDoubles()[0];
      } else {
        PTQ_ASSIGN_OR_RETURN(ValueRef v, ctx.input(i));
        (i == 1 ? lo_v : hi_v) = v;
      }
    }
  }
  if (!lo_v && !hi_v) {
    Attributes a;
    a.SetFloat("min", lo);
    a.SetFloat("max", hi);
    ctx.SetOutput(0, ctx.Op("Clamp", "opset1", {x}, a));
    return Status::Ok();
  }
  ValueRef y = x;
  if (lo_v)
    y = ctx.Op("Maximum", "opset1", {y, *lo_v}, Numpy(), hi_v ? "/Max" : "");
  else if (lo != std::numeric_limits<float>::lowest()) {
    y = ctx.Op("Maximum", "opset1", {y, ctx.ConstF32("/min", float(lo))}, Numpy(), "/Max");
  }
  if (hi_v)
    y = ctx.Op("Minimum", "opset1", {y, *hi_v}, Numpy());
  else if (hi != std::numeric_limits<float>::max()) {
    y = ctx.Op("Minimum", "opset1", {y, ctx.ConstF32("/max", float(hi))}, Numpy());
  }
  ctx.SetOutput(0, y);
  return Status::Ok();
}

// HardSigmoid(alpha=1/6, beta=0.5) is HSigmoid; any other alpha/beta -> HardSigmoid with constant
// alpha and beta inputs.
Status TranslateHardSigmoid(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(float alpha, ctx.attr_float("alpha", 0.2f));
  PTQ_ASSIGN_OR_RETURN(float beta, ctx.attr_float("beta", 0.5f));
  if (std::fabs(alpha - 1.0 / 6.0) < 1e-6 && beta == 0.5f) {
    ctx.SetOutput(0, ctx.Op("HSigmoid", "opset5", {x}));
    return Status::Ok();
  }
  ValueRef a = ctx.ConstF32("/alpha", alpha);
  ValueRef b = ctx.ConstF32("/beta", beta);
  ctx.SetOutput(0, ctx.Op("HardSigmoid", "opset1", {x, a, b}));
  return Status::Ok();
}

Status TranslateLeakyRelu(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(float alpha, ctx.attr_float("alpha", 0.01f));
  ValueRef slope = ctx.ConstF32("/slope", alpha, {1});
  ctx.SetOutput(0, ctx.Op("PRelu", "opset1", {x, slope}));
  return Status::Ok();
}

Status TranslateWhere(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef c, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef a, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(ValueRef b, ctx.input(2));
  ctx.SetOutput(0, ctx.Op("Select", "opset1", {c, a, b}, Numpy()));
  return Status::Ok();
}

// Identity and Dropout (inference) are removed: their output is their input.
Status TranslateIdentity(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef x, ctx.input(0));
  if (ctx.has_output(1)) return ctx.Error("the Dropout mask output is not supported");
  ctx.SetOutput(0, x);
  return Status::Ok();
}

// Dropout is the identity at inference. In training mode (opset >= 12: the training_mode input
// is true) it zeroes random elements and rescales the others, which this importer cannot
// reproduce: such a node is rejected, naming it, unless its ratio is a constant 0 (then training
// mode is the identity too).
Status TranslateDropout(NodeContext& ctx) {
  if (ctx.has_input(2)) {
    PTQ_ASSIGN_OR_RETURN(ValueRef mode_v, ctx.input(2));
    std::string why;
    Tensor mode;
    if (const Tensor* t = ctx.const_input(2)) {
      mode = *t;
    } else {
      mode = EvaluateValue(ctx.state(), mode_v, &why);
    }
    if (mode.empty() || mode.size() != 1) {
      return ctx.Error("training_mode must be a scalar known at import time" +
                       (why.empty() ? std::string() : " (" + why + ")"));
    }
    if (mode.ToInt64s()[0] != 0) {
      const Tensor* ratio = ctx.has_input(1) ? ctx.const_input(1) : nullptr;
      const bool zero_ratio = ratio && ratio->size() == 1 && ratio->ToDoubles()[0] == 0.0;
      if (!zero_ratio) {
        return ctx.Error(
            "training_mode is true: training-mode Dropout (random masking) is not supported; "
            "export the model for inference (training_mode false)");
      }
    }
  }
  return TranslateIdentity(ctx);
}

Status TranslateConstant(NodeContext& ctx) {
  if (ctx.proto().attribute_size() != 1) {
    return ctx.Error("expected exactly one value attribute, got " +
                     std::to_string(ctx.proto().attribute_size()));
  }
  const onnx::AttributeProto& a = ctx.proto().attribute(0);
  Tensor t;
  if (a.name() == "value") {
    PTQ_ASSIGN_OR_RETURN(t, ctx.attr_tensor("value"));
  } else if (a.name() == "value_float") {
    PTQ_ASSIGN_OR_RETURN(float f, ctx.attr_float("value_float", 0));
    t = Tensor::FromVector<float>(ElementType::kF32, {}, {f});
  } else if (a.name() == "value_floats") {
    PTQ_ASSIGN_OR_RETURN(std::vector<float> f, ctx.attr_floats("value_floats", {}));
    t = Tensor::FromVector<float>(ElementType::kF32, {int64_t(f.size())}, f);
  } else if (a.name() == "value_int") {
    PTQ_ASSIGN_OR_RETURN(int64_t i, ctx.attr_int("value_int", 0));
    t = Tensor::FromVector<int64_t>(ElementType::kI64, {}, {i});
  } else if (a.name() == "value_ints") {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> i, ctx.attr_ints("value_ints", {}));
    t = Tensor::FromVector<int64_t>(ElementType::kI64, {int64_t(i.size())}, i);
  } else {
    return ctx.Error("attribute '" + a.name() + "' is not supported");
  }
  ctx.SetOutput(0, ctx.Const("", std::move(t)));
  return Status::Ok();
}

// ConstantOfShape -> Broadcast(value, shape).
Status TranslateConstantOfShape(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef shape, ctx.input(0));
  Tensor value = Tensor::FromVector<float>(ElementType::kF32, {}, {0.f});
  if (ctx.attr("value")) {
    PTQ_ASSIGN_OR_RETURN(value, ctx.attr_tensor("value"));
    if (value.size() != 1) return ctx.Error("attribute 'value' must have one element");
    value = value.Reshaped({});
  }
  ValueRef v = ctx.Const("/value", value);
  Attributes a;
  a.Set("mode", "numpy");
  ctx.SetOutput(0, ctx.Op("Broadcast", "opset3", {v, shape}, a));
  return Status::Ok();
}

Status TranslateRange(NodeContext& ctx) {
  PTQ_ASSIGN_OR_RETURN(ValueRef start, ctx.input(0));
  PTQ_ASSIGN_OR_RETURN(ValueRef limit, ctx.input(1));
  PTQ_ASSIGN_OR_RETURN(ValueRef delta, ctx.input(2));
  ElementType type = ctx.graph().output(start).type;
  if (type == ElementType::kUndefined) {
    PTQ_RETURN_IF_ERROR(ctx.ShapeOf(start).status());
    type = ctx.graph().output(start).type;
  }
  if (type == ElementType::kUndefined) return ctx.Error("the element type of 'start' is unknown");
  Attributes a;
  a.Set("output_type", std::string(graph::ElementTypeName(type)));
  ctx.SetOutput(0, ctx.Op("Range", "opset4", {start, limit, delta}, a));
  return Status::Ok();
}

}  // namespace ptqflow::io::onnx_import

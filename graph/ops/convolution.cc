// Convolution family (Convolution, GroupConvolution, ConvolutionBackpropData,
// GroupConvolutionBackpropData) and MatMul.
#include <algorithm>
#include <cctype>

#include "graph/ops/infer_context.h"
#include "graph/ops/window.h"

namespace ptqflow::graph::ops {

Result<AutoPad> ParseAutoPad(const std::string& s) {
  std::string l = s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  if (l == "explicit" || l == "notset" || l.empty()) return AutoPad::kExplicit;
  if (l == "same_upper") return AutoPad::kSameUpper;
  if (l == "same_lower") return AutoPad::kSameLower;
  if (l == "valid") return AutoPad::kValid;
  return Status::Error("unknown auto_pad '" + s + "'");
}

WindowAxis ResolveWindowAxis(AutoPad mode, int64_t in, int64_t kernel, int64_t stride,
                             int64_t dilation, int64_t pad_begin, int64_t pad_end,
                             Rounding rounding) {
  WindowAxis w;
  const int64_t window = dilation * (kernel - 1) + 1;
  if (mode == AutoPad::kValid) {
    pad_begin = pad_end = 0;
  } else if (mode == AutoPad::kSameUpper || mode == AutoPad::kSameLower) {
    if (in < 0) {
      w.pad_begin = w.pad_end = 0;
      w.out = kDynamicDim;
      return w;
    }
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + window - in);
    if (mode == AutoPad::kSameUpper) {
      pad_begin = total / 2;
      pad_end = total - pad_begin;
    } else {
      pad_end = total / 2;
      pad_begin = total - pad_end;
    }
    w.pad_begin = pad_begin;
    w.pad_end = pad_end;
    w.out = out;
    return w;
  }
  w.pad_begin = pad_begin;
  w.pad_end = pad_end;
  if (in < 0) {
    w.out = kDynamicDim;
    return w;
  }
  const int64_t span = in + pad_begin + pad_end - window;
  if (span < 0) {
    w.out = 0;
    return w;
  }
  if (rounding != Rounding::kFloor) {
    w.out = (span + stride - 1) / stride + 1;
    // ceil_torch: the last window must start inside the input or the begin padding.
    if (rounding == Rounding::kCeilTorch && (w.out - 1) * stride >= in + pad_begin) --w.out;
  } else {
    w.out = span / stride + 1;
  }
  return w;
}

namespace {

struct WindowAttrs {
  std::vector<int64_t> strides, dilations, pads_begin, pads_end, output_padding;
  AutoPad auto_pad = AutoPad::kExplicit;
};

Result<WindowAttrs> ReadWindowAttrs(const InferContext& ctx, size_t spatial, bool backprop) {
  WindowAttrs w;
  PTQ_ASSIGN_OR_RETURN(w.strides, ctx.Ints("strides"));
  PTQ_ASSIGN_OR_RETURN(w.dilations, ctx.Ints("dilations", std::vector<int64_t>(spatial, 1)));
  PTQ_ASSIGN_OR_RETURN(std::string ap, ctx.Str("auto_pad", "explicit"));
  auto mode = ParseAutoPad(ap);
  if (!mode.ok()) return ctx.Error(mode.status().message());
  w.auto_pad = *mode;
  const std::vector<int64_t> zeros(spatial, 0);
  PTQ_ASSIGN_OR_RETURN(w.pads_begin, ctx.Ints("pads_begin", zeros));
  PTQ_ASSIGN_OR_RETURN(w.pads_end, ctx.Ints("pads_end", zeros));
  if (backprop) {
    PTQ_ASSIGN_OR_RETURN(w.output_padding, ctx.Ints("output_padding", zeros));
  }
  if (w.pads_begin.empty()) w.pads_begin = zeros;  // IR writes "" for valid/same sometimes
  if (w.pads_end.empty()) w.pads_end = zeros;
  if (backprop && w.output_padding.empty()) w.output_padding = zeros;
  auto check = [&](const char* name, const std::vector<int64_t>& v, bool positive) -> Status {
    if (v.size() != spatial) {
      return ctx.Error(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                       " values, expected " + std::to_string(spatial) + " (one per spatial axis)");
    }
    for (int64_t x : v) {
      if (positive ? x < 1 : x < 0) {
        return ctx.Error(std::string("attribute '") + name + "' has an invalid value " +
                         std::to_string(x));
      }
    }
    return Status::Ok();
  };
  PTQ_RETURN_IF_ERROR(check("strides", w.strides, true));
  PTQ_RETURN_IF_ERROR(check("dilations", w.dilations, true));
  PTQ_RETURN_IF_ERROR(check("pads_begin", w.pads_begin, false));
  PTQ_RETURN_IF_ERROR(check("pads_end", w.pads_end, false));
  if (backprop) PTQ_RETURN_IF_ERROR(check("output_padding", w.output_padding, false));
  return w;
}

Status CheckFloatTypes(InferContext& ctx, ElementType* t) {
  PTQ_ASSIGN_OR_RETURN(*t, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(1)));
  return Status::Ok();
}

// Convolution / GroupConvolution.
Status InferConv(InferContext& ctx, bool group) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  ElementType t;
  PTQ_RETURN_IF_ERROR(CheckFloatTypes(ctx, &t));
  const PartialShape& x = ctx.in_shape(0);
  const PartialShape& f = ctx.in_shape(1);
  const size_t kfilter_extra = group ? 1 : 0;
  size_t spatial;
  if (x.rank_known()) {
    if (x.rank() < 3) return ctx.Error("data " + x.ToString() + " must have rank >= 3");
    spatial = x.rank() - 2;
  } else if (f.rank_known()) {
    spatial = f.rank() - 2 - kfilter_extra;
  } else {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  if (f.rank_known() && f.rank() != spatial + 2 + kfilter_extra) {
    return ctx.Error("filters " + f.ToString() + " do not match data " + x.ToString() +
                     (group ? " (expected [G, O/G, C/G, k...])" : " (expected [O, C, k...])"));
  }
  PTQ_ASSIGN_OR_RETURN(WindowAttrs w, ReadWindowAttrs(ctx, spatial, false));
  Shape out(spatial + 2, kDynamicDim);
  if (x.rank_known()) out[0] = x[0];
  const int64_t c = x.rank_known() ? x[1] : kDynamicDim;
  if (f.rank_known()) {
    if (group) {
      const int64_t g = f[0], cg = f[2];
      out[1] = IsDyn(g) || IsDyn(f[1]) ? kDynamicDim : g * f[1];
      if (!IsDyn(c) && !IsDyn(g) && !IsDyn(cg) && g * cg != c) {
        return ctx.Error("data has " + std::to_string(c) + " channels but filters " + f.ToString() +
                         " expect groups*C/G = " + std::to_string(g * cg));
      }
    } else {
      out[1] = f[0];
      if (!IsDyn(c) && !IsDyn(f[1]) && f[1] != c) {
        return ctx.Error("data " + x.ToString() + " has " + std::to_string(c) +
                         " channels but filters " + f.ToString() + " expect " +
                         std::to_string(f[1]));
      }
    }
  }
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = x.rank_known() ? x[i + 2] : kDynamicDim;
    const int64_t k = f.rank_known() ? f[i + 2 + kfilter_extra] : kDynamicDim;
    if (IsDyn(k)) continue;
    const WindowAxis a = ResolveWindowAxis(w.auto_pad, in, k, w.strides[i], w.dilations[i],
                                           w.pads_begin[i], w.pads_end[i]);
    if (!IsDyn(in) && a.out < 1) {
      return ctx.Error("kernel " + f.ToString() + " with dilations does not fit data " +
                       x.ToString() + " (spatial axis " + std::to_string(i) + ")");
    }
    out[i + 2] = a.out;
  }
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

Status InferConvBackprop(InferContext& ctx, bool group) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2, 3));
  ElementType t;
  PTQ_RETURN_IF_ERROR(CheckFloatTypes(ctx, &t));
  const PartialShape& x = ctx.in_shape(0);
  const PartialShape& f = ctx.in_shape(1);
  const size_t extra = group ? 1 : 0;
  size_t spatial;
  if (x.rank_known()) {
    if (x.rank() < 3) return ctx.Error("data " + x.ToString() + " must have rank >= 3");
    spatial = x.rank() - 2;
  } else if (f.rank_known()) {
    spatial = f.rank() - 2 - extra;
  } else {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  if (f.rank_known() && f.rank() != spatial + 2 + extra) {
    return ctx.Error("filters " + f.ToString() + " do not match data " + x.ToString());
  }
  PTQ_ASSIGN_OR_RETURN(WindowAttrs w, ReadWindowAttrs(ctx, spatial, true));
  Shape out(spatial + 2, kDynamicDim);
  if (x.rank_known()) out[0] = x[0];
  const int64_t c = x.rank_known() ? x[1] : kDynamicDim;
  if (f.rank_known()) {
    // Filters: [C_in, C_out, k...] or [G, C_in/G, C_out/G, k...].
    const int64_t cin = group ? (IsDyn(f[0]) || IsDyn(f[1]) ? kDynamicDim : f[0] * f[1]) : f[0];
    if (!IsDyn(c) && !IsDyn(cin) && c != cin) {
      return ctx.Error("data " + x.ToString() + " has " + std::to_string(c) +
                       " channels but filters " + f.ToString() + " expect " + std::to_string(cin));
    }
    out[1] = group ? (IsDyn(f[0]) || IsDyn(f[2]) ? kDynamicDim : f[0] * f[2]) : f[1];
  }
  std::vector<int64_t> given;
  if (ctx.num_inputs() == 3) {
    if (ctx.in_ints(2, &given)) {
      if (given.size() != spatial) {
        return ctx.Error("output_shape input has " + std::to_string(given.size()) +
                         " values, expected " + std::to_string(spatial));
      }
      for (size_t i = 0; i < spatial; ++i) out[i + 2] = given[i];
    }
    ctx.SetOutput(0, t, PartialShape(out));
    return Status::Ok();
  }
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = x.rank_known() ? x[i + 2] : kDynamicDim;
    const int64_t k = f.rank_known() ? f[i + 2 + extra] : kDynamicDim;
    if (IsDyn(in) || IsDyn(k)) continue;
    int64_t pb = w.pads_begin[i], pe = w.pads_end[i];
    if (w.auto_pad == AutoPad::kValid) pb = pe = 0;
    if (w.auto_pad == AutoPad::kSameUpper || w.auto_pad == AutoPad::kSameLower) {
      out[i + 2] = in * w.strides[i] + w.output_padding[i];
      continue;
    }
    out[i + 2] =
        w.strides[i] * (in - 1) + w.dilations[i] * (k - 1) + 1 - pb - pe + w.output_padding[i];
    if (out[i + 2] < 1) {
      return ctx.Error("output spatial size " + std::to_string(out[i + 2]) + " on axis " +
                       std::to_string(i) + " is not positive");
    }
  }
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

}  // namespace

Status InferConvolution(InferContext& ctx) { return InferConv(ctx, false); }
Status InferGroupConvolution(InferContext& ctx) { return InferConv(ctx, true); }
Status InferConvolutionBackpropData(InferContext& ctx) { return InferConvBackprop(ctx, false); }
Status InferGroupConvolutionBackpropData(InferContext& ctx) { return InferConvBackprop(ctx, true); }

Status InferMatMul(InferContext& ctx) {
  PTQ_RETURN_IF_ERROR(ctx.ExpectInputs(2));
  PTQ_ASSIGN_OR_RETURN(ElementType t, MergeTypes(ctx, ctx.in_type(0), ctx.in_type(1)));
  PTQ_ASSIGN_OR_RETURN(bool ta, ctx.Bool("transpose_a", false));
  PTQ_ASSIGN_OR_RETURN(bool tb, ctx.Bool("transpose_b", false));
  PartialShape a = ctx.in_shape(0), b = ctx.in_shape(1);
  if (!a.rank_known() || !b.rank_known()) {
    ctx.SetOutput(0, t, PartialShape::DynamicRank());
    return Status::Ok();
  }
  if (a.rank() == 0 || b.rank() == 0) return ctx.Error("inputs must not be scalars");
  const bool a1 = a.rank() == 1, b1 = b.rank() == 1;
  Shape ad = a.dims(), bd = b.dims();
  if (a1) {
    ad.insert(ad.begin(), 1);  // [K] -> [1, K]; transpose ignored
  } else if (ta) {
    std::swap(ad[ad.size() - 1], ad[ad.size() - 2]);
  }
  if (b1) {
    bd.push_back(1);  // [K] -> [K, 1]
  } else if (tb) {
    std::swap(bd[bd.size() - 1], bd[bd.size() - 2]);
  }
  const int64_t ka = ad.back(), kb = bd[bd.size() - 2];
  if (!IsDyn(ka) && !IsDyn(kb) && ka != kb) {
    return ctx.Error("inner dimensions differ: " + a.ToString() + (ta ? " (transposed)" : "") +
                     " x " + b.ToString() + (tb ? " (transposed)" : ""));
  }
  Shape abatch(ad.begin(), ad.end() - 2), bbatch(bd.begin(), bd.end() - 2);
  auto batch = BroadcastShapes(PartialShape(abatch), PartialShape(bbatch));
  if (!batch.ok()) return ctx.Error("batch dimensions: " + batch.status().message());
  Shape out = batch->dims();
  if (!a1) out.push_back(ad[ad.size() - 2]);
  if (!b1) out.push_back(bd.back());
  ctx.SetOutput(0, t, PartialShape(out));
  return Status::Ok();
}

}  // namespace ptqflow::graph::ops

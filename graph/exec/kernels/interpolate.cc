// Interpolate (opset4 and opset11): nearest and linear ("linear_onnx", and "linear" without
// antialiasing, which is the same bilinear/multilinear rule) over any set of axes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "graph/exec/kernels/kernels.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;
using graph::Shape;

struct AxisTable {
  // Per output coordinate: source indices and the weight of i1 (linear) — nearest uses i0.
  std::vector<int64_t> i0, i1;
  std::vector<float> w1;
  bool identity = true;
};

class InterpolateKernel : public Kernel {
 public:
  InterpolateKernel(Shape in, Shape out, std::vector<AxisTable> t, bool linear)
      : in_(std::move(in)), out_(std::move(out)), t_(std::move(t)), linear_(linear) {}
  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[0].as<float>();
    float* y = ctx.out[0].as<float>();
    const size_t r = out_.size();
    const std::vector<int64_t> is = ContiguousStrides(in_);
    std::vector<int> active;
    for (size_t a = 0; a < r; ++a) {
      if (!t_[a].identity && linear_) active.push_back(static_cast<int>(a));
    }
    const int64_t inner = r ? out_[r - 1] : 1;
    const int64_t rows = graph::ElementCount(out_) / std::max<int64_t>(inner, 1);
    if (inner == 0) return Status::Ok();
    if (r >= 1 && (!linear_ || active.empty())) {
      // Nearest: one gather along the last axis per output row; an output row whose source row
      // equals the previous one's (upsampling) is a copy of it.
      const int64_t* last = t_[r - 1].i0.data();
      ParallelFor(rows, inner * 2, [&](int64_t r0, int64_t r1) {
        int64_t prev_base = -1;
        for (int64_t row = r0; row < r1; ++row) {
          int64_t rem = row, base = 0;
          for (int k = static_cast<int>(r) - 2; k >= 0; --k) {
            base += t_[k].i0[rem % out_[k]] * is[k];
            rem /= out_[k];
          }
          float* yr = y + row * inner;
          if (base == prev_base) {
            std::memcpy(yr, yr - inner, static_cast<size_t>(inner) * sizeof(float));
          } else {
            const float* xr = x + base;
            for (int64_t i = 0; i < inner; ++i) yr[i] = xr[last[i]];
          }
          prev_base = base;
        }
      });
      return Status::Ok();
    }
    ParallelFor(rows, inner * 8, [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> idx(r, 0);
      for (int64_t row = r0; row < r1; ++row) {
        int64_t rem = row;
        for (int k = static_cast<int>(r) - 2; k >= 0; --k) {
          idx[k] = rem % out_[k];
          rem /= out_[k];
        }
        for (int64_t i = 0; i < inner; ++i) {
          if (r) idx[r - 1] = i;
          float acc = 0;
          if (!linear_ || active.empty()) {
            int64_t off = 0;
            for (size_t a = 0; a < r; ++a) off += t_[a].i0[idx[a]] * is[a];
            acc = x[off];
          } else {
            int64_t base = 0;
            for (size_t a = 0; a < r; ++a) base += t_[a].i0[idx[a]] * is[a];
            const int na = static_cast<int>(active.size());
            for (int mask = 0; mask < (1 << na); ++mask) {
              int64_t off = base;
              float w = 1;
              for (int j = 0; j < na; ++j) {
                const AxisTable& t = t_[active[j]];
                const int64_t o = idx[active[j]];
                if (mask & (1 << j)) {
                  off += (t.i1[o] - t.i0[o]) * is[active[j]];
                  w *= t.w1[o];
                } else {
                  w *= 1.f - t.w1[o];
                }
              }
              acc += w * x[off];
            }
          }
          y[row * inner + i] = acc;
        }
      }
    });
    return Status::Ok();
  }

 private:
  Shape in_, out_;
  std::vector<AxisTable> t_;
  bool linear_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeInterpolate(const KernelInit& init,
                                                std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 4));
  const ValueInfo& x = init.inputs[0];
  if (x.type != ElementType::kF32) return init.Error("only f32 data is supported");
  const auto& a = init.node.attrs;
  const size_t rank = x.shape.size();
  PTQ_ASSIGN_OR_RETURN(std::string mode, a.GetString("mode"));
  PTQ_ASSIGN_OR_RETURN(std::string calc, a.GetString("shape_calculation_mode", "sizes"));
  PTQ_ASSIGN_OR_RETURN(std::string ctm,
                       a.GetString("coordinate_transformation_mode", "half_pixel"));
  PTQ_ASSIGN_OR_RETURN(std::string nearest_mode, a.GetString("nearest_mode", "round_prefer_floor"));
  PTQ_ASSIGN_OR_RETURN(bool antialias, a.GetBool("antialias", false));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pb, a.GetInts("pads_begin", {}));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pe, a.GetInts("pads_end", {}));
  for (int64_t p : pb) {
    if (p != 0) return init.Error("non-zero pads are not supported");
  }
  for (int64_t p : pe) {
    if (p != 0) return init.Error("non-zero pads are not supported");
  }
  if (antialias) return init.Error("antialias is not supported");
  const bool linear = mode == "linear" || mode == "linear_onnx" || mode == "bilinear_pillow";
  if (!linear && mode != "nearest") return init.Error("mode '" + mode + "' is not supported");
  const bool v11 = init.node.version == "opset11" || init.inputs.size() == 2;
  std::vector<int64_t> sizes;
  std::vector<double> scales;
  std::vector<int64_t> axes;
  size_t axes_input = v11 ? 2 : 3;
  if (init.inputs.size() > axes_input) {
    PTQ_ASSIGN_OR_RETURN(axes, init.ConstInts(axes_input));
  } else {
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  const bool by_scales = calc == "scales";
  if (by_scales) {
    size_t si = v11 ? 1 : 2;
    if (si >= init.inputs.size() || !init.inputs[si].constant) {
      return init.Error("scales must be a compile-time constant");
    }
    scales = init.inputs[si].constant->ToDoubles();
  } else {
    PTQ_ASSIGN_OR_RETURN(sizes, init.ConstInts(1));
  }
  const size_t n = by_scales ? scales.size() : sizes.size();
  if (n != axes.size()) return init.Error("sizes/scales and axes have different lengths");
  Shape out = x.shape;
  std::vector<double> scale(rank, 1.0);
  for (size_t i = 0; i < n; ++i) {
    PTQ_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(init, axes[i], static_cast<int64_t>(rank)));
    if (by_scales) {
      scale[ax] = scales[i];
      out[ax] =
          static_cast<int64_t>(std::floor(static_cast<double>(x.shape[ax]) * scales[i] + 1e-5));
    } else {
      out[ax] = sizes[i];
      scale[ax] = static_cast<double>(sizes[i]) / static_cast<double>(x.shape[ax]);
    }
    if (out[ax] < 0) return init.Error("negative output size");
  }
  std::vector<AxisTable> tables(rank);
  for (size_t ax = 0; ax < rank; ++ax) {
    AxisTable& t = tables[ax];
    const int64_t in = x.shape[ax], o_n = out[ax];
    const double s = scale[ax];
    t.identity = in == o_n && std::abs(s - 1.0) < 1e-12 && ctm != "align_corners";
    for (int64_t o = 0; o < o_n; ++o) {
      double c;
      if (ctm == "half_pixel") {
        c = (o + 0.5) / s - 0.5;
      } else if (ctm == "pytorch_half_pixel") {
        c = o_n > 1 ? (o + 0.5) / s - 0.5 : 0.0;
      } else if (ctm == "asymmetric") {
        c = o / s;
      } else if (ctm == "tf_half_pixel_for_nn") {
        c = (o + 0.5) / s;
      } else if (ctm == "align_corners") {
        c = o_n == 1 ? 0.0 : static_cast<double>(o) * (in - 1) / (o_n - 1);
      } else {
        return init.Error("coordinate_transformation_mode '" + ctm + "' is not supported");
      }
      if (!linear) {
        int64_t i;
        if (nearest_mode == "round_prefer_floor") {
          i = (c == std::floor(c) + 0.5) ? static_cast<int64_t>(std::floor(c))
                                         : static_cast<int64_t>(std::round(c));
        } else if (nearest_mode == "round_prefer_ceil") {
          i = static_cast<int64_t>(std::round(c));
        } else if (nearest_mode == "floor") {
          i = static_cast<int64_t>(std::floor(c));
        } else if (nearest_mode == "ceil") {
          i = static_cast<int64_t>(std::ceil(c));
        } else if (nearest_mode == "simple") {
          i = s < 1.0 ? static_cast<int64_t>(std::ceil(c)) : static_cast<int64_t>(c);
        } else {
          return init.Error("nearest_mode '" + nearest_mode + "' is not supported");
        }
        i = std::clamp<int64_t>(i, 0, in - 1);
        t.i0.push_back(i);
        t.i1.push_back(i);
        t.w1.push_back(0);
        if (i != o) t.identity = false;
      } else {
        c = std::clamp(c, 0.0, static_cast<double>(in - 1));
        int64_t i0 = static_cast<int64_t>(std::floor(c));
        int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
        t.i0.push_back(i0);
        t.i1.push_back(i1);
        t.w1.push_back(static_cast<float>(c - static_cast<double>(i0)));
      }
    }
  }
  outs->push_back({x.type, out, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<InterpolateKernel>(x.shape, out, tables, linear));
}

}  // namespace ptqflow::exec::kernels

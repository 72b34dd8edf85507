// Reductions and normalizations: Reduce*, Softmax/LogSoftmax, MVN, NormalizeL2,
// BatchNormInference. Accumulation is in double for sums.
#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/exec/kernels/kernels.h"
#include "graph/exec/kernels/type_dispatch.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;
using graph::Shape;

// Splits a shape by a set of reduced axes into a permuted iteration: for each output element
// (kept axes, in order) the reduced elements are visited via `red_dims/red_strides`.
struct ReducePlan {
  std::vector<int64_t> keep_dims, keep_strides;  // input strides of kept axes
  std::vector<int64_t> red_dims, red_strides;
  int64_t out_count = 1, red_count = 1;
  bool red_contiguous = false;  // reduced axes are a trailing block: segment = contiguous

  static ReducePlan Make(const Shape& in, const std::vector<char>& reduced) {
    ReducePlan p;
    std::vector<int64_t> st = ContiguousStrides(in);
    for (size_t i = 0; i < in.size(); ++i) {
      if (reduced[i]) {
        p.red_dims.push_back(in[i]);
        p.red_strides.push_back(st[i]);
        p.red_count *= in[i];
      } else {
        p.keep_dims.push_back(in[i]);
        p.keep_strides.push_back(st[i]);
        p.out_count *= in[i];
      }
    }
    size_t first_red = in.size();
    for (size_t i = 0; i < in.size(); ++i) {
      if (reduced[i]) {
        first_red = i;
        break;
      }
    }
    p.red_contiguous = true;
    for (size_t i = first_red; i < in.size(); ++i) p.red_contiguous &= reduced[i] != 0;
    return p;
  }
  int64_t BaseOffset(int64_t out_index) const {
    int64_t off = 0;
    for (int k = static_cast<int>(keep_dims.size()) - 1; k >= 0; --k) {
      off += (out_index % keep_dims[k]) * keep_strides[k];
      out_index /= keep_dims[k];
    }
    return off;
  }
  // Calls f(offset) for every reduced element of one output (offsets relative to base).
  template <typename F>
  void ForEachReduced(F&& f) const {
    if (red_contiguous) {
      for (int64_t i = 0; i < red_count; ++i) f(i);
      return;
    }
    const size_t r = red_dims.size();
    std::vector<int64_t> idx(r, 0);
    for (int64_t n = 0; n < red_count; ++n) {
      int64_t off = 0;
      for (size_t k = 0; k < r; ++k) off += idx[k] * red_strides[k];
      f(off);
      for (int k = static_cast<int>(r) - 1; k >= 0; --k) {
        if (++idx[k] < red_dims[k]) break;
        idx[k] = 0;
      }
    }
  }
};

Result<std::vector<char>> AxesMask(const KernelInit& init, const std::vector<int64_t>& axes,
                                   size_t rank) {
  std::vector<char> m(rank, 0);
  for (int64_t a : axes) {
    PTQ_ASSIGN_OR_RETURN(int64_t n, NormalizeAxis(init, a, static_cast<int64_t>(rank)));
    m[n] = 1;
  }
  return m;
}

enum class Red { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kAnd, kOr };

template <typename T>
class ReduceKernel : public Kernel {
 public:
  ReduceKernel(ReducePlan p, Red op) : p_(std::move(p)), op_(op) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    if constexpr (std::is_same_v<T, float>) {
      if (p_.red_contiguous && (op_ == Red::kSum || op_ == Red::kMean || op_ == Red::kL2)) {
        // Contiguous segments (global pooling): 8 interleaved double partial sums, which the
        // compiler vectorizes.
        const int64_t n = p_.red_count;
        const bool sq = op_ == Red::kL2;
        ParallelFor(p_.out_count, n, [&](int64_t o0, int64_t o1) {
          for (int64_t o = o0; o < o1; ++o) {
            const float* seg = x + p_.BaseOffset(o);
            double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t i = 0;
            for (; i + 8 <= n; i += 8) {
              for (int l = 0; l < 8; ++l) {
                const double v = seg[i + l];
                part[l] += sq ? v * v : v;
              }
            }
            double acc = 0;
            for (; i < n; ++i) acc += sq ? double(seg[i]) * seg[i] : double(seg[i]);
            for (int l = 0; l < 8; ++l) acc += part[l];
            if (op_ == Red::kMean) acc /= static_cast<double>(std::max<int64_t>(n, 1));
            if (op_ == Red::kL2) acc = std::sqrt(acc);
            y[o] = static_cast<float>(acc);
          }
        });
        return Status::Ok();
      }
    }
    ParallelFor(p_.out_count, p_.red_count, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const T* base = x + p_.BaseOffset(o);
        double acc;
        switch (op_) {
          case Red::kMax:
            acc = -std::numeric_limits<double>::infinity();
            break;
          case Red::kMin:
            acc = std::numeric_limits<double>::infinity();
            break;
          case Red::kProd:
          case Red::kAnd:
            acc = 1;
            break;
          default:
            acc = 0;
        }
        const Red op = op_;
        p_.ForEachReduced([&](int64_t off) {
          const double v = static_cast<double>(base[off]);
          switch (op) {
            case Red::kSum:
            case Red::kMean:
              acc += v;
              break;
            case Red::kMax:
              acc = std::max(acc, v);
              break;
            case Red::kMin:
              acc = std::min(acc, v);
              break;
            case Red::kProd:
              acc *= v;
              break;
            case Red::kL1:
              acc += std::abs(v);
              break;
            case Red::kL2:
              acc += v * v;
              break;
            case Red::kAnd:
              acc = (acc != 0 && v != 0) ? 1 : 0;
              break;
            case Red::kOr:
              acc = (acc != 0 || v != 0) ? 1 : 0;
              break;
          }
        });
        if (op == Red::kMean) acc /= static_cast<double>(std::max<int64_t>(p_.red_count, 1));
        if (op == Red::kL2) acc = std::sqrt(acc);
        if constexpr (std::is_integral_v<T>) {
          if ((op == Red::kMax || op == Red::kMin) && p_.red_count == 0) acc = 0;
        }
        y[o] = static_cast<T>(acc);
      }
    });
    return Status::Ok();
  }

 private:
  ReducePlan p_;
  Red op_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeReduce(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const std::string& t = init.node.type;
  Red op = t == "ReduceSum"          ? Red::kSum
           : t == "ReduceMean"       ? Red::kMean
           : t == "ReduceMax"        ? Red::kMax
           : t == "ReduceMin"        ? Red::kMin
           : t == "ReduceProd"       ? Red::kProd
           : t == "ReduceL1"         ? Red::kL1
           : t == "ReduceL2"         ? Red::kL2
           : t == "ReduceLogicalAnd" ? Red::kAnd
                                     : Red::kOr;
  const ValueInfo& x = init.inputs[0];
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(bool keep, init.node.attrs.GetBool("keep_dims", false));
  PTQ_ASSIGN_OR_RETURN(std::vector<char> mask, AxesMask(init, axes, x.shape.size()));
  Shape out;
  for (size_t i = 0; i < x.shape.size(); ++i) {
    if (!mask[i]) {
      out.push_back(x.shape[i]);
    } else if (keep) {
      out.push_back(1);
    }
  }
  outs->push_back({x.type, out, nullptr});
  ReducePlan p = ReducePlan::Make(x.shape, mask);
  std::unique_ptr<Kernel> k;
  if (op == Red::kAnd || op == Red::kOr) {
    if (x.type != ElementType::kBoolean) return init.Error("logical reductions need boolean data");
    return std::unique_ptr<Kernel>(std::make_unique<ReduceKernel<uint8_t>>(p, op));
  }
  if (!DispatchArith(x.type,
                     [&](auto v) { k = std::make_unique<ReduceKernel<decltype(v)>>(p, op); })) {
    return init.Error("element type " + TypeName(x.type) + " is not supported");
  }
  return k;
}

namespace {

template <typename T>
class SoftmaxKernel : public Kernel {
 public:
  SoftmaxKernel(int64_t outer, int64_t dim, int64_t inner, bool log)
      : outer_(outer), dim_(dim), inner_(inner), log_(log) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    ParallelFor(outer_ * inner_, dim_ * 4, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t o = r / inner_, i = r % inner_;
        const T* px = x + o * dim_ * inner_ + i;
        T* py = y + o * dim_ * inner_ + i;
        T mx = -std::numeric_limits<T>::infinity();
        for (int64_t d = 0; d < dim_; ++d) mx = std::max(mx, px[d * inner_]);
        T sum = 0;
        for (int64_t d = 0; d < dim_; ++d) {
          T e = std::exp(px[d * inner_] - mx);
          py[d * inner_] = e;
          sum += e;
        }
        if (log_) {
          T ls = std::log(sum);
          for (int64_t d = 0; d < dim_; ++d) py[d * inner_] = px[d * inner_] - mx - ls;
        } else {
          T inv = T(1) / sum;
          for (int64_t d = 0; d < dim_; ++d) py[d * inner_] *= inv;
        }
      }
    });
    return Status::Ok();
  }

 private:
  int64_t outer_, dim_, inner_;
  bool log_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeSoftmax(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
  const ValueInfo& x = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(int64_t axis_attr, init.node.attrs.GetInt("axis", 1));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(init, axis_attr, rank));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x.shape[i];
  const int64_t dim = rank ? x.shape[axis] : 1;
  outs->push_back({x.type, x.shape, nullptr});
  const bool log = init.node.type == "LogSoftmax";
  std::unique_ptr<Kernel> k;
  if (!DispatchFloat(x.type, [&](auto v) {
        k = std::make_unique<SoftmaxKernel<decltype(v)>>(outer, dim, inner, log);
      })) {
    return init.Error("element type " + TypeName(x.type) + " is not supported");
  }
  return k;
}

namespace {

// MVN: y = (x - mean) / sqrt(var + eps)  (inside_sqrt) or / (sqrt(var) + eps) (outside_sqrt);
// NormalizeL2: y = x / sqrt(max(sum x^2, eps)) (eps_mode max) or sqrt(sum x^2 + eps) (add).
class NormKernel : public Kernel {
 public:
  enum Kind { kMvn, kL2 };
  NormKernel(ReducePlan p, Kind kind, bool variance, double eps, bool eps_inside)
      : p_(std::move(p)), kind_(kind), variance_(variance), eps_(eps), eps_inside_(eps_inside) {}
  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[0].as<float>();
    float* y = ctx.out[0].as<float>();
    ParallelFor(p_.out_count, p_.red_count * 3, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const int64_t base = p_.BaseOffset(o);
        const float* px = x + base;
        float* py = y + base;
        const double n = static_cast<double>(std::max<int64_t>(p_.red_count, 1));
        if (kind_ == kMvn) {
          double sum = 0;
          p_.ForEachReduced([&](int64_t off) { sum += px[off]; });
          const double mean = sum / n;
          double scale = 1;
          if (variance_) {
            double sq = 0;
            p_.ForEachReduced([&](int64_t off) {
              double d = px[off] - mean;
              sq += d * d;
            });
            const double var = sq / n;
            scale = eps_inside_ ? 1.0 / std::sqrt(var + eps_) : 1.0 / (std::sqrt(var) + eps_);
          }
          p_.ForEachReduced(
              [&](int64_t off) { py[off] = static_cast<float>((px[off] - mean) * scale); });
        } else {
          double sq = 0;
          p_.ForEachReduced([&](int64_t off) { sq += double(px[off]) * px[off]; });
          const double denom = eps_inside_ ? std::sqrt(sq + eps_) : std::sqrt(std::max(sq, eps_));
          p_.ForEachReduced([&](int64_t off) { py[off] = static_cast<float>(px[off] / denom); });
        }
      }
    });
    return Status::Ok();
  }

 private:
  ReducePlan p_;
  Kind kind_;
  bool variance_;
  double eps_;
  bool eps_inside_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeMvn(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 2));
  const ValueInfo& x = init.inputs[0];
  if (x.type != ElementType::kF32) return init.Error("only f32 data is supported");
  const auto& a = init.node.attrs;
  PTQ_ASSIGN_OR_RETURN(bool variance, a.GetBool("normalize_variance", true));
  PTQ_ASSIGN_OR_RETURN(double eps, a.GetFloat("eps", 1e-9));
  std::vector<int64_t> axes;
  bool inside = true;
  if (init.inputs.size() == 2) {  // MVN-6
    PTQ_ASSIGN_OR_RETURN(axes, init.ConstInts(1));
    PTQ_ASSIGN_OR_RETURN(std::string mode, a.GetString("eps_mode", "inside_sqrt"));
    inside = mode != "outside_sqrt";
  } else {  // MVN-1
    if (a.Has("reduction_axes")) {
      PTQ_ASSIGN_OR_RETURN(axes, a.GetInts("reduction_axes"));
    } else {
      PTQ_ASSIGN_OR_RETURN(bool across, a.GetBool("across_channels", false));
      for (size_t i = across ? 1 : 2; i < x.shape.size(); ++i) axes.push_back(int64_t(i));
    }
    inside = false;  // MVN-1 adds eps to the standard deviation
  }
  PTQ_ASSIGN_OR_RETURN(std::vector<char> mask, AxesMask(init, axes, x.shape.size()));
  outs->push_back({x.type, x.shape, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<NormKernel>(
      ReducePlan::Make(x.shape, mask), NormKernel::kMvn, variance, eps, inside));
}

Result<std::unique_ptr<Kernel>> MakeNormalizeL2(const KernelInit& init,
                                                std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const ValueInfo& x = init.inputs[0];
  if (x.type != ElementType::kF32) return init.Error("only f32 data is supported");
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(double eps, init.node.attrs.GetFloat("eps"));
  PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("eps_mode", "add"));
  PTQ_ASSIGN_OR_RETURN(std::vector<char> mask, AxesMask(init, axes, x.shape.size()));
  outs->push_back({x.type, x.shape, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<NormKernel>(
      ReducePlan::Make(x.shape, mask), NormKernel::kL2, false, eps, mode == "add"));
}

namespace {
class BatchNormKernel : public Kernel {
 public:
  BatchNormKernel(int64_t n, int64_t c, int64_t inner, int di, int gi, int bi, int mi, int vi,
                  double eps)
      : n_(n), c_(c), inner_(inner), di_(di), gi_(gi), bi_(bi), mi_(mi), vi_(vi), eps_(eps) {}
  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[di_].as<float>();
    const float* g = ctx.in[gi_].as<float>();
    const float* b = ctx.in[bi_].as<float>();
    const float* m = ctx.in[mi_].as<float>();
    const float* v = ctx.in[vi_].as<float>();
    float* y = ctx.out[0].as<float>();
    ParallelFor(n_ * c_, inner_, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t c = r % c_;
        const float scale = static_cast<float>(g[c] / std::sqrt(double(v[c]) + eps_));
        const float shift = b[c] - m[c] * scale;
        const float* px = x + r * inner_;
        float* py = y + r * inner_;
        for (int64_t i = 0; i < inner_; ++i) py[i] = px[i] * scale + shift;
      }
    });
    return Status::Ok();
  }

 private:
  int64_t n_, c_, inner_;
  int di_, gi_, bi_, mi_, vi_;
  double eps_;
};
}  // namespace

Result<std::unique_ptr<Kernel>> MakeBatchNorm(const KernelInit& init,
                                              std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(5, 5));
  // opset5: data, gamma, beta, mean, variance; opset1: gamma, beta, data, mean, variance.
  const bool v1 = init.node.version == "opset1" && init.inputs[0].shape.size() == 1 &&
                  init.inputs[2].shape.size() >= 2;
  const int di = v1 ? 2 : 0, gi = v1 ? 0 : 1, bi = v1 ? 1 : 2;
  const ValueInfo& x = init.inputs[di];
  for (const ValueInfo& v : init.inputs) {
    if (v.type != ElementType::kF32) return init.Error("only f32 inputs are supported");
  }
  if (x.shape.size() < 2) return init.Error("data must have rank >= 2");
  const int64_t c = x.shape[1];
  for (int k : {gi, bi, 3, 4}) {
    if (graph::ElementCount(init.inputs[k].shape) != c) {
      return init.Error("per-channel inputs must have " + std::to_string(c) + " values");
    }
  }
  PTQ_ASSIGN_OR_RETURN(double eps, init.node.attrs.GetFloat("epsilon"));
  int64_t inner = 1;
  for (size_t i = 2; i < x.shape.size(); ++i) inner *= x.shape[i];
  outs->push_back({x.type, x.shape, nullptr});
  return std::unique_ptr<Kernel>(
      std::make_unique<BatchNormKernel>(x.shape[0], c, inner, di, gi, bi, 3, 4, eps));
}

}  // namespace ptqflow::exec::kernels

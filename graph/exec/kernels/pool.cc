// MaxPool (opset1 and opset8 with indices and dilations) and AvgPool on plain NCHW data: oneDNN's
// pooling primitive when it has an optimized kernel for the case, else a generic loop.
#include <algorithm>
#include <cstring>
#include <limits>

#include "graph/exec/kernels/kernels.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;
using graph::Shape;

struct PoolGeom {
  size_t spatial;
  std::vector<int64_t> in, out, kernel, strides, dil, pb, pe;
};

class PoolKernel : public Kernel {
 public:
  PoolKernel(PoolGeom g, bool max, bool exclude_pad, int64_t channels, int64_t axis,
             ElementType index_type)
      : g_(std::move(g)),
        max_(max),
        exclude_pad_(exclude_pad),
        channels_(channels),
        axis_(axis),
        index_type_(index_type) {}

  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[0].as<float>();
    float* y = ctx.out[0].as<float>();
    const bool want_idx = ctx.out.size() > 1;
    const size_t S = g_.spatial;
    int64_t in_sz = 1, out_sz = 1;
    for (size_t i = 0; i < S; ++i) {
      in_sz *= g_.in[i];
      out_sz *= g_.out[i];
    }
    const int64_t planes = ctx.in[0].size() / std::max<int64_t>(in_sz, 1);
    ParallelFor(planes, out_sz * 9, [&](int64_t p0, int64_t p1) {
      int64_t o[3], lo[3], hi[3], k[3];
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = x + p * in_sz;
        float* yp = y + p * out_sz;
        for (int64_t oi = 0; oi < out_sz; ++oi) {
          int64_t rem = oi;
          for (int d = static_cast<int>(S) - 1; d >= 0; --d) {
            o[d] = rem % g_.out[d];
            rem /= g_.out[d];
          }
          int64_t count_in = 1, count_pad = 1;
          for (size_t d = 0; d < S; ++d) {
            lo[d] = o[d] * g_.strides[d] - g_.pb[d];
            hi[d] = lo[d] + (g_.kernel[d] - 1) * g_.dil[d];  // inclusive
            // Window positions inside the padded input (for include-pad averaging).
            int64_t plo = std::max<int64_t>(lo[d], -g_.pb[d]);
            int64_t phi = std::min<int64_t>(hi[d], g_.in[d] - 1 + g_.pe[d]);
            count_pad *= std::max<int64_t>(0, (phi - plo) / g_.dil[d] + 1);
            k[d] = 0;
          }
          (void)count_in;
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_idx = -1;
          double sum = 0;
          int64_t n = 0;
          // Iterate over the kernel window.
          while (true) {
            bool inside = true;
            int64_t off = 0;
            for (size_t d = 0; d < S; ++d) {
              int64_t c = lo[d] + k[d] * g_.dil[d];
              if (c < 0 || c >= g_.in[d]) {
                inside = false;
                break;
              }
              off = off * g_.in[d] + c;
            }
            if (inside) {
              float v = xp[off];
              if (max_) {
                if (v > best || best_idx < 0) {
                  best = v;
                  best_idx = off;
                }
              } else {
                sum += v;
                ++n;
              }
            }
            int d = static_cast<int>(S) - 1;
            while (d >= 0 && ++k[d] == g_.kernel[d]) k[d--] = 0;
            if (d < 0) break;
          }
          if (max_) {
            yp[oi] = best;
            if (want_idx) {
              int64_t plane_base = axis_ == 0 ? p * in_sz : (p % channels_) * in_sz;
              int64_t idx = best_idx < 0 ? 0 : best_idx + plane_base;
              if (index_type_ == ElementType::kI32) {
                ctx.out[1].as<int32_t>()[p * out_sz + oi] = static_cast<int32_t>(idx);
              } else {
                ctx.out[1].as<int64_t>()[p * out_sz + oi] = idx;
              }
            }
          } else {
            int64_t div = exclude_pad_ ? n : count_pad;
            yp[oi] = div > 0 ? static_cast<float>(sum / static_cast<double>(div)) : 0.f;
          }
        }
      }
    });
    return Status::Ok();
  }

 private:
  PoolGeom g_;
  bool max_, exclude_pad_;
  int64_t channels_, axis_;
  ElementType index_type_;
};

// The common cases (no indices output, no dilation) on oneDNN's pooling primitive, plain layout.
class DnnlPoolKernel : public Kernel {
 public:
  // zero_indices: the layer has an indices output nobody reads; it is filled with zeros.
  DnnlPoolKernel(dnnl::pooling_forward::primitive_desc pd, dnnl::memory::desc src,
                 dnnl::memory::desc dst, bool zero_indices)
      : prim_(pd), src_(src), dst_(dst), pad_(pd.scratchpad_desc()), zero_indices_(zero_indices) {}
  size_t scratch_bytes() const override { return pad_.get_size(); }
  struct State : KernelState {
    dnnl::memory src, dst, pad;
    std::unordered_map<int, dnnl::memory> args;
  };
  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    auto s = std::make_unique<State>();
    s->src = dnnl::memory(src_, engine, DNNL_MEMORY_NONE);
    s->dst = dnnl::memory(dst_, engine, DNNL_MEMORY_NONE);
    s->pad = dnnl::memory(pad_, engine, DNNL_MEMORY_NONE);
    s->args = {{DNNL_ARG_SRC, s->src}, {DNNL_ARG_DST, s->dst}, {DNNL_ARG_SCRATCHPAD, s->pad}};
    return s;
  }
  Status Run(const KernelContext& ctx) const override {
    State& s = *static_cast<State*>(ctx.state);
    s.src.set_data_handle(const_cast<void*>(ctx.in[0].data));
    s.dst.set_data_handle(ctx.out[0].data);
    s.pad.set_data_handle(ctx.scratch);
    prim_.execute(*ctx.stream, s.args);
    ctx.stream->wait();
    if (zero_indices_) {
      std::memset(ctx.out[1].data, 0, graph::ByteSize(ctx.out[1].type, ctx.out[1].size()));
    }
    return Status::Ok();
  }

 private:
  dnnl::pooling_forward prim_;
  dnnl::memory::desc src_, dst_, pad_;
  bool zero_indices_;
};

// nullptr when oneDNN has no optimized kernel for this pooling (the generic loop runs it).
std::unique_ptr<Kernel> TryDnnlPool(const KernelInit& init, const PoolGeom& g, const Shape& in,
                                    const Shape& out, bool is_max, bool exclude_pad,
                                    bool zero_indices) {
  for (size_t i = 0; i < g.spatial; ++i) {
    if (g.dil[i] != 1) return nullptr;
  }
  using dnnl::memory;
  memory::dims strides(g.strides.begin(), g.strides.end()),
      kernel(g.kernel.begin(), g.kernel.end());
  memory::dims pl(g.spatial), pr(g.spatial);
  for (size_t i = 0; i < g.spatial; ++i) {
    pl[i] = g.pb[i];
    pr[i] = g.pe[i];
    if ((g.in[i] + pl[i] + pr[i] - g.kernel[i]) / g.strides[i] + 1 != g.out[i]) {
      pr[i] = (g.out[i] - 1) * g.strides[i] + g.kernel[i] - g.in[i] - pl[i];
      // Extra end padding changes what include-pad averaging divides by.
      if (pr[i] < 0 || (!is_max && !exclude_pad)) return nullptr;
    }
    if (pl[i] >= g.kernel[i] || pr[i] >= g.kernel[i]) return nullptr;
  }
  auto plain = [](const Shape& s) {
    const std::vector<int64_t> st = ContiguousStrides(s);
    return memory::desc(memory::dims(s.begin(), s.end()), memory::data_type::f32,
                        memory::dims(st.begin(), st.end()));
  };
  try {
    memory::desc src = plain(in), dst = plain(out);
    const dnnl::algorithm alg = is_max        ? dnnl::algorithm::pooling_max
                                : exclude_pad ? dnnl::algorithm::pooling_avg_exclude_padding
                                              : dnnl::algorithm::pooling_avg_include_padding;
    dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, src, dst, strides,
                                  kernel, pl, pr);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_forward::primitive_desc pd(d, attr, init.engine);
    if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
    return std::make_unique<DnnlPoolKernel>(pd, src, dst, zero_indices);
  } catch (const dnnl::error& e) {
    return nullptr;
  }
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakePool(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
  const bool is_max = init.node.type == "MaxPool";
  const ValueInfo& x = init.inputs[0];
  if (x.type != ElementType::kF32) return init.Error("only f32 data is supported");
  if (x.shape.size() < 3 || x.shape.size() > 5) return init.Error("data must have rank 3..5");
  PoolGeom g;
  g.spatial = x.shape.size() - 2;
  const auto& a = init.node.attrs;
  PTQ_ASSIGN_OR_RETURN(g.kernel, a.GetInts("kernel"));
  PTQ_ASSIGN_OR_RETURN(g.strides, a.GetInts("strides", std::vector<int64_t>(g.spatial, 1)));
  PTQ_ASSIGN_OR_RETURN(g.dil, a.GetInts("dilations", std::vector<int64_t>(g.spatial, 1)));
  PTQ_ASSIGN_OR_RETURN(g.pb, a.GetInts("pads_begin", std::vector<int64_t>(g.spatial, 0)));
  PTQ_ASSIGN_OR_RETURN(g.pe, a.GetInts("pads_end", std::vector<int64_t>(g.spatial, 0)));
  PTQ_ASSIGN_OR_RETURN(std::string rounding, a.GetString("rounding_type", "floor"));
  PTQ_ASSIGN_OR_RETURN(std::string auto_pad, a.GetString("auto_pad", "explicit"));
  PTQ_ASSIGN_OR_RETURN(bool exclude_pad, a.GetBool("exclude-pad", false));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, a.GetInt("axis", 0));
  PTQ_ASSIGN_OR_RETURN(std::string idx_type, a.GetString("index_element_type", "i64"));
  for (auto* v : {&g.kernel, &g.strides, &g.dil, &g.pb, &g.pe}) {
    if (v->size() != g.spatial)
      return init.Error("kernel/strides/pads need one value per spatial dim");
  }
  for (size_t i = 0; i < g.spatial; ++i) {
    if (g.kernel[i] < 1 || g.strides[i] < 1 || g.dil[i] < 1) {
      return init.Error("kernel, strides and dilations must be >= 1");
    }
  }
  rounding = rounding == "CEIL" ? "ceil" : rounding;
  Shape out = {x.shape[0], x.shape[1]};
  for (size_t i = 0; i < g.spatial; ++i) {
    const int64_t in = x.shape[2 + i];
    const int64_t ek = (g.kernel[i] - 1) * g.dil[i] + 1;
    g.in.push_back(in);
    int64_t o;
    if (auto_pad == "same_upper" || auto_pad == "same_lower") {
      o = (in + g.strides[i] - 1) / g.strides[i];
      int64_t total = std::max<int64_t>(0, (o - 1) * g.strides[i] + ek - in);
      g.pb[i] = auto_pad == "same_upper" ? total / 2 : total - total / 2;
      g.pe[i] = total - g.pb[i];
    } else {
      if (auto_pad == "valid") g.pb[i] = g.pe[i] = 0;
      const int64_t span = in + g.pb[i] + g.pe[i] - ek;
      if (span < 0) return init.Error("kernel larger than the padded input");
      if (rounding == "ceil" || rounding == "ceil_torch") {
        o = (span + g.strides[i] - 1) / g.strides[i] + 1;
        // The last window must start inside the input or its begin padding.
        if ((o - 1) * g.strides[i] >= in + g.pb[i]) --o;
      } else {
        o = span / g.strides[i] + 1;
      }
    }
    g.out.push_back(o);
    out.push_back(o);
  }
  ElementType it = idx_type == "i32" ? ElementType::kI32 : ElementType::kI64;
  outs->push_back({ElementType::kF32, out, nullptr});
  const bool with_indices = is_max && init.node.outputs.size() > 1;
  if (with_indices) outs->push_back({it, out, nullptr});
  const bool indices_unused =
      with_indices && init.unused_outputs.size() > 1 && init.unused_outputs[1];
  if (!with_indices || indices_unused) {
    if (std::unique_ptr<Kernel> k =
            TryDnnlPool(init, g, x.shape, out, is_max, exclude_pad, indices_unused)) {
      return k;
    }
  }
  return std::unique_ptr<Kernel>(
      std::make_unique<PoolKernel>(g, is_max, exclude_pad, x.shape[1], axis, it));
}

}  // namespace ptqflow::exec::kernels

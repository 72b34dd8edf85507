// Convolution, GroupConvolution, (Group)ConvolutionBackpropData and MatMul on oneDNN.
// Primitives are created at compile time for the fixed shapes; constant weights are reordered
// once into the layout the primitive prefers. Activations stay in plain (NCHW) layout between
// layers; when oneDNN only has a slow (gemm/reference) kernel for plain activations and a fast
// one for its blocked layout, the layer reorders its input and output inside the session's
// scratch memory.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "graph/exec/kernels/kernels.h"

namespace ptqflow::exec::kernels {
namespace {

using dnnl::memory;
using graph::ElementType;
using graph::Shape;

constexpr size_t kAlign = 64;
size_t AlignUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

memory::dims Dims(const Shape& s) { return memory::dims(s.begin(), s.end()); }
memory::desc Plain(const Shape& s) {
  return memory::desc(Dims(s), memory::data_type::f32, Dims(ContiguousStrides(s)));
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

// One oneDNN compute primitive with optional in-layer reorders of src and dst.
class DnnlKernel : public Kernel {
 public:
  struct Parts {
    dnnl::primitive prim;
    memory::desc src_user, src_prim, wei_user, wei_prim, dst_user, dst_prim, scratchpad;
    const graph::Tensor* const_weights = nullptr;
    // Fused post-ops' constant operands: bias (empty if none) and binary post-op operands as
    // (execution argument, descriptor, values).
    memory::desc bias_md;
    std::vector<float> bias;
    struct Operand {
      int arg;
      memory::desc md;
      std::vector<float> values;
    };
    std::vector<Operand> operands;
  };

  static Result<std::unique_ptr<Kernel>> Create(Parts p, const dnnl::engine& engine) {
    auto k = std::unique_ptr<DnnlKernel>(new DnnlKernel());
    k->p_ = std::move(p);
    const Parts& q = k->p_;
    k->reorder_src_ = q.src_user != q.src_prim;
    k->reorder_dst_ = q.dst_user != q.dst_prim;
    if (k->reorder_src_)
      k->src_reorder_ =
          dnnl::reorder(dnnl::reorder::primitive_desc(engine, q.src_user, engine, q.src_prim));
    if (k->reorder_dst_)
      k->dst_reorder_ =
          dnnl::reorder(dnnl::reorder::primitive_desc(engine, q.dst_prim, engine, q.dst_user));
    size_t off = 0;
    if (k->reorder_src_) {
      k->src_off_ = off;
      off += AlignUp(q.src_prim.get_size());
    }
    if (k->reorder_dst_) {
      k->dst_off_ = off;
      off += AlignUp(q.dst_prim.get_size());
    }
    k->pad_off_ = off;
    off += AlignUp(q.scratchpad.get_size());
    k->scratch_ = off;
    if (q.const_weights) {
      // Pack the constant weights once into the primitive's preferred layout.
      size_t bytes = q.wei_prim.get_size();
      k->packed_.reset(std::aligned_alloc(kAlign, AlignUp(std::max<size_t>(bytes, 1))));
      memory user(q.wei_user, engine, const_cast<uint8_t*>(q.const_weights->bytes()));
      memory packed(q.wei_prim, engine, k->packed_.get());
      dnnl::stream s(engine);
      dnnl::reorder(user, packed).execute(s, user, packed);
      s.wait();
    } else if (q.wei_user != q.wei_prim) {
      return Status::Error("internal: non-constant weights need the plain layout");
    }
    return std::unique_ptr<Kernel>(std::move(k));
  }

  size_t scratch_bytes() const override { return scratch_; }
  const memory::desc* blocked_input() const override {
    return p_.src_user != p_.src_prim ? &p_.src_prim : nullptr;
  }
  const memory::desc* blocked_output() const override {
    return p_.dst_user != p_.dst_prim ? &p_.dst_prim : nullptr;
  }
  void UseBlocked(bool input, bool output) override {
    if (input && blocked_input()) {
      reorder_src_ = false;
      blocked_src_ = true;
    }
    if (output && blocked_output()) {
      reorder_dst_ = false;
      blocked_dst_ = true;
    }
  }

  struct State : KernelState {
    memory src_user, src_prim, wei, dst_user, dst_prim, pad;
    std::unordered_map<int, memory> args;
  };

  std::unique_ptr<KernelState> CreateState(const dnnl::engine& engine) const override {
    auto s = std::make_unique<State>();
    s->src_user = memory(blocked_src_ ? p_.src_prim : p_.src_user, engine, DNNL_MEMORY_NONE);
    s->src_prim = reorder_src_ ? memory(p_.src_prim, engine, DNNL_MEMORY_NONE) : s->src_user;
    s->dst_user = memory(blocked_dst_ ? p_.dst_prim : p_.dst_user, engine, DNNL_MEMORY_NONE);
    s->dst_prim = reorder_dst_ ? memory(p_.dst_prim, engine, DNNL_MEMORY_NONE) : s->dst_user;
    s->wei = memory(p_.wei_prim, engine, packed_ ? packed_.get() : DNNL_MEMORY_NONE);
    s->pad = memory(p_.scratchpad, engine, DNNL_MEMORY_NONE);
    s->args = {{DNNL_ARG_SRC, s->src_prim},
               {DNNL_ARG_WEIGHTS, s->wei},
               {DNNL_ARG_DST, s->dst_prim},
               {DNNL_ARG_SCRATCHPAD, s->pad}};
    // Constant operands: the kernel owns the bytes, oneDNN only reads them.
    if (!p_.bias.empty()) {
      s->args[DNNL_ARG_BIAS] = memory(p_.bias_md, engine, const_cast<float*>(p_.bias.data()));
    }
    for (const Parts::Operand& o : p_.operands) {
      s->args[o.arg] = memory(o.md, engine, const_cast<float*>(o.values.data()));
    }
    return s;
  }

  Status Run(const KernelContext& ctx) const override {
    State& s = *static_cast<State*>(ctx.state);
    uint8_t* scratch = static_cast<uint8_t*>(ctx.scratch);
    s.src_user.set_data_handle(const_cast<void*>(ctx.in[0].data));
    s.dst_user.set_data_handle(ctx.out[0].data);
    if (!packed_) s.wei.set_data_handle(const_cast<void*>(ctx.in[1].data));
    s.pad.set_data_handle(scratch + pad_off_);
    if (reorder_src_) {
      s.src_prim.set_data_handle(scratch + src_off_);
      src_reorder_.execute(*ctx.stream, s.src_user, s.src_prim);
    }
    if (reorder_dst_) s.dst_prim.set_data_handle(scratch + dst_off_);
    p_.prim.execute(*ctx.stream, s.args);
    if (reorder_dst_) dst_reorder_.execute(*ctx.stream, s.dst_prim, s.dst_user);
    ctx.stream->wait();
    return Status::Ok();
  }

 private:
  DnnlKernel() = default;
  Parts p_;
  bool reorder_src_ = false, reorder_dst_ = false;
  bool blocked_src_ = false, blocked_dst_ = false;  // UseBlocked: neighbours share the layout
  dnnl::reorder src_reorder_, dst_reorder_;
  size_t src_off_ = 0, dst_off_ = 0, pad_off_ = 0, scratch_ = 0;
  std::unique_ptr<void, AlignedFree> packed_;
};

bool SlowImpl(const char* impl) {
  std::string s(impl);
  return s.find("gemm") != std::string::npos || s.find("ref") != std::string::npos;
}

// The fused post-ops (KernelInit::post_ops) as oneDNN attributes. A leading per-channel Add
// becomes the primitive's bias when `allow_bias`. Channels are along `axis` of `dst`.
struct Fused {
  bool has_bias = false;
  memory::desc bias_md;
  std::vector<float> bias;
  dnnl::post_ops po;
  std::vector<DnnlKernel::Parts::Operand> operands;
};

// With `weight_scale` (convolutions with constant weights): the leading per-channel affine
// post-ops (Multiply, Add, linear: BatchNorm, scale-shift) fold into a per-output-channel weight
// scale and the bias, as OpenVINO folds them, so the primitive needs no binary post-ops.
Fused BuildFused(const KernelInit& init, const Shape& dst, int axis, bool allow_bias,
                 std::vector<float>* weight_scale = nullptr) {
  Fused f;
  if (!init.post_ops) return f;
  const std::vector<PostOp>& ops = *init.post_ops;
  size_t first = 0;
  if (weight_scale && allow_bias) {
    const size_t c = static_cast<size_t>(dst[axis]);
    std::vector<double> scale(c, 1.0), shift(c, 0.0);
    bool scaled = false, shifted = false;
    for (; first < ops.size(); ++first) {
      const PostOp& op = ops[first];
      if (op.kind == PostOp::Kind::kMul) {
        for (size_t k = 0; k < c; ++k) {
          scale[k] *= op.values[k];
          shift[k] *= op.values[k];
        }
        scaled = true;
      } else if (op.kind == PostOp::Kind::kAdd) {
        for (size_t k = 0; k < c; ++k) shift[k] += op.values[k];
        shifted = true;
      } else if (op.alg == dnnl::algorithm::eltwise_linear) {
        for (size_t k = 0; k < c; ++k) {
          scale[k] *= op.alpha;
          shift[k] = shift[k] * op.alpha + op.beta;
        }
        scaled = scaled || op.alpha != 1.f;
        shifted = true;
      } else {
        break;
      }
    }
    if (scaled) weight_scale->assign(scale.begin(), scale.end());
    if (shifted) {
      f.has_bias = true;
      f.bias.assign(shift.begin(), shift.end());
      f.bias_md =
          memory::desc({static_cast<int64_t>(c)}, memory::data_type::f32, memory::format_tag::a);
    }
  } else if (allow_bias && !ops.empty() && ops[0].kind == PostOp::Kind::kAdd) {
    f.has_bias = true;
    f.bias = ops[0].values;
    if (axis == 1) {
      f.bias_md = memory::desc({static_cast<int64_t>(f.bias.size())}, memory::data_type::f32,
                               memory::format_tag::a);
    } else {
      Shape b(dst.size(), 1);
      b[axis] = dst[axis];
      f.bias_md = Plain(b);
    }
    first = 1;
  }
  for (size_t i = first; i < ops.size(); ++i) {
    const PostOp& op = ops[i];
    if (op.kind == PostOp::Kind::kEltwise) {
      f.po.append_eltwise(1.f, op.alg, op.alpha, op.beta);
      continue;
    }
    Shape b(dst.size(), 1);
    b[axis] = dst[axis];
    memory::desc md = Plain(b);
    f.po.append_binary(
        op.kind == PostOp::Kind::kAdd ? dnnl::algorithm::binary_add : dnnl::algorithm::binary_mul,
        md);
    const int index = f.po.len() - 1;
    f.operands.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, md, op.values});
  }
  return f;
}

void MoveFused(Fused& f, DnnlKernel::Parts* parts) {
  if (f.has_bias) {
    parts->bias_md = f.bias_md;
    parts->bias = std::move(f.bias);
  }
  parts->operands = std::move(f.operands);
}

// Fusing layers must not push a primitive onto oneDNN's (very slow) reference code.
bool IsReference(const char* impl) { return std::string(impl).find("ref") != std::string::npos; }

struct ConvGeometry {
  std::vector<int64_t> strides, dilations, pads_begin, pads_end, output_padding;
  std::string auto_pad;
};

Result<ConvGeometry> ReadGeometry(const KernelInit& init, size_t spatial, bool backprop) {
  ConvGeometry g;
  const auto& a = init.node.attrs;
  PTQ_ASSIGN_OR_RETURN(g.strides, a.GetInts("strides"));
  PTQ_ASSIGN_OR_RETURN(g.dilations, a.GetInts("dilations", std::vector<int64_t>(spatial, 1)));
  PTQ_ASSIGN_OR_RETURN(g.pads_begin, a.GetInts("pads_begin", std::vector<int64_t>(spatial, 0)));
  PTQ_ASSIGN_OR_RETURN(g.pads_end, a.GetInts("pads_end", std::vector<int64_t>(spatial, 0)));
  PTQ_ASSIGN_OR_RETURN(g.auto_pad, a.GetString("auto_pad", "explicit"));
  if (backprop) {
    PTQ_ASSIGN_OR_RETURN(g.output_padding,
                         a.GetInts("output_padding", std::vector<int64_t>(spatial, 0)));
  } else {
    g.output_padding.assign(spatial, 0);
  }
  if (g.auto_pad == "notset") g.auto_pad = "explicit";
  for (auto* v : {&g.strides, &g.dilations, &g.pads_begin, &g.pads_end, &g.output_padding}) {
    if (v->size() != spatial) {
      return init.Error("strides/dilations/pads/output_padding must have " +
                        std::to_string(spatial) + " values (one per spatial dimension)");
    }
  }
  for (size_t i = 0; i < spatial; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1) {
      return init.Error("strides and dilations must be >= 1");
    }
  }
  if (g.auto_pad != "explicit" && g.auto_pad != "valid" && g.auto_pad != "same_upper" &&
      g.auto_pad != "same_lower") {
    return init.Error("unknown auto_pad '" + g.auto_pad + "'");
  }
  return g;
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakeConvolution(const KernelInit& init,
                                                std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const bool grouped = init.node.type == "GroupConvolution";
  const ValueInfo& x = init.inputs[0];
  const ValueInfo& w = init.inputs[1];
  if (x.type != ElementType::kF32 || w.type != ElementType::kF32) {
    return init.Error("only f32 data and weights are supported, got " + TypeName(x.type) + " and " +
                      TypeName(w.type));
  }
  const size_t rank = x.shape.size();
  if (rank < 3 || rank > 5) {
    return init.Error("data must have rank 3..5, has shape " + graph::ShapeToString(x.shape));
  }
  const size_t spatial = rank - 2;
  if (w.shape.size() != rank + (grouped ? 1 : 0)) {
    return init.Error("weights shape " + graph::ShapeToString(w.shape) +
                      " does not match data shape " + graph::ShapeToString(x.shape));
  }
  const int64_t groups = grouped ? w.shape[0] : 1;
  const int64_t oc = grouped ? w.shape[0] * w.shape[1] : w.shape[0];
  const int64_t icg = grouped ? w.shape[2] : w.shape[1];
  if (x.shape[1] != icg * groups) {
    return init.Error("data has " + std::to_string(x.shape[1]) + " channels but weights " +
                      graph::ShapeToString(w.shape) + " expect " + std::to_string(icg * groups));
  }
  PTQ_ASSIGN_OR_RETURN(ConvGeometry g, ReadGeometry(init, spatial, false));
  Shape out = {x.shape[0], oc};
  std::vector<int64_t> pb(spatial), pe(spatial);
  const size_t kofs = grouped ? 3 : 2;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = x.shape[2 + i], k = w.shape[kofs + i], s = g.strides[i], d = g.dilations[i];
    const int64_t ek = d * (k - 1) + 1;
    int64_t o;
    if (g.auto_pad == "same_upper" || g.auto_pad == "same_lower") {
      o = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (o - 1) * s + ek - in);
      pb[i] = g.auto_pad == "same_upper" ? total / 2 : total - total / 2;
      pe[i] = total - pb[i];
    } else {
      pb[i] = g.auto_pad == "valid" ? 0 : g.pads_begin[i];
      pe[i] = g.auto_pad == "valid" ? 0 : g.pads_end[i];
      const int64_t span = in + pb[i] + pe[i] - ek;
      if (span < 0) {
        return init.Error("kernel " + graph::ShapeToString(w.shape) +
                          " is larger than the padded input " + graph::ShapeToString(x.shape));
      }
      o = span / s + 1;
    }
    out.push_back(o);
  }
  outs->push_back({ElementType::kF32, out, nullptr});

  memory::dims strides(g.strides.begin(), g.strides.end());
  memory::dims dil(spatial), padl(pb.begin(), pb.end()), padr(pe.begin(), pe.end());
  for (size_t i = 0; i < spatial; ++i) dil[i] = g.dilations[i] - 1;
  memory::desc wei_user = Plain(w.shape);
  const bool const_w = w.constant != nullptr;
  std::vector<float> weight_scale;
  Fused fused = BuildFused(init, out, 1, true, const_w ? &weight_scale : nullptr);
  graph::Tensor scaled_w;  // weights times the folded per-channel scale (packed in Create)
  if (!weight_scale.empty()) {
    scaled_w = graph::Tensor::Allocate(ElementType::kF32, w.shape);
    float* wd = scaled_w.mutable_data<float>();
    std::memcpy(wd, w.constant->bytes(), w.constant->nbytes());
    const int64_t per_oc = graph::ElementCount(w.shape) / oc;
    for (int64_t o = 0; o < oc; ++o) {
      for (int64_t i = 0; i < per_oc; ++i) wd[o * per_oc + i] *= weight_scale[o];
    }
  }
  auto make_pd = [&](bool blocked) {
    memory::desc src =
        blocked ? memory::desc(Dims(x.shape), memory::data_type::f32, memory::format_tag::any)
                : Plain(x.shape);
    memory::desc dst =
        blocked ? memory::desc(Dims(out), memory::data_type::f32, memory::format_tag::any)
                : Plain(out);
    memory::desc wei =
        const_w ? memory::desc(Dims(w.shape), memory::data_type::f32, memory::format_tag::any)
                : wei_user;
    dnnl::convolution_forward::desc d =
        fused.has_bias
            ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::convolution_direct, src, wei,
                                              fused.bias_md, dst, strides, dil, padl, padr)
            : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::convolution_direct, src, wei, dst,
                                              strides, dil, padl, padr);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(fused.po);
    return dnnl::convolution_forward::primitive_desc(d, attr, init.engine);
  };
  try {
    const std::string& layout = init.options.conv_layout;
    dnnl::convolution_forward::primitive_desc pd = make_pd(layout == "blocked");
    if (layout == "auto" && SlowImpl(pd.impl_info_str())) {
      dnnl::convolution_forward::primitive_desc pd2 = make_pd(true);
      if (!SlowImpl(pd2.impl_info_str())) pd = pd2;
    }
    if (init.post_ops && IsReference(pd.impl_info_str())) {
      return init.Error("oneDNN has only a reference convolution with these fused layers");
    }
    DnnlKernel::Parts parts;
    parts.prim = dnnl::convolution_forward(pd);
    parts.src_user = Plain(x.shape);
    parts.src_prim = pd.src_desc();
    parts.wei_user = wei_user;
    parts.wei_prim = pd.weights_desc();
    parts.dst_user = Plain(out);
    parts.dst_prim = pd.dst_desc();
    parts.scratchpad = pd.scratchpad_desc();
    parts.const_weights = weight_scale.empty() ? w.constant : &scaled_w;
    MoveFused(fused, &parts);
    return DnnlKernel::Create(std::move(parts), init.engine);
  } catch (const dnnl::error& e) {
    return init.Error(std::string("oneDNN cannot create the convolution: ") + e.what());
  }
}

Result<std::unique_ptr<Kernel>> MakeDeconvolution(const KernelInit& init,
                                                  std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 3));
  const bool grouped = init.node.type == "GroupConvolutionBackpropData";
  const ValueInfo& x = init.inputs[0];
  const ValueInfo& w = init.inputs[1];
  if (x.type != ElementType::kF32 || w.type != ElementType::kF32) {
    return init.Error("only f32 data and weights are supported");
  }
  const size_t rank = x.shape.size();
  if (rank < 3 || rank > 5 || w.shape.size() != rank + (grouped ? 1 : 0)) {
    return init.Error("data " + graph::ShapeToString(x.shape) + " and weights " +
                      graph::ShapeToString(w.shape) + " have unsupported ranks");
  }
  const size_t spatial = rank - 2;
  const int64_t groups = grouped ? w.shape[0] : 1;
  const int64_t icg = grouped ? w.shape[1] : w.shape[0];
  const int64_t ocg = grouped ? w.shape[2] : w.shape[1];
  if (x.shape[1] != icg * groups) {
    return init.Error("data has " + std::to_string(x.shape[1]) + " channels but weights " +
                      graph::ShapeToString(w.shape) + " expect " + std::to_string(icg * groups));
  }
  PTQ_ASSIGN_OR_RETURN(ConvGeometry g, ReadGeometry(init, spatial, true));
  std::vector<int64_t> out_spatial;
  if (init.inputs.size() == 3) {
    PTQ_ASSIGN_OR_RETURN(out_spatial, init.ConstInts(2));
    if (out_spatial.size() != spatial)
      return init.Error("output_shape must have one value per spatial dim");
  }
  Shape out = {x.shape[0], ocg * groups};
  std::vector<int64_t> pb(spatial), pe(spatial);
  const size_t kofs = grouped ? 3 : 2;
  for (size_t i = 0; i < spatial; ++i) {
    const int64_t in = x.shape[2 + i], k = w.shape[kofs + i], s = g.strides[i], d = g.dilations[i],
                  op = g.output_padding[i];
    const int64_t full = s * (in - 1) + d * (k - 1) + 1 + op;
    int64_t o;
    if (!out_spatial.empty() || g.auto_pad == "same_upper" || g.auto_pad == "same_lower") {
      o = out_spatial.empty() ? in * s : out_spatial[i];
      const int64_t total = std::max<int64_t>(0, full - o);
      if (g.auto_pad == "same_lower") {
        pe[i] = total / 2;
        pb[i] = total - pe[i];
      } else {
        pb[i] = total / 2;
        pe[i] = total - pb[i];
      }
    } else {
      pb[i] = g.auto_pad == "valid" ? 0 : g.pads_begin[i];
      pe[i] = g.auto_pad == "valid" ? 0 : g.pads_end[i];
      o = full - pb[i] - pe[i];
    }
    if (o < 1) return init.Error("output spatial size would be " + std::to_string(o));
    out.push_back(o);
  }
  outs->push_back({ElementType::kF32, out, nullptr});
  // oneDNN relation: dst = (src-1)*s + (k-1)*d + 1 - pl - pr; output_padding reduces pr.
  memory::dims strides(g.strides.begin(), g.strides.end());
  memory::dims dil(spatial), padl(spatial), padr(spatial);
  for (size_t i = 0; i < spatial; ++i) {
    dil[i] = g.dilations[i] - 1;
    padl[i] = pb[i];
    padr[i] = out[2 + i] - (x.shape[2 + i] - 1) * g.strides[i] -
              (w.shape[kofs + i] - 1) * g.dilations[i] - 1 + pb[i];
    padr[i] = -padr[i];
  }
  // OpenVINO weights [(G,) Cin, Cout, k...] -> oneDNN dims [(G,) Cout, Cin, k...].
  Shape wd = w.shape;
  std::vector<int64_t> ws = ContiguousStrides(w.shape);
  std::swap(wd[kofs - 2], wd[kofs - 1]);
  std::swap(ws[kofs - 2], ws[kofs - 1]);
  memory::desc wei_user(Dims(wd), memory::data_type::f32, Dims(ws));
  const bool const_w = w.constant != nullptr;
  Fused fused = BuildFused(init, out, 1, true);
  try {
    auto make_pd = [&](bool blocked) {
      memory::desc src =
          blocked ? memory::desc(Dims(x.shape), memory::data_type::f32, memory::format_tag::any)
                  : Plain(x.shape);
      memory::desc dst =
          blocked ? memory::desc(Dims(out), memory::data_type::f32, memory::format_tag::any)
                  : Plain(out);
      memory::desc wei =
          const_w ? memory::desc(Dims(wd), memory::data_type::f32, memory::format_tag::any)
                  : wei_user;
      dnnl::deconvolution_forward::desc d =
          fused.has_bias
              ? dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                  dnnl::algorithm::deconvolution_direct, src, wei,
                                                  fused.bias_md, dst, strides, dil, padl, padr)
              : dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                  dnnl::algorithm::deconvolution_direct, src, wei,
                                                  dst, strides, dil, padl, padr);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      attr.set_post_ops(fused.po);
      return dnnl::deconvolution_forward::primitive_desc(d, attr, init.engine);
    };
    const std::string& layout = init.options.conv_layout;
    auto pd = make_pd(layout == "blocked");
    if (layout == "auto" && SlowImpl(pd.impl_info_str())) {
      auto pd2 = make_pd(true);
      if (!SlowImpl(pd2.impl_info_str())) pd = pd2;
    }
    if (init.post_ops && IsReference(pd.impl_info_str())) {
      return init.Error("oneDNN has only a reference deconvolution with these fused layers");
    }
    DnnlKernel::Parts parts;
    parts.prim = dnnl::deconvolution_forward(pd);
    parts.src_user = Plain(x.shape);
    parts.src_prim = pd.src_desc();
    parts.wei_user = wei_user;
    parts.wei_prim = pd.weights_desc();
    parts.dst_user = Plain(out);
    parts.dst_prim = pd.dst_desc();
    parts.scratchpad = pd.scratchpad_desc();
    parts.const_weights = w.constant;
    MoveFused(fused, &parts);
    return DnnlKernel::Create(std::move(parts), init.engine);
  } catch (const dnnl::error& e) {
    return init.Error(std::string("oneDNN cannot create the transposed convolution: ") + e.what());
  }
}

Result<std::unique_ptr<Kernel>> MakeMatMul(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const ValueInfo& a = init.inputs[0];
  const ValueInfo& b = init.inputs[1];
  if (a.type != ElementType::kF32 || b.type != ElementType::kF32) {
    return init.Error("only f32 inputs are supported, got " + TypeName(a.type) + " and " +
                      TypeName(b.type));
  }
  PTQ_ASSIGN_OR_RETURN(bool ta, init.node.attrs.GetBool("transpose_a", false));
  PTQ_ASSIGN_OR_RETURN(bool tb, init.node.attrs.GetBool("transpose_b", false));
  if (a.shape.empty() || b.shape.empty()) return init.Error("inputs must have rank >= 1");
  // Stored shapes with 1-D operands made 2-D (their extra dim is dropped from the output).
  Shape as = a.shape, bs = b.shape;
  const bool a1 = as.size() == 1, b1 = bs.size() == 1;
  if (a1) {
    as = {1, as[0]};
    ta = false;
  }
  if (b1) {
    bs = {bs[0], 1};
    tb = false;
  }
  const size_t rank = std::max(as.size(), bs.size());
  while (as.size() < rank) as.insert(as.begin(), 1);
  while (bs.size() < rank) bs.insert(bs.begin(), 1);
  const int64_t m = ta ? as[rank - 1] : as[rank - 2];
  const int64_t ka = ta ? as[rank - 2] : as[rank - 1];
  const int64_t kb = tb ? bs[rank - 1] : bs[rank - 2];
  const int64_t n = tb ? bs[rank - 2] : bs[rank - 1];
  if (ka != kb) {
    return init.Error("inner dimensions differ: A " + graph::ShapeToString(a.shape) + " and B " +
                      graph::ShapeToString(b.shape) + " (transpose_a=" + (ta ? "1" : "0") +
                      ", transpose_b=" + (tb ? "1" : "0") + ")");
  }
  Shape dst(rank);
  for (size_t i = 0; i + 2 < rank; ++i) {
    if (as[i] != bs[i] && as[i] != 1 && bs[i] != 1) {
      return init.Error("batch dimensions of " + graph::ShapeToString(a.shape) + " and " +
                        graph::ShapeToString(b.shape) + " do not broadcast");
    }
    dst[i] = std::max(as[i], bs[i]);
  }
  dst[rank - 2] = m;
  dst[rank - 1] = n;
  Shape out;
  for (size_t i = 0; i + 2 < rank; ++i) out.push_back(dst[i]);
  if (!a1) out.push_back(m);
  if (!b1) out.push_back(n);
  outs->push_back({ElementType::kF32, out, nullptr});

  // Logical oneDNN dims [batch..., M, K] / [batch..., K, N] with strides expressing transposes.
  auto logical = [&](const Shape& stored, bool t) {
    Shape dims = stored;
    std::vector<int64_t> st = ContiguousStrides(stored);
    if (t) {
      std::swap(dims[rank - 1], dims[rank - 2]);
      std::swap(st[rank - 1], st[rank - 2]);
    }
    for (size_t i = 0; i < rank; ++i) {
      if (dims[i] == 1) st[i] = (i + 1 < rank) ? st[i] : 1;  // any stride is fine for size 1
    }
    return memory::desc(Dims(dims), memory::data_type::f32, Dims(st));
  };
  memory::desc src = logical(as, ta);
  memory::desc wei_user = logical(bs, tb);
  memory::desc dstd = Plain(dst);
  Shape bdims = bs;
  if (tb) std::swap(bdims[rank - 1], bdims[rank - 2]);
  try {
    memory::desc wei =
        b.constant ? memory::desc(Dims(bdims), memory::data_type::f32, memory::format_tag::any)
                   : wei_user;
    if (init.post_ops && (a1 || b1)) {
      return init.Error("post-ops on a matmul with a 1-D operand are not supported");
    }
    Fused fused = BuildFused(init, dst, static_cast<int>(rank) - 1, true);
    dnnl::matmul::desc d = fused.has_bias ? dnnl::matmul::desc(src, wei, fused.bias_md, dstd)
                                          : dnnl::matmul::desc(src, wei, dstd);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_post_ops(fused.po);
    dnnl::matmul::primitive_desc pd(d, attr, init.engine);
    if (init.post_ops && IsReference(pd.impl_info_str())) {
      return init.Error("oneDNN has only a reference matmul with these fused layers");
    }
    DnnlKernel::Parts parts;
    parts.prim = dnnl::matmul(pd);
    parts.src_user = src;
    parts.src_prim = pd.src_desc();
    parts.wei_user = wei_user;
    parts.wei_prim = pd.weights_desc();
    parts.dst_user = dstd;
    parts.dst_prim = pd.dst_desc();
    parts.scratchpad = pd.scratchpad_desc();
    parts.const_weights = b.constant;
    MoveFused(fused, &parts);
    return DnnlKernel::Create(std::move(parts), init.engine);
  } catch (const dnnl::error& e) {
    return init.Error(std::string("oneDNN cannot create the matmul: ") + e.what());
  }
}

}  // namespace ptqflow::exec::kernels

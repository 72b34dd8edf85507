// Data-movement kernels: Reshape/Squeeze/Unsqueeze (zero-copy aliases), Transpose, Concat,
// Split/VariadicSplit, StridedSlice, Slice, Gather, ShapeOf, Broadcast, Tile, Pad, Range,
// DepthToSpace/SpaceToDepth. They work on any element type by element size.
#include <algorithm>
#include <cmath>

#include "graph/exec/kernels/copy.h"
#include "graph/exec/kernels/kernels.h"
#include "graph/exec/kernels/type_dispatch.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;
using graph::Shape;

// A copy described once at compile time: per output `k`, dst = src[input] viewed through
// (dims, src strides, src offset) into dst strides at dst offset.
struct CopyOp {
  int input = 0;
  int output = 0;
  int64_t src_offset = 0, dst_offset = 0;
  std::vector<int64_t> dims, src_strides, dst_strides;
};

class CopyKernel : public Kernel {
 public:
  CopyKernel(ElementType t, std::vector<CopyOp> ops) : type_(t), ops_(std::move(ops)) {}
  Status Run(const KernelContext& ctx) const override {
    DispatchBySize(type_, [&](auto v) {
      using T = decltype(v);
      for (const CopyOp& op : ops_) {
        CopyStrided<T>(ctx.out[op.output].as<T>() + op.dst_offset, op.dst_strides,
                       ctx.in[op.input].as<T>() + op.src_offset, op.src_strides, op.dims);
      }
    });
    return Status::Ok();
  }

 private:
  ElementType type_;
  std::vector<CopyOp> ops_;
};

Status CheckMovable(const KernelInit& init, ElementType t) {
  if (graph::BitWidth(t) < 8 || !DispatchBySize(t, [](auto) {})) {
    return init.Error("element type " + TypeName(t) + " is not supported");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Kernel>> MakeCopy(const KernelInit& init, ElementType t,
                                         std::vector<CopyOp> ops) {
  PTQ_RETURN_IF_ERROR(CheckMovable(init, t));
  return std::unique_ptr<Kernel>(std::make_unique<CopyKernel>(t, std::move(ops)));
}

class AliasKernel : public Kernel {
 public:
  Status Run(const KernelContext&) const override { return Status::Ok(); }
  int alias_input() const override { return 0; }
};

Result<int64_t> Axis(const KernelInit& init, int64_t axis, int64_t rank) {
  return NormalizeAxis(init, axis, rank);
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakeReshape(const KernelInit& init, std::vector<ValueInfo>* outs) {
  const std::string& type = init.node.type;
  const ValueInfo& x = init.inputs.at(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  Shape out;
  if (type == "Reshape") {
    PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> target, init.ConstInts(1));
    PTQ_ASSIGN_OR_RETURN(bool special_zero, init.node.attrs.GetBool("special_zero", false));
    int infer = -1;
    int64_t known = 1;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == 0 && special_zero) {
        if (static_cast<int64_t>(i) >= rank) return init.Error("special zero beyond input rank");
        d = x.shape[i];
      }
      if (d == -1) {
        if (infer >= 0) return init.Error("more than one -1 in the target shape");
        infer = static_cast<int>(i);
      } else if (d < 0) {
        return init.Error("invalid target dimension " + std::to_string(d));
      } else {
        known *= d;
      }
      out.push_back(d);
    }
    const int64_t count = graph::ElementCount(x.shape);
    if (infer >= 0) {
      if (known == 0 || count % known != 0) {
        return init.Error("cannot infer -1 reshaping " + graph::ShapeToString(x.shape));
      }
      out[infer] = count / known;
    }
  } else if (type == "Squeeze") {
    PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 2));
    std::vector<char> drop(rank, 0);
    if (init.inputs.size() == 2) {
      PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.ConstInts(1));
      for (int64_t a : axes) {
        PTQ_ASSIGN_OR_RETURN(int64_t n, Axis(init, a, rank));
        if (x.shape[n] != 1) {
          return init.Error("cannot squeeze axis " + std::to_string(a) + " of size " +
                            std::to_string(x.shape[n]));
        }
        drop[n] = 1;
      }
    } else {
      for (int64_t i = 0; i < rank; ++i) drop[i] = x.shape[i] == 1;
    }
    for (int64_t i = 0; i < rank; ++i) {
      if (!drop[i]) out.push_back(x.shape[i]);
    }
  } else {  // Unsqueeze
    PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.ConstInts(1));
    const int64_t out_rank = rank + static_cast<int64_t>(axes.size());
    std::vector<char> ins(out_rank, 0);
    for (int64_t a : axes) {
      PTQ_ASSIGN_OR_RETURN(int64_t n, Axis(init, a, out_rank));
      if (ins[n]) return init.Error("repeated axis " + std::to_string(a));
      ins[n] = 1;
    }
    size_t k = 0;
    for (int64_t i = 0; i < out_rank; ++i) out.push_back(ins[i] ? 1 : x.shape[k++]);
  }
  if (graph::ElementCount(out) != graph::ElementCount(x.shape)) {
    return init.Error("cannot reshape " + graph::ShapeToString(x.shape) + " to " +
                      graph::ShapeToString(out));
  }
  outs->push_back({x.type, out, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<AliasKernel>());
}

Result<std::unique_ptr<Kernel>> MakeTranspose(const KernelInit& init,
                                              std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const ValueInfo& x = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> perm, init.ConstInts(1));
  if (perm.empty()) {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) {
    return init.Error("order has " + std::to_string(perm.size()) + " values for rank " +
                      std::to_string(rank));
  }
  std::vector<char> seen(rank, 0);
  for (int64_t& p : perm) {
    PTQ_ASSIGN_OR_RETURN(p, Axis(init, p, rank));
    if (seen[p]) return init.Error("order is not a permutation");
    seen[p] = 1;
  }
  Shape out(rank);
  std::vector<int64_t> st = ContiguousStrides(x.shape), ss(rank);
  for (int64_t i = 0; i < rank; ++i) {
    out[i] = x.shape[perm[i]];
    ss[i] = st[perm[i]];
  }
  outs->push_back({x.type, out, nullptr});
  CopyOp op;
  op.dims = out;
  op.src_strides = ss;
  op.dst_strides = ContiguousStrides(out);
  return MakeCopy(init, x.type, {op});
}

Result<std::unique_ptr<Kernel>> MakeConcat(const KernelInit& init, std::vector<ValueInfo>* outs) {
  if (init.inputs.empty()) return init.Error("needs at least one input");
  const ValueInfo& x0 = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x0.shape.size());
  PTQ_ASSIGN_OR_RETURN(int64_t axis_attr, init.node.attrs.GetInt("axis"));
  PTQ_ASSIGN_OR_RETURN(int64_t axis, Axis(init, axis_attr, rank));
  Shape out = x0.shape;
  out[axis] = 0;
  for (const ValueInfo& v : init.inputs) {
    if (v.type != x0.type) return init.Error("inputs have different element types");
    if (static_cast<int64_t>(v.shape.size()) != rank)
      return init.Error("inputs have different ranks");
    for (int64_t i = 0; i < rank; ++i) {
      if (i != axis && v.shape[i] != x0.shape[i]) {
        return init.Error("input shapes " + graph::ShapeToString(x0.shape) + " and " +
                          graph::ShapeToString(v.shape) + " differ outside axis " +
                          std::to_string(axis));
      }
    }
    out[axis] += v.shape[axis];
  }
  outs->push_back({x0.type, out, nullptr});
  std::vector<CopyOp> ops;
  const std::vector<int64_t> ds = ContiguousStrides(out);
  int64_t pos = 0;
  for (size_t k = 0; k < init.inputs.size(); ++k) {
    CopyOp op;
    op.input = static_cast<int>(k);
    op.dims = init.inputs[k].shape;
    op.src_strides = ContiguousStrides(op.dims);
    op.dst_strides = ds;
    op.dst_offset = pos * ds[axis];
    pos += op.dims[axis];
    ops.push_back(op);
  }
  return MakeCopy(init, x0.type, ops);
}

Result<std::unique_ptr<Kernel>> MakeSplit(const KernelInit& init, std::vector<ValueInfo>* outs) {
  const bool variadic = init.node.type == "VariadicSplit";
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(variadic ? 3 : 2, variadic ? 3 : 2));
  const ValueInfo& x = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v, init.ConstInts(1));
  if (axis_v.size() != 1) return init.Error("axis must be a scalar");
  PTQ_ASSIGN_OR_RETURN(int64_t axis, Axis(init, axis_v[0], rank));
  const int64_t dim = x.shape[axis];
  std::vector<int64_t> lengths;
  if (variadic) {
    PTQ_ASSIGN_OR_RETURN(lengths, init.ConstInts(2));
    int infer = -1;
    int64_t sum = 0;
    for (size_t i = 0; i < lengths.size(); ++i) {
      if (lengths[i] == -1) {
        if (infer >= 0) return init.Error("more than one -1 in split_lengths");
        infer = static_cast<int>(i);
      } else {
        sum += lengths[i];
      }
    }
    if (infer >= 0) lengths[infer] = dim - sum;
  } else {
    PTQ_ASSIGN_OR_RETURN(int64_t n, init.node.attrs.GetInt("num_splits"));
    if (n < 1 || dim % n != 0) {
      return init.Error("cannot split dimension " + std::to_string(dim) + " into " +
                        std::to_string(n) + " equal parts");
    }
    lengths.assign(n, dim / n);
  }
  int64_t total = 0;
  for (int64_t l : lengths) {
    if (l < 0) return init.Error("negative split length");
    total += l;
  }
  if (total != dim) {
    return init.Error("split lengths sum to " + std::to_string(total) + " but the axis has " +
                      std::to_string(dim));
  }
  const std::vector<int64_t> ss = ContiguousStrides(x.shape);
  std::vector<CopyOp> ops;
  int64_t pos = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    Shape o = x.shape;
    o[axis] = lengths[k];
    outs->push_back({x.type, o, nullptr});
    CopyOp op;
    op.output = static_cast<int>(k);
    op.dims = o;
    op.src_strides = ss;
    op.dst_strides = ContiguousStrides(o);
    op.src_offset = pos * ss[axis];
    pos += lengths[k];
    ops.push_back(op);
  }
  return MakeCopy(init, x.type, ops);
}

namespace {

// Clamped [start, stop) with step along a dimension, numpy rules; returns element count.
int64_t SliceCount(int64_t dim, int64_t* start, int64_t stop, int64_t step, bool start_default,
                   bool stop_default) {
  int64_t s = *start, e = stop;
  if (step > 0) {
    if (start_default)
      s = 0;
    else {
      if (s < 0) s += dim;
      s = std::clamp<int64_t>(s, 0, dim);
    }
    if (stop_default)
      e = dim;
    else {
      if (e < 0) e += dim;
      e = std::clamp<int64_t>(e, 0, dim);
    }
    *start = s;
    return e > s ? (e - s + step - 1) / step : 0;
  }
  if (start_default)
    s = dim - 1;
  else {
    if (s < 0) s += dim;
    s = std::clamp<int64_t>(s, -1, dim - 1);
  }
  if (stop_default)
    e = -1;
  else {
    if (e < 0) e += dim;
    e = std::clamp<int64_t>(e, -1, dim - 1);
  }
  *start = s;
  return s > e ? (s - e + (-step) - 1) / (-step) : 0;
}

std::vector<int64_t> MaskOf(const KernelInit& init, const char* name) {
  Result<std::vector<int64_t>> r = init.node.attrs.GetInts(name, {});
  return r.ok() ? *r : std::vector<int64_t>{};
}

Result<std::unique_ptr<Kernel>> SliceKernel(const KernelInit& init, const ValueInfo& x,
                                            const std::vector<int64_t>& start,
                                            const std::vector<int64_t>& step,
                                            const std::vector<int64_t>& count, Shape out_shape,
                                            std::vector<ValueInfo>* outs) {
  const std::vector<int64_t> st = ContiguousStrides(x.shape);
  CopyOp op;
  for (size_t i = 0; i < x.shape.size(); ++i) {
    op.src_offset += start[i] * st[i];
    op.dims.push_back(count[i]);
    op.src_strides.push_back(st[i] * step[i]);
  }
  op.dst_strides = ContiguousStrides(op.dims);
  outs->push_back({x.type, std::move(out_shape), nullptr});
  return MakeCopy(init, x.type, {op});
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakeStridedSlice(const KernelInit& init,
                                                 std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 4));
  const ValueInfo& x = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> begin, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> end, init.ConstInts(2));
  std::vector<int64_t> stride(begin.size(), 1);
  if (init.inputs.size() == 4) {
    PTQ_ASSIGN_OR_RETURN(stride, init.ConstInts(3));
  }
  if (end.size() != begin.size() || stride.size() != begin.size()) {
    return init.Error("begin, end and stride must have the same length");
  }
  auto bm = MaskOf(init, "begin_mask"), em = MaskOf(init, "end_mask"),
       nm = MaskOf(init, "new_axis_mask"), sm = MaskOf(init, "shrink_axis_mask"),
       elm = MaskOf(init, "ellipsis_mask");
  auto bit = [](const std::vector<int64_t>& m, size_t i) { return i < m.size() && m[i] != 0; };
  const size_t L = begin.size();
  int64_t consumed_after = 0;  // input axes named by entries (not new-axis, not ellipsis)
  for (size_t i = 0; i < L; ++i) consumed_after += !bit(nm, i) && !bit(elm, i);
  std::vector<int64_t> start(rank, 0), step(rank, 1), count(x.shape);
  Shape out_shape;
  int64_t d = 0;
  bool seen_ellipsis = false;
  for (size_t i = 0; i < L; ++i) {
    if (bit(nm, i)) {
      out_shape.push_back(1);
      continue;
    }
    if (bit(elm, i)) {
      if (seen_ellipsis) return init.Error("more than one ellipsis");
      seen_ellipsis = true;
      int64_t remaining = 0;
      for (size_t j = i + 1; j < L; ++j) remaining += !bit(nm, j) && !bit(elm, j);
      int64_t full = rank - d - remaining;
      for (int64_t k = 0; k < full; ++k, ++d) out_shape.push_back(x.shape[d]);
      continue;
    }
    if (d >= rank) return init.Error("slice has more entries than the data rank");
    const int64_t dim = x.shape[d];
    if (stride[i] == 0) return init.Error("stride 0");
    if (bit(sm, i)) {
      int64_t b = begin[i] < 0 ? begin[i] + dim : begin[i];
      if (b < 0 || b >= dim) return init.Error("shrink index out of range");
      start[d] = b;
      count[d] = 1;
    } else {
      int64_t s = begin[i];
      count[d] = SliceCount(dim, &s, end[i], stride[i], bit(bm, i), bit(em, i));
      start[d] = s;
      step[d] = stride[i];
      out_shape.push_back(count[d]);
    }
    ++d;
  }
  for (; d < rank; ++d) out_shape.push_back(x.shape[d]);
  (void)consumed_after;
  return SliceKernel(init, x, start, step, count, out_shape, outs);
}

Result<std::unique_ptr<Kernel>> MakeSlice(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(4, 5));
  const ValueInfo& x = init.inputs[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> starts, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> stops, init.ConstInts(2));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> steps, init.ConstInts(3));
  std::vector<int64_t> axes;
  if (init.inputs.size() == 5) {
    PTQ_ASSIGN_OR_RETURN(axes, init.ConstInts(4));
  } else {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (stops.size() != starts.size() || steps.size() != starts.size() ||
      axes.size() != starts.size()) {
    return init.Error("start, stop, step and axes must have the same length");
  }
  std::vector<int64_t> start(rank, 0), step(rank, 1), count(x.shape);
  for (size_t i = 0; i < starts.size(); ++i) {
    PTQ_ASSIGN_OR_RETURN(int64_t a, Axis(init, axes[i], rank));
    if (steps[i] == 0) return init.Error("step 0");
    int64_t s = starts[i];
    // Large sentinel values (INT64_MAX/MIN) clamp like numpy.
    count[a] = SliceCount(x.shape[a], &s, stops[i], steps[i], false, false);
    start[a] = s;
    step[a] = steps[i];
  }
  return SliceKernel(init, x, start, step, count, count, outs);
}

namespace {

template <typename I>
class GatherKernel : public Kernel {
 public:
  GatherKernel(ElementType t, int64_t batch, int64_t outer, int64_t axis_dim, int64_t inner,
               int64_t nidx)
      : t_(t), batch_(batch), outer_(outer), axis_dim_(axis_dim), inner_(inner), nidx_(nidx) {}
  Status Run(const KernelContext& ctx) const override {
    const I* idx = ctx.in[1].as<I>();
    const size_t es = graph::BitWidth(t_) / 8;
    const uint8_t* src = static_cast<const uint8_t*>(ctx.in[0].data);
    uint8_t* dst = static_cast<uint8_t*>(ctx.out[0].data);
    const size_t block = inner_ * es;
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t o = 0; o < outer_; ++o) {
        for (int64_t j = 0; j < nidx_; ++j) {
          int64_t k = static_cast<int64_t>(idx[b * nidx_ + j]);
          if (k < 0) k += axis_dim_;
          if (k < 0 || k >= axis_dim_) {
            return Status::Error("index " + std::to_string(idx[b * nidx_ + j]) +
                                 " is out of range for a dimension of size " +
                                 std::to_string(axis_dim_));
          }
          std::memcpy(dst + (((b * outer_ + o) * nidx_ + j) * block),
                      src + (((b * outer_ + o) * axis_dim_ + k) * block), block);
        }
      }
    }
    return Status::Ok();
  }

 private:
  ElementType t_;
  int64_t batch_, outer_, axis_dim_, inner_, nidx_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeGather(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 3));
  const ValueInfo& x = init.inputs[0];
  const ValueInfo& ind = init.inputs[1];
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axis_v, init.ConstInts(2));
  if (axis_v.size() != 1) return init.Error("axis must be a scalar");
  PTQ_ASSIGN_OR_RETURN(int64_t axis, Axis(init, axis_v[0], rank));
  PTQ_ASSIGN_OR_RETURN(int64_t bd, init.node.attrs.GetInt("batch_dims", 0));
  const int64_t irank = static_cast<int64_t>(ind.shape.size());
  if (bd < 0) bd += irank;
  if (bd < 0 || bd > axis || bd > irank) return init.Error("invalid batch_dims");
  for (int64_t i = 0; i < bd; ++i) {
    if (x.shape[i] != ind.shape[i]) return init.Error("batch dimensions differ");
  }
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), ind.shape.begin() + bd, ind.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  int64_t batch = 1, outer = 1, inner = 1, nidx = 1;
  for (int64_t i = 0; i < bd; ++i) batch *= x.shape[i];
  for (int64_t i = bd; i < axis; ++i) outer *= x.shape[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x.shape[i];
  for (int64_t i = bd; i < irank; ++i) nidx *= ind.shape[i];
  PTQ_RETURN_IF_ERROR(CheckMovable(init, x.type));
  outs->push_back({x.type, out, nullptr});
  if (ind.type == ElementType::kI64) {
    return std::unique_ptr<Kernel>(
        std::make_unique<GatherKernel<int64_t>>(x.type, batch, outer, x.shape[axis], inner, nidx));
  }
  if (ind.type == ElementType::kI32) {
    return std::unique_ptr<Kernel>(
        std::make_unique<GatherKernel<int32_t>>(x.type, batch, outer, x.shape[axis], inner, nidx));
  }
  return init.Error("indices must be i32 or i64, are " + TypeName(ind.type));
}

namespace {
class ShapeOfKernel : public Kernel {
 public:
  ShapeOfKernel(Shape s, ElementType t) : s_(std::move(s)), t_(t) {}
  Status Run(const KernelContext& ctx) const override {
    for (size_t i = 0; i < s_.size(); ++i) {
      if (t_ == ElementType::kI32) {
        ctx.out[0].as<int32_t>()[i] = static_cast<int32_t>(s_[i]);
      } else {
        ctx.out[0].as<int64_t>()[i] = s_[i];
      }
    }
    return Status::Ok();
  }
  bool depends_on_values() const override { return false; }

 private:
  Shape s_;
  ElementType t_;
};
}  // namespace

Result<std::unique_ptr<Kernel>> MakeShapeOf(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
  PTQ_ASSIGN_OR_RETURN(std::string ts, init.node.attrs.GetString("output_type", "i64"));
  ElementType t = ts == "i32" ? ElementType::kI32 : ElementType::kI64;
  if (ts != "i32" && ts != "i64") return init.Error("output_type must be i32 or i64");
  outs->push_back({t, {static_cast<int64_t>(init.inputs[0].shape.size())}, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<ShapeOfKernel>(init.inputs[0].shape, t));
}

Result<std::unique_ptr<Kernel>> MakeBroadcast(const KernelInit& init,
                                              std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 3));
  const ValueInfo& x = init.inputs[0];
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> target, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("mode", "numpy"));
  Shape in = x.shape;  // aligned to the output rank
  Shape out;
  if (mode == "explicit") {
    PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, init.ConstInts(2));
    if (axes.size() != x.shape.size())
      return init.Error("axes_mapping size differs from data rank");
    out = target;
    in.assign(out.size(), 1);
    for (size_t i = 0; i < axes.size(); ++i) {
      if (axes[i] < 0 || axes[i] >= static_cast<int64_t>(out.size())) {
        return init.Error("axes_mapping value out of range");
      }
      in[axes[i]] = x.shape[i];
    }
  } else if (mode == "numpy" || mode == "bidirectional") {
    size_t r = std::max(in.size(), target.size());
    while (in.size() < r) in.insert(in.begin(), 1);
    Shape t = target;
    while (t.size() < r) t.insert(t.begin(), 1);
    out.resize(r);
    for (size_t i = 0; i < r; ++i) {
      if (in[i] == t[i] || in[i] == 1) {
        out[i] = mode == "numpy" ? t[i] : std::max(in[i], t[i]);
        if (mode == "bidirectional" && in[i] == 1) out[i] = t[i];
      } else if (t[i] == 1 && mode == "bidirectional") {
        out[i] = in[i];
      } else {
        return init.Error("cannot broadcast " + graph::ShapeToString(x.shape) + " to " +
                          graph::ShapeToString(target));
      }
    }
  } else {
    return init.Error("broadcast mode '" + mode + "' is not supported");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (in[i] != out[i] && in[i] != 1) return init.Error("incompatible broadcast shapes");
  }
  std::vector<int64_t> st = ContiguousStrides(in);
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == 1) st[i] = 0;
  }
  outs->push_back({x.type, out, nullptr});
  CopyOp op;
  op.dims = out;
  op.src_strides = st;
  op.dst_strides = ContiguousStrides(out);
  return MakeCopy(init, x.type, {op});
}

Result<std::unique_ptr<Kernel>> MakeTile(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const ValueInfo& x = init.inputs[0];
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> reps, init.ConstInts(1));
  Shape in = x.shape;
  size_t r = std::max(in.size(), reps.size());
  while (in.size() < r) in.insert(in.begin(), 1);
  while (reps.size() < r) reps.insert(reps.begin(), 1);
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    if (reps[i] < 0) return init.Error("negative repeat");
    out[i] = in[i] * reps[i];
  }
  outs->push_back({x.type, out, nullptr});
  // View the output as [r0, d0, r1, d1, ...].
  const std::vector<int64_t> is = ContiguousStrides(in), os = ContiguousStrides(out);
  CopyOp op;
  for (size_t i = 0; i < r; ++i) {
    op.dims.push_back(reps[i]);
    op.src_strides.push_back(0);
    op.dst_strides.push_back(in[i] * os[i]);
    op.dims.push_back(in[i]);
    op.src_strides.push_back(is[i]);
    op.dst_strides.push_back(os[i]);
  }
  return MakeCopy(init, x.type, {op});
}

namespace {

// Pad: each output index maps per axis to a source index or -1 (pad value).
template <typename T>
class PadKernel : public Kernel {
 public:
  PadKernel(std::vector<std::vector<int64_t>> maps, Shape out, std::vector<int64_t> in_strides,
            bool value_from_input)
      : maps_(std::move(maps)),
        out_(std::move(out)),
        is_(std::move(in_strides)),
        value_from_input_(value_from_input) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    T pad{};
    if (value_from_input_) pad = *ctx.in[3].as<T>();
    const size_t r = out_.size();
    if (r == 0) {
      *y = *x;
      return Status::Ok();
    }
    const int64_t inner = out_[r - 1];
    const int64_t rows = graph::ElementCount(out_) / std::max<int64_t>(inner, 1);
    if (inner == 0) return Status::Ok();
    for (int64_t row = 0; row < rows; ++row) {
      int64_t rem = row, so = 0;
      bool is_pad = false;
      for (int k = static_cast<int>(r) - 2; k >= 0; --k) {
        int64_t idx = rem % out_[k];
        rem /= out_[k];
        int64_t s = maps_[k][idx];
        if (s < 0) is_pad = true;
        so += s * is_[k];
      }
      T* py = y + row * inner;
      const std::vector<int64_t>& m = maps_[r - 1];
      if (is_pad) {
        for (int64_t i = 0; i < inner; ++i) py[i] = pad;
      } else {
        for (int64_t i = 0; i < inner; ++i) py[i] = m[i] < 0 ? pad : x[so + m[i]];
      }
    }
    return Status::Ok();
  }

 private:
  std::vector<std::vector<int64_t>> maps_;
  Shape out_;
  std::vector<int64_t> is_;
  bool value_from_input_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakePad(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 4));
  const ValueInfo& x = init.inputs[0];
  const size_t r = x.shape.size();
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pb, init.ConstInts(1));
  PTQ_ASSIGN_OR_RETURN(std::vector<int64_t> pe, init.ConstInts(2));
  if (pb.size() != r || pe.size() != r) return init.Error("pads must have one value per axis");
  PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("pad_mode", "constant"));
  if (init.inputs.size() == 4 && init.inputs[3].type != x.type) {
    return init.Error("pad_value type differs from data");
  }
  Shape out(r);
  std::vector<std::vector<int64_t>> maps(r);
  for (size_t a = 0; a < r; ++a) {
    const int64_t n = x.shape[a];
    out[a] = n + pb[a] + pe[a];
    if (out[a] < 0) return init.Error("negative output dimension after padding");
    if (mode != "constant" && out[a] > 0 && n == 0) return init.Error("cannot pad an empty axis");
    if (mode == "reflect" && n > 0 && (pb[a] > n - 1 || pe[a] > n - 1)) {
      return init.Error("reflect padding larger than the input dimension - 1");
    }
    if (mode == "symmetric" && (pb[a] > n || pe[a] > n)) {
      return init.Error("symmetric padding larger than the input dimension");
    }
    for (int64_t o = 0; o < out[a]; ++o) {
      int64_t i = o - pb[a];
      if (i < 0 || i >= n) {
        if (mode == "constant") {
          i = -1;
        } else if (mode == "edge") {
          i = std::clamp<int64_t>(i, 0, n - 1);
        } else if (mode == "reflect") {
          i = i < 0 ? -i : 2 * (n - 1) - i;
        } else if (mode == "symmetric") {
          i = i < 0 ? -i - 1 : 2 * n - 1 - i;
        } else {
          return init.Error("unknown pad_mode '" + mode + "'");
        }
      }
      maps[a].push_back(i);
    }
  }
  outs->push_back({x.type, out, nullptr});
  std::unique_ptr<Kernel> k;
  PTQ_RETURN_IF_ERROR(CheckMovable(init, x.type));
  DispatchBySize(x.type, [&](auto v) {
    k = std::make_unique<PadKernel<decltype(v)>>(maps, out, ContiguousStrides(x.shape),
                                                 init.inputs.size() == 4);
  });
  return k;
}

namespace {
template <typename T>
class RangeKernel : public Kernel {
 public:
  RangeKernel(double start, double step) : start_(start), step_(step) {}
  Status Run(const KernelContext& ctx) const override {
    T* y = ctx.out[0].as<T>();
    const int64_t n = ctx.out[0].size();
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(start_ + static_cast<double>(i) * step_);
    return Status::Ok();
  }

 private:
  double start_, step_;
};
}  // namespace

Result<std::unique_ptr<Kernel>> MakeRange(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 3));
  for (size_t i = 0; i < 3; ++i) {
    if (!init.inputs[i].constant) {
      return init.Error(
          "start/stop/step must be known at compile time (output size depends "
          "on them)");
    }
  }
  const double start = init.inputs[0].constant->ToDoubles().at(0);
  const double stop = init.inputs[1].constant->ToDoubles().at(0);
  const double step = init.inputs[2].constant->ToDoubles().at(0);
  if (step == 0) return init.Error("step is 0");
  ElementType t = init.inputs[0].type;
  if (init.node.attrs.Has("output_type")) {
    PTQ_ASSIGN_OR_RETURN(std::string ts, init.node.attrs.GetString("output_type"));
    Result<ElementType> p = graph::ParseElementType(ts);
    if (!p.ok()) return init.Error(p.status().message());
    t = *p;
  }
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((stop - start) / step)));
  outs->push_back({t, {n}, nullptr});
  std::unique_ptr<Kernel> k;
  if (!DispatchArith(
          t, [&](auto v) { k = std::make_unique<RangeKernel<decltype(v)>>(start, step); })) {
    return init.Error("unsupported output type " + TypeName(t));
  }
  return k;
}

Result<std::unique_ptr<Kernel>> MakeDepthToSpace(const KernelInit& init,
                                                 std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
  const ValueInfo& x = init.inputs[0];
  if (x.shape.size() != 4) return init.Error("only 4-D data is supported");
  PTQ_ASSIGN_OR_RETURN(int64_t b, init.node.attrs.GetInt("block_size", 1));
  PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("mode", "blocks_first"));
  if (b < 1) return init.Error("block_size must be >= 1");
  const bool d2s = init.node.type == "DepthToSpace";
  const bool blocks_first = mode == "blocks_first";
  if (!blocks_first && mode != "depth_first") return init.Error("unknown mode '" + mode + "'");
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  CopyOp op;
  Shape out;
  if (d2s) {
    if (C % (b * b) != 0) return init.Error("channels not divisible by block_size^2");
    const int64_t c = C / (b * b);
    out = {N, c, H * b, W * b};
    // Input viewed as [N, b1, b2, c, H, W] (blocks_first) or [N, c, b1, b2, H, W].
    int64_t sN = C * H * W, sH = W, sW = 1, sc, sb1, sb2;
    if (blocks_first) {
      sb1 = b * c * H * W;
      sb2 = c * H * W;
      sc = H * W;
    } else {
      sc = b * b * H * W;
      sb1 = b * H * W;
      sb2 = H * W;
    }
    op.dims = {N, c, H, b, W, b};
    op.src_strides = {sN, sc, sH, sb1, sW, sb2};
  } else {
    if (H % b != 0 || W % b != 0) return init.Error("spatial dims not divisible by block_size");
    const int64_t h = H / b, w = W / b;
    out = {N, C * b * b, h, w};
    // Output [N, b1, b2, C, h, w] (blocks_first) or [N, C, b1, b2, h, w], from input
    // x[n, c, hh*b + b1, ww*b + b2].
    const int64_t sN = C * H * W, sc = H * W;
    const int64_t sb1 = W, sb2 = 1, sh = b * W, sw = b;
    if (blocks_first) {
      op.dims = {N, b, b, C, h, w};
      op.src_strides = {sN, sb1, sb2, sc, sh, sw};
    } else {
      op.dims = {N, C, b, b, h, w};
      op.src_strides = {sN, sc, sb1, sb2, sh, sw};
    }
  }
  op.dst_strides = ContiguousStrides(op.dims);
  outs->push_back({x.type, out, nullptr});
  return MakeCopy(init, x.type, {op});
}

}  // namespace ptqflow::exec::kernels

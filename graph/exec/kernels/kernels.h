// Kernel factories, one per op family; the op type -> factory table is kernel_list.def.
#pragma once

#include "graph/exec/kernel.h"

namespace ptqflow::exec::kernels {

#define PTQ_DECLARE_FACTORY(name) \
  Result<std::unique_ptr<Kernel>> name(const KernelInit& init, std::vector<ValueInfo>* outputs);

// eltwise.cc
PTQ_DECLARE_FACTORY(MakeUnary)
PTQ_DECLARE_FACTORY(MakeBinary)
PTQ_DECLARE_FACTORY(MakeSelect)
PTQ_DECLARE_FACTORY(MakeConvert)
PTQ_DECLARE_FACTORY(MakeFakeQuantize)
PTQ_DECLARE_FACTORY(MakePRelu)
PTQ_DECLARE_FACTORY(MakeHardSigmoid)
PTQ_DECLARE_FACTORY(MakeSwish)
PTQ_DECLARE_FACTORY(MakeSelu)
// dnnl_ops.cc
PTQ_DECLARE_FACTORY(MakeConvolution)
PTQ_DECLARE_FACTORY(MakeDeconvolution)
PTQ_DECLARE_FACTORY(MakeMatMul)
// pool.cc
PTQ_DECLARE_FACTORY(MakePool)
// reduce.cc
PTQ_DECLARE_FACTORY(MakeReduce)
PTQ_DECLARE_FACTORY(MakeSoftmax)
PTQ_DECLARE_FACTORY(MakeMvn)
PTQ_DECLARE_FACTORY(MakeNormalizeL2)
PTQ_DECLARE_FACTORY(MakeBatchNorm)
// layout.cc
PTQ_DECLARE_FACTORY(MakeReshape)
PTQ_DECLARE_FACTORY(MakeTranspose)
PTQ_DECLARE_FACTORY(MakeConcat)
PTQ_DECLARE_FACTORY(MakeSplit)
PTQ_DECLARE_FACTORY(MakeStridedSlice)
PTQ_DECLARE_FACTORY(MakeSlice)
PTQ_DECLARE_FACTORY(MakeGather)
PTQ_DECLARE_FACTORY(MakeShapeOf)
PTQ_DECLARE_FACTORY(MakeBroadcast)
PTQ_DECLARE_FACTORY(MakeTile)
PTQ_DECLARE_FACTORY(MakePad)
PTQ_DECLARE_FACTORY(MakeRange)
PTQ_DECLARE_FACTORY(MakeDepthToSpace)
// lstm.cc
PTQ_DECLARE_FACTORY(MakeLstmSequence)
// interpolate.cc
PTQ_DECLARE_FACTORY(MakeInterpolate)

#undef PTQ_DECLARE_FACTORY

namespace internal {
// FakeQuantize runs contiguous spans with the widest vectors the CPU has (0: SSE4.1, 1: AVX2,
// 2: AVX-512; all bit-identical); tests select narrower ones with this (clamped to what the CPU
// has). Returns the previous choice. Not thread-safe with running kernels.
int UseFakeQuantizeKernels(int isa);
}  // namespace internal

}  // namespace ptqflow::exec::kernels

// compress_model_weights (pot-spec §8): every FakeQuantize on constant weights becomes int8
// data plus a float decompression chain, exactly as POT's saved IR (MO's
// CompressQuantizeWeights + ZeroPointOptimizer):
//
//   before:  Const w (f32) [-> Convert] -> FakeQuantize(levels, il, ih, ol, oh) -> op
//   after:   Const "<w>/quantized" (i8) -> Convert "<w>/quantized/to_f32" (destination f32)
//              [-> Subtract "<fq>/minus_zp" (Const "<fq>/zero_point")]
//              -> Multiply "<fq>/mulpiply_by_scale" (Const "<fq>/scale") -> op
//
//   q_min = -(levels // 2), q_max = levels + q_min - 1   (-127..127 for 255, -128..127 for 256)
//   q     = the FakeQuantize level index of w (round half to even, clamped) + q_min
//   scale = (oh - ol) / (q_max - q_min);  zp = q_min - ol / scale  (0 where scale == 0)
// The Subtract is dropped when every zp is ~0 (numpy allclose), or when an integral zp can be
// folded into the int8 data without overflow (ZeroPointOptimizer: round(zp) subtracted from the
// data, residual allclose to 0 with atol 1e-4); otherwise it stays. scale/zp constants have the
// shape of the FQ's output limits (at least rank 1). Applies to FQs with 2 < levels <= 256; the
// data is always i8 (POT packs levels <= 16 into i4; ptqflow keeps i8 — same values).
// Activation FakeQuantize layers are untouched. Constants and Converts left unused are removed.
//
// Thread-safety: edits the graph it is given.
#pragma once

#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::quant {

struct CompressWeightsStats {
  int compressed = 0;       // weight FQs replaced
  int with_zero_point = 0;  // of those, how many kept a Subtract
};

// Compresses every weights FakeQuantize of `g` and re-infers shapes. Errors name the FQ.
Result<CompressWeightsStats> CompressQuantizedWeights(graph::Graph* g);

}  // namespace ptqflow::quant

// ONNX QDQ export: writes the quantization decisions of a FakeQuantize graph back onto the
// ORIGINAL ONNX model it was imported from (io/onnx/onnx_importer.h), as ONNX Runtime's
// QuantizeLinear/DequantizeLinear ("QDQ") form.
//
//   activation FQ on ONNX tensor T (FQ input = the value whose OutputPort::onnx_tensor is T):
//
//       P ─► T ─► Conv              P ─► T ─► QuantizeLinear ─► DequantizeLinear ─► T_dq ─► Conv
//            └──► Other       ⇒          └──► Other                         (not quantized)
//
//     only the ONNX nodes of the FQ's consumers are rewired; levels < 256 put a Clip (per
//     tensor) or Max/Min (per channel) to [il, ih] in front of the QuantizeLinear.
//   weight FQ on a constant W (initializer, Constant node, or a value the importer folded):
//
//       W(f32) ─► Conv          ⇒    W_q(int8) ─► DequantizeLinear(scale, zp[, axis]) ─► Conv
//
//     the int8 values are the FQ's level indices computed from the graph's (possibly edited)
//     weights, exactly as FakeQuantize-1 rounds (pot-spec §1, §8): q = nearbyint((w - il) /
//     (ih - il) * (levels - 1)) + q_min, q_min = -(levels / 2); the DequantizeLinear scale and
//     zero point are the OUTPUT ones: scale = (oh - ol) / (levels - 1), zp = q_min - ol / scale.
//     With POT's saturation fix (weights halved, output range = 2 × input range) the int8 values
//     lie in ±64 and the scale is 2m/127. Per-channel FQs become per-axis DequantizeLinear;
//     MatMul/Gemm weights the importer's preparation transposed are mapped back to ONNX layout.
//
// FQ → (scale, zero point), activations: scale = (ih - il) / (levels - 1), zp = -il / scale.
//   * symmetric signed (il = -m·256/254, ih = m): zp = 128 → int8 with zero point 0, scale m/127;
//   * every other case (unsigned il = 0 → zp 0; asymmetric, zero on the grid by POT's
//     tune_range) → uint8 with that zero point.
//   A zero point that is not an integer (within 1e-3; e.g. Concat-unified ranges, which POT does
//   not re-tune) is rounded and reported in QdqExportSummary::notes. Activation FQs must have
//   ol == il and oh == ih (POT never makes others); levels > 256 (16/32-bit GNA configs) are
//   refused: ONNX has no int16 QuantizeLinear before opset 21.
//
// Constants edited by the algorithms (ActivationChannelAlignment, Fast/BiasCorrection, the
// saturation fix) are written back: every floating-point Const of the graph is traced to the
// ONNX tensor it came from — directly (OutputPort::onnx_tensor: an initializer, a Constant node
// output, or a tensor the importer folded to a constant) or through the importer's and
// placement's rewrites (Conv bias reshaped to [1,C,1,..], grouped-conv weights reshaped to 5-D
// and back, MatMul / Gemm(transB=0) weights transposed, zero biases placement inserted after
// bias-less convolutions) — and compared with the original value. A changed value is written
// into the initializer / Constant in place when nothing else reads it, else into a new
// initializer for the node that needs it; a non-zero inserted bias becomes the Conv's third
// input. A changed constant that cannot be traced is an error naming it: the writer never
// produces a silently different model. (Values the importer folded are compared against a fresh
// import of the original model with `import_options`.)
//
// Opset: per-axis QuantizeLinear/DequantizeLinear need opset 13. An older model is first
// converted with ONNX's own version converter (onnx/version_converter); if that fails the
// export fails naming the reason. IR version becomes >= 7.
//
// Nodes and initializers left without readers by the rewiring are removed (nothing else is).
// The result passes onnx::checker::check_model (run before writing unless disabled); the file
// is written atomically (io/atomic_file.h).
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "io/onnx/onnx_importer.h"
#include "quant/quantization_plan.h"

namespace ptqflow::io {

struct QdqWriterOptions {
  // The options the quantized graph was imported with (input shapes, frozen inputs). Used only
  // to re-import the original model when a constant the importer folded must be compared.
  OnnxImportOptions import_options;
  // Run onnx::checker::check_model on the result (default true; an error names the checker's
  // complaint).
  bool check_model = true;
};

// What the export did, for logs and reports.
struct QdqExportSummary {
  int activation_pairs = 0;     // QuantizeLinear → DequantizeLinear pairs
  int weight_dequantizers = 0;  // int8 initializer → DequantizeLinear
  int per_channel = 0;          // of the above, per-axis ones
  int clips = 0;                // Clip / Max+Min inserted for levels < 256
  int constants_written = 0;    // edited constants written back (in place or as new initializer)
  int biases_added = 0;         // non-zero inserted biases added as a Conv input
  int nodes_removed = 0;        // ONNX nodes left without readers
  int opset_before = 0;
  int opset_after = 0;
  std::vector<std::string> notes;  // rounded zero points and similar, one line each
};

// Builds the QDQ model in memory. `original` is the model `quantized` was imported from (before
// placement); `plan` describes the FakeQuantize nodes of `quantized` (filled limits).
Result<QdqExportSummary> BuildQdqModel(const onnx::ModelProto& original,
                                       const graph::Graph& quantized,
                                       const quant::QuantizationPlan& plan,
                                       const QdqWriterOptions& options, onnx::ModelProto* out);

// Reads `original_onnx`, builds the QDQ model and writes it atomically to `out`. Errors name the
// file, the FakeQuantize / layer (graph::Describe) or the ONNX tensor concerned.
Result<QdqExportSummary> WriteQdqOnnx(const std::filesystem::path& original_onnx,
                                      const graph::Graph& quantized,
                                      const quant::QuantizationPlan& plan,
                                      const std::filesystem::path& out,
                                      const QdqWriterOptions& options = {});

// Runs onnx::checker::check_model; the error carries the checker's message.
Status CheckOnnxModel(const onnx::ModelProto& model);

// ---- FakeQuantize → QDQ parameters (exposed for tests) ----

// The four limits of one FQ, broadcast to one value per channel (size 1 = per tensor).
struct FqLimits {
  std::vector<float> il, ih, ol, oh;
  int64_t levels = 0;
};

enum class QdqStorage { kUint8, kInt8 };

struct ActivationQdq {
  QdqStorage storage = QdqStorage::kUint8;
  std::vector<float> scale;         // per channel (size 1 = per tensor)
  std::vector<int32_t> zero_point;  // in the storage type's range
  bool clip = false;                // levels < 256: clip to [il, ih] before QuantizeLinear
  std::vector<std::string> notes;   // rounded zero points
};
// Error (naming `fq_name`) for levels outside [2, 256], ol != il / oh != ih, a non-positive or
// non-finite scale, or a range without zero that the storage type cannot hold.
Result<ActivationQdq> ActivationQdqFromFq(const FqLimits& fq, const std::string& fq_name);

struct WeightQdq {
  std::vector<float> scale;         // DequantizeLinear scale per channel (the OUTPUT scale)
  std::vector<int32_t> zero_point;  // int8 range
  int64_t q_min = 0;                // -(levels / 2): level index 0 is stored as q_min
  std::vector<std::string> notes;
};
// Error (naming `fq_name`) for levels outside [2, 256] or a degenerate output range.
Result<WeightQdq> WeightQdqFromFq(const FqLimits& fq, const std::string& fq_name);

// Level index of x, exactly as FakeQuantize-1 computes it in float32 (pot-spec §1):
// 0 if x <= min(il, ih), levels-1 if x > max(il, ih), else nearbyint((x-il)/(ih-il)*(levels-1)).
int64_t FqLevelIndex(float x, float il, float ih, int64_t levels);

// int8 values q = level index + q_min of `w` (shape `shape`, per-channel along `axis` when the
// limits have more than one channel, else per tensor).
std::vector<int8_t> QuantizeWeightsToInt8(std::span<const float> w, const graph::Shape& shape,
                                          int axis, const FqLimits& fq, int64_t q_min);

}  // namespace ptqflow::io

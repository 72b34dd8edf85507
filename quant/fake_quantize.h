// FakeQuantize parameter formulas exactly as POT computes them (pot-spec §1, §2), plus NNCF's
// variant (pot-spec §12, conformance/pot/nncf_fq_params) in clearly separate functions.
//
// Numerics (documented choice):
//  * Statistics arrive as float32 (POT's numpy statistics are float32; NNCF casts to float32).
//  * Symmetric ranges are computed in float32, one rounding per operation, in the same order as
//    POT's numpy code (`-m * levels / (levels - 2)`), so results equal POT bit for bit.
//  * Asymmetric ranges (zero-filter widening, clamp to contain 0, tune_range) are computed in
//    float64: POT's fix_zero_filters_asymmetric adds a Python list of corrections, which numpy
//    turns into float64. Results are rounded to float32 once at the end (the FQ constants are
//    f32 in the IR).
//  * Rounding is always half-to-even (std::nearbyint under FE_TONEAREST), never std::round.
//
// Per-channel versions take one value per channel (a vector); per-tensor ones a 1-element
// vector. Layout of the constants in the graph (shape [1,C,1,1] etc.) is the caller's business.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"

namespace ptqflow::quant {

enum class QuantMode { kSymmetric, kAsymmetric };
enum class Granularity { kPerTensor, kPerChannel };
// Whether an FQ quantizes a constant (weights) or a computed tensor (activations).
enum class TensorRole { kWeights, kActivations };

const char* QuantModeName(QuantMode m);      // "symmetric" / "asymmetric"
const char* GranularityName(Granularity g);  // "pertensor" / "perchannel"
Result<QuantMode> ParseQuantMode(const std::string& s);
Result<Granularity> ParseGranularity(const std::string& s);

// POT's compute_levels (§2.1). Levels may exceed 2^31 (GNA 32-bit: 2^32), hence int64.
struct LevelsInfo {
  int64_t level_low = 0;
  int64_t level_high = 0;
  int64_t levels = 0;      // |level_high| + |level_low| + 1
  bool is_signed = false;  // level_low was given explicitly and is < 0
};
// `bits` >= 2 (CHECK). Symmetric weights default to the narrow range [-2^(b-1)+1, 2^(b-1)-1].
LevelsInfo ComputeLevels(int bits, QuantMode mode, bool is_weights,
                         std::optional<int64_t> level_low, std::optional<int64_t> level_high);

// The four FakeQuantize limits, one value per channel (size 1 for per-tensor), and levels.
struct FqParams {
  std::vector<float> input_low, input_high, output_low, output_high;
  int64_t levels = 0;
};

// m = max(m, max(8e-5, 0.01 * max_over_channels(m))), elementwise, in float32.
std::vector<float> FixZeroFiltersSymmetric(std::span<const float> max_values);
// Widens every range narrower than 8e-4 by 8e-4 on each side (in place, float64).
void FixZeroFiltersAsymmetric(std::vector<double>* min_values, std::vector<double>* max_values);
// Nudges [a, b] (a <= 0 <= b) so float zero falls exactly on a level of 2^bits - 1 steps,
// only widening the range (§2.3). Returns (a', b').
std::pair<double, double> TuneRange(double a, double b, int bits);
// One zero point shared by all channels: q = round(mean(-a * L / (b - a))). In place.
void TuneRangeUnifyZp(std::vector<double>* a, std::vector<double>* b, int bits);

// --- POT (pot-spec §2) ---

// Weights, symmetric: il = ol = -m, ih = oh = m with m = FixZeroFiltersSymmetric(stat_max).
FqParams SymmetricWeightRange(std::span<const float> stat_max, int64_t levels);
// Activations, symmetric: m = FixZeroFiltersSymmetric(stat_max); unsigned (il = 0) iff every
// stat_min >= 0 and !is_signed, else il = -m * levels / (levels - 2). ih = m.
FqParams SymmetricActivationRange(std::span<const float> stat_min, std::span<const float> stat_max,
                                  int64_t levels, bool is_signed);
// Asymmetric (weights or activations): widen degenerate ranges, clamp to contain 0, then
// tune_range (or tune_range_unify_zp when `unify_zp`, which POT refuses for activations: an
// error naming `fq_name`). Sizes of stat_min and stat_max must match (CHECK).
Result<FqParams> AsymmetricRange(std::span<const float> stat_min, std::span<const float> stat_max,
                                 int bits, int64_t levels, bool is_weights, bool unify_zp,
                                 const std::string& fq_name);

// range_estimator clipping_value: clamps the computed range after the range computation
// (il = max(il, min_clip), ih = min(ih, max_clip)); outputs follow the inputs.
void ApplyClipping(FqParams* p, std::optional<float> min_clip, std::optional<float> max_clip);

// POT's saturation ("overflow") fix on a weight FQ (§2.4): il/ih stay as computed from the
// original weights, ol = factor * il, oh = factor * ih. The caller divides the weight constant
// by `factor` (2 in POT).
void ApplySaturationFix(FqParams* p, float factor = 2.0f);

// The FakeQuantize-1 element formula (§1) in float32:
//   x <= min(il, ih) -> ol ; x > max(il, ih) -> oh ;
//   else nearbyint((x - il) / (ih - il) * (levels-1)) / (levels-1) * (oh - ol) + ol.
float FakeQuantizeValue(float x, float il, float ih, float ol, float oh, int64_t levels);

// --- NNCF (nncf/quantization/fake_quantize.py, v2.7.0) ---

enum class QuantizerGroup { kWeights, kActivations };
struct NncfQuantizerConfig {
  int num_bits = 8;
  QuantMode mode = QuantMode::kSymmetric;
  std::optional<bool> signedness_to_force;  // None / True / False
  bool per_channel = false;
};
// NNCF's calculate_quantizer_parameters: stats cast to float32 first (they are float32 here);
// symmetric levels from the signed range [-2^(b-1), 2^(b-1)-1], narrowed by one at the bottom
// when narrow_range; asymmetric levels 2^b (2^b - 1 when narrow). Sign test for activations:
// unsigned iff all(min >= 0) and signedness_to_force is not true. half_range (symmetric
// weights only, else an error): compute with 7-bit levels (128), then multiply il/ih by
// (export_levels - 1) / 127. Outputs equal inputs.
Result<FqParams> NncfCalculateQuantizerParameters(std::span<const float> min_values,
                                                  std::span<const float> max_values,
                                                  const NncfQuantizerConfig& config,
                                                  QuantizerGroup group, bool narrow_range,
                                                  bool half_range);

}  // namespace ptqflow::quant

#include "quant/fake_quantize.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <cstdlib>
#include <tuple>

#include <glog/logging.h>

namespace ptqflow::quant {

namespace {

// Round half to even regardless of the caller's rounding mode (POT: np.round / nearbyint).
double RoundHalfEven(double v) {
  const int saved = std::fegetround();
  if (saved != FE_TONEAREST) std::fesetround(FE_TONEAREST);
  double r = std::nearbyint(v);
  if (saved != FE_TONEAREST) std::fesetround(saved);
  return r;
}
float RoundHalfEvenF(float v) {
  const int saved = std::fegetround();
  if (saved != FE_TONEAREST) std::fesetround(FE_TONEAREST);
  float r = std::nearbyint(v);
  if (saved != FE_TONEAREST) std::fesetround(saved);
  return r;
}

FqParams FromLowHigh(std::vector<float> low, std::vector<float> high, int64_t levels) {
  FqParams p;
  p.output_low = low;
  p.output_high = high;
  p.input_low = std::move(low);
  p.input_high = std::move(high);
  p.levels = levels;
  return p;
}

}  // namespace

const char* QuantModeName(QuantMode m) {
  return m == QuantMode::kSymmetric ? "symmetric" : "asymmetric";
}
const char* GranularityName(Granularity g) {
  return g == Granularity::kPerTensor ? "pertensor" : "perchannel";
}
Result<QuantMode> ParseQuantMode(const std::string& s) {
  if (s == "symmetric") return QuantMode::kSymmetric;
  if (s == "asymmetric") return QuantMode::kAsymmetric;
  return Status::Error("invalid quantization mode \"" + s +
                       "\" (expected \"symmetric\" or \"asymmetric\")");
}
Result<Granularity> ParseGranularity(const std::string& s) {
  if (s == "pertensor") return Granularity::kPerTensor;
  if (s == "perchannel") return Granularity::kPerChannel;
  return Status::Error("invalid granularity \"" + s +
                       "\" (expected \"pertensor\" or \"perchannel\")");
}

LevelsInfo ComputeLevels(int bits, QuantMode mode, bool is_weights,
                         std::optional<int64_t> level_low, std::optional<int64_t> level_high) {
  CHECK_GE(bits, 2);
  CHECK_LE(bits, 62);
  const int64_t def = int64_t{1} << bits;
  LevelsInfo info;
  if (level_low) {
    info.level_low = *level_low;
  } else if (is_weights && mode == QuantMode::kSymmetric) {
    info.level_low = -def / 2 + 1;
  } else {
    info.level_low = -def / 2;
  }
  info.level_high = level_high ? *level_high : def / 2 - 1;
  info.levels = std::llabs(info.level_high) + std::llabs(info.level_low) + 1;
  info.is_signed = level_low.has_value() && *level_low < 0;
  return info;
}

std::vector<float> FixZeroFiltersSymmetric(std::span<const float> max_values) {
  CHECK(!max_values.empty());
  float max_range = *std::max_element(max_values.begin(), max_values.end());
  // np.maximum(8e-5, eps * max_range): float32 product, compared with 8e-5 as float32.
  float threshold = std::max(static_cast<float>(8e-5), 0.01f * max_range);
  std::vector<float> out(max_values.size());
  for (size_t i = 0; i < max_values.size(); ++i) out[i] = std::max(threshold, max_values[i]);
  return out;
}

void FixZeroFiltersAsymmetric(std::vector<double>* min_values, std::vector<double>* max_values) {
  CHECK_EQ(min_values->size(), max_values->size());
  constexpr double kMinCorrection = 8e-4;
  for (size_t i = 0; i < min_values->size(); ++i) {
    double range = (*max_values)[i] - (*min_values)[i];
    // POT: (max(eps*r, r) - r) * 0.5 for r > 8e-4, which is 0 for eps = 1e-8.
    double c = range > kMinCorrection ? 0.0 : kMinCorrection;
    (*max_values)[i] += c;
    (*min_values)[i] -= c;
  }
}

std::pair<double, double> TuneRange(double a, double b, int bits) {
  const double level_high = std::ldexp(1.0, bits) - 1.0;
  const double s = level_high / (b - a);
  const double q = RoundHalfEven(-a * s);
  // Where the numpy code divides by zero, np.where discards that branch.
  const double ra = q < level_high ? q / (q - level_high) * b : a;
  const double rb = q > 0.0 ? (q - level_high) / q * a : b;
  const double range_a = b - ra;
  const double range_b = rb - a;
  if (range_a > range_b) return {ra, b};
  return {a, rb};
}

void TuneRangeUnifyZp(std::vector<double>* a, std::vector<double>* b, int bits) {
  CHECK_EQ(a->size(), b->size());
  CHECK(!a->empty());
  const double level_high = std::ldexp(1.0, bits) - 1.0;
  double sum = 0;
  for (size_t i = 0; i < a->size(); ++i) {
    double s = ((*b)[i] - (*a)[i]) / level_high;
    sum += -(*a)[i] / s;
  }
  const double q = RoundHalfEven(sum / static_cast<double>(a->size()));
  for (size_t i = 0; i < a->size(); ++i) {
    double& lo = (*a)[i];
    double& hi = (*b)[i];
    const double ra = q < level_high ? q / (q - level_high) * hi : lo;
    const double rb = q > 0.0 ? (q - level_high) / q * lo : hi;
    // Keep the candidate that widens the range (same rule as tune_range, per channel).
    if (hi - ra > rb - lo) {
      lo = ra;
    } else {
      hi = rb;
    }
  }
}

FqParams SymmetricWeightRange(std::span<const float> stat_max, int64_t levels) {
  std::vector<float> high = FixZeroFiltersSymmetric(stat_max);
  std::vector<float> low(high.size());
  for (size_t i = 0; i < high.size(); ++i) low[i] = -high[i];
  return FromLowHigh(std::move(low), std::move(high), levels);
}

FqParams SymmetricActivationRange(std::span<const float> stat_min, std::span<const float> stat_max,
                                  int64_t levels, bool is_signed) {
  CHECK_GT(levels, 2);
  std::vector<float> high = FixZeroFiltersSymmetric(stat_max);
  bool all_nonneg = std::all_of(stat_min.begin(), stat_min.end(), [](float v) { return v >= 0; });
  std::vector<float> low(high.size(), 0.0f);
  if (!(all_nonneg && !is_signed)) {
    // numpy float32: (-m * levels) / (levels - 2), each step rounded to float32.
    const float lv = static_cast<float>(levels);
    const float lv2 = static_cast<float>(levels - 2);
    for (size_t i = 0; i < high.size(); ++i) low[i] = (-high[i] * lv) / lv2;
  }
  return FromLowHigh(std::move(low), std::move(high), levels);
}

Result<FqParams> AsymmetricRange(std::span<const float> stat_min, std::span<const float> stat_max,
                                 int bits, int64_t levels, bool is_weights, bool unify_zp,
                                 const std::string& fq_name) {
  CHECK_EQ(stat_min.size(), stat_max.size());
  CHECK(!stat_min.empty());
  if (unify_zp && !is_weights) {
    return Status::Error("FakeQuantize '" + fq_name +
                         "': unified zero point is supported for weights only, not activations");
  }
  std::vector<double> lo(stat_min.begin(), stat_min.end());
  std::vector<double> hi(stat_max.begin(), stat_max.end());
  FixZeroFiltersAsymmetric(&lo, &hi);
  for (size_t i = 0; i < lo.size(); ++i) {
    lo[i] = lo[i] < 0.0 ? lo[i] : 0.0;
    hi[i] = hi[i] > 0.0 ? hi[i] : 0.0;
  }
  if (unify_zp) {
    TuneRangeUnifyZp(&lo, &hi, bits);
  } else {
    for (size_t i = 0; i < lo.size(); ++i) std::tie(lo[i], hi[i]) = TuneRange(lo[i], hi[i], bits);
  }
  std::vector<float> low(lo.size()), high(hi.size());
  for (size_t i = 0; i < lo.size(); ++i) {
    low[i] = static_cast<float>(lo[i]);
    high[i] = static_cast<float>(hi[i]);
  }
  return FromLowHigh(std::move(low), std::move(high), levels);
}

void ApplyClipping(FqParams* p, std::optional<float> min_clip, std::optional<float> max_clip) {
  if (min_clip) {
    for (size_t i = 0; i < p->input_low.size(); ++i) {
      p->input_low[i] = std::max(p->input_low[i], *min_clip);
      p->output_low[i] = p->input_low[i];
    }
  }
  if (max_clip) {
    for (size_t i = 0; i < p->input_high.size(); ++i) {
      p->input_high[i] = std::min(p->input_high[i], *max_clip);
      p->output_high[i] = p->input_high[i];
    }
  }
}

void ApplySaturationFix(FqParams* p, float factor) {
  for (size_t i = 0; i < p->input_low.size(); ++i) p->output_low[i] = factor * p->input_low[i];
  for (size_t i = 0; i < p->input_high.size(); ++i) p->output_high[i] = factor * p->input_high[i];
}

float FakeQuantizeValue(float x, float il, float ih, float ol, float oh, int64_t levels) {
  if (x <= std::min(il, ih)) return ol;
  if (x > std::max(il, ih)) return oh;
  const float steps = static_cast<float>(levels - 1);
  return RoundHalfEvenF((x - il) / (ih - il) * steps) / steps * (oh - ol) + ol;
}

Result<FqParams> NncfCalculateQuantizerParameters(std::span<const float> min_values,
                                                  std::span<const float> max_values,
                                                  const NncfQuantizerConfig& config,
                                                  QuantizerGroup group, bool narrow_range,
                                                  bool half_range) {
  CHECK_EQ(min_values.size(), max_values.size());
  const int bits = config.num_bits;
  auto symmetric_levels = [](int b, bool narrow) {
    int64_t low = -(int64_t{1} << (b - 1)) + (narrow ? 1 : 0);
    int64_t high = (int64_t{1} << (b - 1)) - 1;
    return high - low + 1;
  };
  // NNCF's symmetric_range: weights -> [-m, m]; activations -> sign test on min.
  auto symmetric = [&](int64_t levels) {
    std::vector<float> high = FixZeroFiltersSymmetric(max_values);
    std::vector<float> low(high.size());
    bool unsigned_range =
        group == QuantizerGroup::kActivations &&
        std::all_of(min_values.begin(), min_values.end(), [](float v) { return v >= 0; }) &&
        !config.signedness_to_force.value_or(false);
    const float lv = static_cast<float>(levels);
    const float lv2 = static_cast<float>(levels - 2);
    for (size_t i = 0; i < high.size(); ++i) {
      if (group == QuantizerGroup::kWeights) {
        low[i] = -high[i];
      } else {
        low[i] = unsigned_range ? 0.0f : (-high[i] * lv) / lv2;
      }
    }
    return FromLowHigh(std::move(low), std::move(high), levels);
  };

  if (half_range) {
    if (config.mode != QuantMode::kSymmetric) {
      return Status::Error(
          "NNCF quantizer parameters: half_range is only applied to symmetric "
          "quantization mode");
    }
    if (group != QuantizerGroup::kWeights) {
      return Status::Error(
          "NNCF quantizer parameters: half_range is only applied to weight "
          "quantizers");
    }
    const int64_t levels = symmetric_levels(bits - 1, false);
    FqParams p = symmetric(levels);
    const int64_t export_levels = symmetric_levels(bits, narrow_range);
    // numpy: float32 array *= python float (value-based casting: the scalar becomes float32).
    const float scale = static_cast<float>(static_cast<double>(export_levels - 1) /
                                           static_cast<double>(levels - 1));
    for (auto* v : {&p.input_low, &p.input_high}) {
      for (float& x : *v) x *= scale;
    }
    p.output_low = p.input_low;
    p.output_high = p.input_high;
    p.levels = export_levels;
    return p;
  }
  if (config.mode == QuantMode::kSymmetric) {
    return symmetric(symmetric_levels(bits, narrow_range));
  }
  const int64_t levels = (int64_t{1} << bits) - (narrow_range ? 1 : 0);
  return AsymmetricRange(min_values, max_values, bits, levels, /*is_weights=*/true,
                         /*unify_zp=*/false, "");
}

}  // namespace ptqflow::quant

#include "quant/fake_quantize.h"

#include <cfenv>

#include <gtest/gtest.h>

namespace ptqflow::quant {
namespace {

TEST(FakeQuantizeTest, LevelsFollowPotComputeLevels) {
  // Symmetric weights default to the narrow range -127..127: 255 levels.
  LevelsInfo w = ComputeLevels(8, QuantMode::kSymmetric, true, std::nullopt, std::nullopt);
  EXPECT_EQ(w.levels, 255);
  EXPECT_EQ(w.level_low, -127);
  EXPECT_FALSE(w.is_signed);  // level_low not given explicitly
  EXPECT_EQ(ComputeLevels(8, QuantMode::kAsymmetric, true, {}, {}).levels, 256);
  EXPECT_EQ(ComputeLevels(8, QuantMode::kSymmetric, false, {}, {}).levels, 256);
  EXPECT_EQ(ComputeLevels(4, QuantMode::kSymmetric, true, {}, {}).levels, 15);
  LevelsInfo h = ComputeLevels(8, QuantMode::kSymmetric, true, -127, 127);
  EXPECT_EQ(h.levels, 255);
  EXPECT_TRUE(h.is_signed);
  // GNA 32-bit activations: 2^32 levels.
  EXPECT_EQ(ComputeLevels(32, QuantMode::kSymmetric, false, -2147483648LL, 2147483647LL).levels,
            4294967296LL);
  EXPECT_EQ(ComputeLevels(16, QuantMode::kSymmetric, true, -32767, 32767).levels, 65535);
}

TEST(FakeQuantizeTest, ElementFormulaRoundsHalfToEven) {
  // il=0, ih=1, 3 levels: x*2 is exact, so ties are real ties.
  EXPECT_EQ(FakeQuantizeValue(0.25f, 0, 1, 0, 1, 3), 0.0f);  // 0.5 -> 0
  EXPECT_EQ(FakeQuantizeValue(0.75f, 0, 1, 0, 1, 3), 1.0f);  // 1.5 -> 2 -> 1.0
  EXPECT_EQ(FakeQuantizeValue(0.5f, 0, 1, 0, 1, 3), 0.5f);
  // 5 levels on [0, 4]: 2.5 -> 2, 3.5 -> 4, 0.5 -> 0.
  EXPECT_EQ(FakeQuantizeValue(2.5f, 0, 4, 0, 4, 5), 2.0f);
  EXPECT_EQ(FakeQuantizeValue(3.5f, 0, 4, 0, 4, 5), 4.0f);
  EXPECT_EQ(FakeQuantizeValue(0.5f, 0, 4, 0, 4, 5), 0.0f);
}

TEST(FakeQuantizeTest, ElementFormulaIgnoresCallerRoundingMode) {
  std::fesetround(FE_UPWARD);
  float v = FakeQuantizeValue(2.5f, 0, 4, 0, 4, 5);
  std::fesetround(FE_TONEAREST);
  EXPECT_EQ(v, 2.0f);
}

TEST(FakeQuantizeTest, ElementFormulaBoundaries) {
  // x == il maps to ol (x <= min); x == ih goes through the formula and gives oh.
  EXPECT_EQ(FakeQuantizeValue(-1.0f, -1, 1, -10, 10, 3), -10.0f);
  EXPECT_EQ(FakeQuantizeValue(1.0f, -1, 1, -10, 10, 3), 10.0f);
  EXPECT_EQ(FakeQuantizeValue(5.0f, -1, 1, -10, 10, 3), 10.0f);
  EXPECT_EQ(FakeQuantizeValue(-5.0f, -1, 1, -10, 10, 3), -10.0f);
  // Output range differs from the input range: level 1 of 3 on [-10, 10] is 0.
  EXPECT_EQ(FakeQuantizeValue(0.2f, -1, 1, -10, 10, 3), 0.0f);
}

TEST(FakeQuantizeTest, FixZeroFiltersSymmetric) {
  std::vector<float> m = {0.0f, 10.0f, 0.05f};
  auto f = FixZeroFiltersSymmetric(m);
  EXPECT_FLOAT_EQ(f[0], 0.1f);  // 1% of the max channel
  EXPECT_FLOAT_EQ(f[1], 10.0f);
  EXPECT_FLOAT_EQ(f[2], 0.1f);
  std::vector<float> zeros = {0.0f, 0.0f};
  auto z = FixZeroFiltersSymmetric(zeros);
  EXPECT_FLOAT_EQ(z[0], 8e-5f);
  EXPECT_FLOAT_EQ(z[1], 8e-5f);
}

TEST(FakeQuantizeTest, FixZeroFiltersAsymmetric) {
  std::vector<double> lo = {1.0, -3.0}, hi = {1.0, 2.0};
  FixZeroFiltersAsymmetric(&lo, &hi);
  EXPECT_DOUBLE_EQ(lo[0], 1.0 - 8e-4);
  EXPECT_DOUBLE_EQ(hi[0], 1.0 + 8e-4);
  EXPECT_DOUBLE_EQ(lo[1], -3.0);  // wide enough: unchanged
  EXPECT_DOUBLE_EQ(hi[1], 2.0);
}

TEST(FakeQuantizeTest, SymmetricWeightsUseMinusMToM) {
  std::vector<float> m = {2.0f, 0.0f};
  FqParams p = SymmetricWeightRange(m, 255);
  EXPECT_EQ(p.levels, 255);
  EXPECT_FLOAT_EQ(p.input_low[0], -2.0f);
  EXPECT_FLOAT_EQ(p.input_high[0], 2.0f);
  EXPECT_FLOAT_EQ(p.input_low[1], -0.02f);  // zero filter fixed to 1% of 2
  EXPECT_FLOAT_EQ(p.output_high[1], 0.02f);
}

TEST(FakeQuantizeTest, SymmetricActivationsSignFromStatistics) {
  std::vector<float> max = {127.0f};
  std::vector<float> neg_min = {-1.0f}, pos_min = {0.0f};
  // Signed: il = -m * 256 / 254 = -128 for m = 127; zero falls on level 128.
  FqParams s = SymmetricActivationRange(neg_min, max, 256, false);
  EXPECT_EQ(s.input_low[0], -128.0f);
  EXPECT_EQ(s.input_high[0], 127.0f);
  EXPECT_EQ(s.output_low[0], -128.0f);
  // Unsigned: min >= 0 everywhere.
  FqParams u = SymmetricActivationRange(pos_min, max, 256, false);
  EXPECT_EQ(u.input_low[0], 0.0f);
  EXPECT_EQ(u.input_high[0], 127.0f);
  // Forced signed by the config (level_low < 0 given).
  FqParams f = SymmetricActivationRange(pos_min, max, 256, true);
  EXPECT_EQ(f.input_low[0], -128.0f);
}

TEST(FakeQuantizeTest, TuneRangeWorkedExamples) {
  // a=-1, b=3, 2 bits: L=3, q=round(0.75)=1; ra=-1.5 (range 4.5) beats rb=2 (range 3).
  auto [a1, b1] = TuneRange(-1.0, 3.0, 2);
  EXPECT_DOUBLE_EQ(a1, -1.5);
  EXPECT_DOUBLE_EQ(b1, 3.0);
  // a=-5, b=1, 2 bits: -a*L/(b-a) = 2.5 rounds to 2 (half to even, std::round would give 3).
  // ra = 2/(2-3)*1 = -2 (range 3); rb = (2-3)/2*(-5) = 2.5 (range 7.5) -> (-5, 2.5).
  auto [a2, b2] = TuneRange(-5.0, 1.0, 2);
  EXPECT_DOUBLE_EQ(a2, -5.0);
  EXPECT_DOUBLE_EQ(b2, 2.5);
  // Already aligned: a=-1, b=2, 8 bits: q=85 exactly; unchanged.
  auto [a3, b3] = TuneRange(-1.0, 2.0, 8);
  EXPECT_DOUBLE_EQ(a3, -1.0);
  EXPECT_DOUBLE_EQ(b3, 2.0);
  // q == 0 with a == 0: unchanged.
  auto [a4, b4] = TuneRange(0.0, 2.0, 8);
  EXPECT_DOUBLE_EQ(a4, 0.0);
  EXPECT_DOUBLE_EQ(b4, 2.0);
}

TEST(FakeQuantizeTest, AsymmetricRangeContainsZeroAndIsTuned) {
  std::vector<float> mn = {0.5f, -5.0f}, mx = {2.0f, 1.0f};
  auto r = AsymmetricRange(mn, mx, 2, 4, true, false, "fq");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FLOAT_EQ(r->input_low[0], 0.0f);  // clamped to contain 0
  EXPECT_FLOAT_EQ(r->input_high[0], 2.0f);
  EXPECT_FLOAT_EQ(r->input_low[1], -5.0f);  // tuned as in the worked example
  EXPECT_FLOAT_EQ(r->input_high[1], 2.5f);
  EXPECT_EQ(r->levels, 4);
  EXPECT_EQ(r->output_high, r->input_high);
}

TEST(FakeQuantizeTest, UnifiedZeroPointRefusedForActivations) {
  std::vector<float> mn = {-1.0f}, mx = {1.0f};
  auto r = AsymmetricRange(mn, mx, 8, 256, false, true, "conv/fq_input_0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("conv/fq_input_0"), std::string::npos);
}

TEST(FakeQuantizeTest, UnifiedZeroPointSharesOneLevel) {
  // Channel ranges [-1, 3] and [-1, 1] with 2 bits: zero points 0.75 and 1.5, mean 1.125 -> 1.
  std::vector<double> a = {-1.0, -1.0}, b = {3.0, 1.0};
  TuneRangeUnifyZp(&a, &b, 2);
  // Channel 0 as TuneRange(-1, 3): (-1.5, 3). Channel 1 with q=1: ra = 1/(1-3)*1 = -0.5
  // (range 1.5), rb = (1-3)/1*(-1) = 2 (range 3) -> (-1, 2).
  EXPECT_DOUBLE_EQ(a[0], -1.5);
  EXPECT_DOUBLE_EQ(b[0], 3.0);
  EXPECT_DOUBLE_EQ(a[1], -1.0);
  EXPECT_DOUBLE_EQ(b[1], 2.0);
}

TEST(FakeQuantizeTest, SaturationFixDoublesOutputRange) {
  std::vector<float> m = {1.5f};
  FqParams p = SymmetricWeightRange(m, 255);
  ApplySaturationFix(&p);
  EXPECT_FLOAT_EQ(p.input_low[0], -1.5f);
  EXPECT_FLOAT_EQ(p.input_high[0], 1.5f);
  EXPECT_FLOAT_EQ(p.output_low[0], -3.0f);
  EXPECT_FLOAT_EQ(p.output_high[0], 3.0f);
}

TEST(FakeQuantizeTest, ClippingClampsComputedRange) {
  std::vector<float> mn = {-10.0f}, mx = {10.0f};
  FqParams p = SymmetricActivationRange(mn, mx, 256, false);
  ApplyClipping(&p, -6.0f, 6.0f);
  EXPECT_FLOAT_EQ(p.input_low[0], -6.0f);
  EXPECT_FLOAT_EQ(p.input_high[0], 6.0f);
  EXPECT_FLOAT_EQ(p.output_low[0], -6.0f);
}

TEST(FakeQuantizeTest, NncfHalfRangeOnlyForSymmetricWeights) {
  std::vector<float> mn = {0.0f}, mx = {1.0f};
  NncfQuantizerConfig cfg;
  cfg.mode = QuantMode::kAsymmetric;
  EXPECT_FALSE(
      NncfCalculateQuantizerParameters(mn, mx, cfg, QuantizerGroup::kWeights, false, true).ok());
  cfg.mode = QuantMode::kSymmetric;
  EXPECT_FALSE(
      NncfCalculateQuantizerParameters(mn, mx, cfg, QuantizerGroup::kActivations, false, true)
          .ok());
  // Half range, narrow: 7-bit range +-1 scaled by 254/127 = 2.
  auto r = NncfCalculateQuantizerParameters(mn, mx, cfg, QuantizerGroup::kWeights, true, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->levels, 255);
  EXPECT_FLOAT_EQ(r->input_high[0], 2.0f);
  EXPECT_FLOAT_EQ(r->input_low[0], -2.0f);
}

TEST(FakeQuantizeTest, NncfSignednessToForce) {
  std::vector<float> mn = {0.0f}, mx = {127.0f};
  NncfQuantizerConfig cfg;
  cfg.signedness_to_force = true;
  auto r =
      NncfCalculateQuantizerParameters(mn, mx, cfg, QuantizerGroup::kActivations, false, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->input_low[0], -128.0f);
  cfg.signedness_to_force = false;
  auto u =
      NncfCalculateQuantizerParameters(mn, mx, cfg, QuantizerGroup::kActivations, false, false);
  EXPECT_EQ(u->input_low[0], 0.0f);
}

}  // namespace
}  // namespace ptqflow::quant

// Each kernel against a plain reference loop written here (double precision), on seeded random
// data including odd shapes, broadcasting, padding, strides, dilation, groups and ceil rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "graph/exec/kernels/kernels.h"

#include "tests/graph/exec/exec_test_util.h"

namespace ptqflow::exec::testing {
namespace {

using graph::Attributes;
using graph::ElementType;
using graph::Shape;
using graph::Tensor;

// Conv/MatMul accumulate in float32 in an order of oneDNN's choosing; with K <= ~300 products
// of values in [-1, 1], the accumulated rounding error is below K * 2^-24 * sum|x*w| ~ 3e-5 of
// the output scale in the worst case and ~1e-6 typically; 3e-5 * max|ref| is that bound.
constexpr double kAccumTol = 3e-5;

// ---------------------------------------------------------------- Convolution

struct ConvCase {
  Shape x;     // N, C, H, W
  int64_t oc;  // total output channels
  int64_t groups;
  std::vector<int64_t> k, s, d, pb, pe;
};

std::vector<double> RefConv(const std::vector<float>& x, const std::vector<float>& w,
                            const ConvCase& c, Shape* out) {
  const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3];
  const int64_t G = c.groups, icg = C / G, ocg = c.oc / G;
  const int64_t OH = (H + c.pb[0] + c.pe[0] - c.d[0] * (c.k[0] - 1) - 1) / c.s[0] + 1;
  const int64_t OW = (W + c.pb[1] + c.pe[1] - c.d[1] * (c.k[1] - 1) - 1) / c.s[1] + 1;
  *out = {N, c.oc, OH, OW};
  std::vector<double> y(N * c.oc * OH * OW, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g)
      for (int64_t o = 0; o < ocg; ++o)
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox) {
            double acc = 0;
            for (int64_t i = 0; i < icg; ++i)
              for (int64_t ky = 0; ky < c.k[0]; ++ky)
                for (int64_t kx = 0; kx < c.k[1]; ++kx) {
                  int64_t iy = oy * c.s[0] - c.pb[0] + ky * c.d[0];
                  int64_t ix = ox * c.s[1] - c.pb[1] + kx * c.d[1];
                  if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                  double xv = x[((n * C + g * icg + i) * H + iy) * W + ix];
                  double wv = w[(((g * ocg + o) * icg + i) * c.k[0] + ky) * c.k[1] + kx];
                  acc += xv * wv;
                }
            y[((n * c.oc + g * ocg + o) * OH + oy) * OW + ox] = acc;
          }
  return y;
}

void CheckConv(const ConvCase& c, bool const_weights, const std::string& layout) {
  SCOPED_TRACE("layout " + layout + (const_weights ? " const" : " param"));
  const int64_t icg = c.x[1] / c.groups, ocg = c.oc / c.groups;
  Shape ws =
      c.groups == 1 ? Shape{c.oc, icg, c.k[0], c.k[1]} : Shape{c.groups, ocg, icg, c.k[0], c.k[1]};
  auto x = RandomFloats(graph::ElementCount(c.x), 1);
  auto w = RandomFloats(graph::ElementCount(ws), 2);
  Attributes a;
  a.SetInts("strides", c.s);
  a.SetInts("dilations", c.d);
  a.SetInts("pads_begin", c.pb);
  a.SetInts("pads_end", c.pe);
  a.Set("auto_pad", "explicit");
  OneOp op = BuildOneOp(c.groups == 1 ? "Convolution" : "GroupConvolution",
                        {{F32(c.x, x)}, {F32(ws, w), const_weights}}, a);
  std::map<std::string, Tensor> out;
  CompileOptions opts;
  opts.conv_layout = layout;
  ASSERT_TRUE(RunOneOp(op, &out, opts).ok());
  Shape os;
  std::vector<double> ref = RefConv(x, w, c, &os);
  ASSERT_EQ(out["out0"].shape(), os);
  ExpectClose(out["out0"], ref, kAccumTol);
}

TEST(ConvolutionKernelTest, MatchesReferenceWithPaddingStridesDilation) {
  std::vector<ConvCase> cases = {
      {{1, 3, 11, 13}, 5, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
      {{2, 4, 9, 7}, 6, 1, {3, 2}, {2, 1}, {1, 2}, {0, 1}, {2, 0}},
      {{1, 16, 8, 8}, 32, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}},
      {{1, 8, 10, 10}, 8, 8, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},  // depthwise
      {{1, 6, 7, 9}, 9, 3, {3, 3}, {1, 2}, {2, 1}, {2, 1}, {1, 2}},    // grouped
      {{1, 32, 12, 12}, 32, 32, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}},
  };
  for (const auto& c : cases) {
    for (const char* layout : {"auto", "plain", "blocked"}) CheckConv(c, true, layout);
    CheckConv(c, false, "plain");
  }
}

TEST(ConvolutionKernelTest, SameUpperAutoPadKeepsSpatialSize) {
  auto x = RandomFloats(1 * 2 * 5 * 6, 3);
  auto w = RandomFloats(3 * 2 * 3 * 3, 4);
  Attributes a;
  a.SetInts("strides", {1, 1});
  a.SetInts("dilations", {1, 1});
  a.SetInts("pads_begin", {0, 0});
  a.SetInts("pads_end", {0, 0});
  a.Set("auto_pad", "same_upper");
  OneOp op = BuildOneOp("Convolution", {{F32({1, 2, 5, 6}, x)}, {F32({3, 2, 3, 3}, w), true}}, a);
  std::map<std::string, Tensor> out;
  ASSERT_TRUE(RunOneOp(op, &out).ok());
  Shape os;
  ConvCase c{{1, 2, 5, 6}, 3, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}};
  ExpectClose(out["out0"], RefConv(x, w, c, &os), kAccumTol);
  EXPECT_EQ(out["out0"].shape(), (Shape{1, 3, 5, 6}));
}

// ---------------------------------------------------------------- ConvolutionBackpropData

TEST(DeconvolutionKernelTest, MatchesScatterReference) {
  struct Case {
    Shape x;
    int64_t oc, groups;
    std::vector<int64_t> k, s, d, pb, pe, op;
  };
  std::vector<Case> cases = {
      {{1, 4, 5, 6}, 3, 1, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
      {{2, 3, 4, 5}, 2, 1, {3, 3}, {2, 1}, {1, 1}, {1, 0}, {1, 1}, {1, 0}},
      {{1, 4, 5, 5}, 6, 2, {3, 2}, {1, 2}, {2, 1}, {0, 1}, {1, 0}, {0, 0}},
  };
  for (const Case& c : cases) {
    const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3], G = c.groups;
    const int64_t icg = C / G, ocg = c.oc / G;
    Shape ws = G == 1 ? Shape{C, c.oc, c.k[0], c.k[1]} : Shape{G, icg, ocg, c.k[0], c.k[1]};
    auto x = RandomFloats(graph::ElementCount(c.x), 5);
    auto w = RandomFloats(graph::ElementCount(ws), 6);
    const int64_t OH = c.s[0] * (H - 1) + c.d[0] * (c.k[0] - 1) + 1 - c.pb[0] - c.pe[0] + c.op[0];
    const int64_t OW = c.s[1] * (W - 1) + c.d[1] * (c.k[1] - 1) + 1 - c.pb[1] - c.pe[1] + c.op[1];
    std::vector<double> ref(N * c.oc * OH * OW, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t i = 0; i < icg; ++i)
          for (int64_t iy = 0; iy < H; ++iy)
            for (int64_t ix = 0; ix < W; ++ix)
              for (int64_t o = 0; o < ocg; ++o)
                for (int64_t ky = 0; ky < c.k[0]; ++ky)
                  for (int64_t kx = 0; kx < c.k[1]; ++kx) {
                    int64_t oy = iy * c.s[0] + ky * c.d[0] - c.pb[0];
                    int64_t ox = ix * c.s[1] + kx * c.d[1] - c.pb[1];
                    if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                    double xv = x[((n * C + g * icg + i) * H + iy) * W + ix];
                    double wv = w[(((g * icg + i) * ocg + o) * c.k[0] + ky) * c.k[1] + kx];
                    ref[((n * c.oc + g * ocg + o) * OH + oy) * OW + ox] += xv * wv;
                  }
    Attributes a;
    a.SetInts("strides", c.s);
    a.SetInts("dilations", c.d);
    a.SetInts("pads_begin", c.pb);
    a.SetInts("pads_end", c.pe);
    a.SetInts("output_padding", c.op);
    OneOp op = BuildOneOp(G == 1 ? "ConvolutionBackpropData" : "GroupConvolutionBackpropData",
                          {{F32(c.x, x)}, {F32(ws, w), true}}, a);
    std::map<std::string, Tensor> out;
    Status st = RunOneOp(op, &out);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(out["out0"].shape(), (Shape{N, c.oc, OH, OW}));
    ExpectClose(out["out0"], ref, kAccumTol);
  }
}

// ---------------------------------------------------------------- MatMul

TEST(MatMulKernelTest, TransposesBatchesAndBroadcasts) {
  struct Case {
    Shape a, b;
    bool ta, tb, const_b;
  };
  std::vector<Case> cases = {
      {{5, 7}, {7, 3}, false, false, true},
      {{2, 5, 7}, {3, 7}, false, true, true},
      {{2, 1, 7, 5}, {3, 7, 4}, true, false, false},
      {{4, 6, 8}, {4, 8, 6}, false, false, false},
      {{7}, {7, 3}, false, false, true},
      {{2, 5, 7}, {7}, false, false, false},
  };
  for (const Case& c : cases) {
    auto av = RandomFloats(graph::ElementCount(c.a), 7);
    auto bv = RandomFloats(graph::ElementCount(c.b), 8);
    // Reference: make both at least 2-D, align ranks, broadcast batches.
    Shape as = c.a, bs = c.b;
    bool a1 = as.size() == 1, b1 = bs.size() == 1;
    if (a1) as = {1, as[0]};
    if (b1) bs = {bs[0], 1};
    size_t r = std::max(as.size(), bs.size());
    while (as.size() < r) as.insert(as.begin(), 1);
    while (bs.size() < r) bs.insert(bs.begin(), 1);
    int64_t M = c.ta ? as[r - 1] : as[r - 2], K = c.ta ? as[r - 2] : as[r - 1];
    int64_t Nn = c.tb ? bs[r - 2] : bs[r - 1];
    Shape batch;
    for (size_t i = 0; i + 2 < r; ++i) batch.push_back(std::max(as[i], bs[i]));
    int64_t nb = graph::ElementCount(batch);
    std::vector<double> ref;
    for (int64_t bi = 0; bi < nb; ++bi) {
      int64_t rem = bi, aoff = 0, boff = 0, astr = as[r - 1] * as[r - 2],
              bstr = bs[r - 1] * bs[r - 2];
      std::vector<int64_t> idx(batch.size());
      for (int k = static_cast<int>(batch.size()) - 1; k >= 0; --k) {
        idx[k] = rem % batch[k];
        rem /= batch[k];
      }
      int64_t am = 1, bm = 1;
      for (int k = static_cast<int>(batch.size()) - 1; k >= 0; --k) {
        aoff += (as[k] == 1 ? 0 : idx[k]) * am * astr;
        boff += (bs[k] == 1 ? 0 : idx[k]) * bm * bstr;
        am *= as[k];
        bm *= bs[k];
      }
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < Nn; ++j) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) {
            double x = c.ta ? av[aoff + k * M + i] : av[aoff + i * K + k];
            double y = c.tb ? bv[boff + j * K + k] : bv[boff + k * Nn + j];
            acc += x * y;
          }
          ref.push_back(acc);
        }
    }
    Attributes at;
    at.SetBool("transpose_a", c.ta);
    at.SetBool("transpose_b", c.tb);
    OneOp op = BuildOneOp("MatMul", {{F32(c.a, av)}, {F32(c.b, bv), c.const_b}}, at);
    std::map<std::string, Tensor> out;
    Status st = RunOneOp(op, &out);
    ASSERT_TRUE(st.ok()) << st.message();
    Shape want = batch;
    if (!a1) want.push_back(M);
    if (!b1) want.push_back(Nn);
    EXPECT_EQ(out["out0"].shape(), want);
    ExpectClose(out["out0"], ref, kAccumTol);
  }
}

// ---------------------------------------------------------------- Elementwise

TEST(BinaryKernelTest, NumpyBroadcastingAllPatterns) {
  struct Case {
    Shape a, b;
  };
  std::vector<Case> cases = {{{2, 3, 4, 5}, {2, 3, 4, 5}},
                             {{2, 3, 4, 5}, {1, 3, 1, 1}},
                             {{2, 3, 4, 5}, {5}},
                             {{3, 1, 5}, {1, 4, 1}},
                             {{}, {2, 3}},
                             {{1, 7, 1}, {2, 1, 3}}};
  for (const Case& c : cases) {
    auto av = RandomFloats(graph::ElementCount(c.a), 9, 0.5f, 2.f);
    auto bv = RandomFloats(graph::ElementCount(c.b), 10, 0.5f, 2.f);
    Shape out;
    size_t r = std::max(c.a.size(), c.b.size());
    Shape a = c.a, b = c.b;
    while (a.size() < r) a.insert(a.begin(), 1);
    while (b.size() < r) b.insert(b.begin(), 1);
    for (size_t i = 0; i < r; ++i) out.push_back(std::max(a[i], b[i]));
    auto at = [](const std::vector<float>& v, const Shape& s, const std::vector<int64_t>& idx) {
      int64_t off = 0;
      for (size_t i = 0; i < s.size(); ++i) off = off * s[i] + (s[i] == 1 ? 0 : idx[i]);
      return static_cast<double>(v[off]);
    };
    for (const char* type : {"Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum",
                             "SquaredDifference", "Power"}) {
      std::vector<double> ref;
      int64_t n = graph::ElementCount(out);
      for (int64_t e = 0; e < n; ++e) {
        std::vector<int64_t> idx(r);
        int64_t rem = e;
        for (int k = static_cast<int>(r) - 1; k >= 0; --k) {
          idx[k] = rem % out[k];
          rem /= out[k];
        }
        double x = at(av, a, idx), y = at(bv, b, idx);
        std::string t = type;
        ref.push_back(t == "Add"        ? x + y
                      : t == "Subtract" ? x - y
                      : t == "Multiply" ? x * y
                      : t == "Divide"   ? x / y
                      : t == "Maximum"  ? std::max(x, y)
                      : t == "Minimum"  ? std::min(x, y)
                      : t == "Power"    ? std::pow(x, y)
                                        : (x - y) * (x - y));
      }
      OneOp op = BuildOneOp(type, {{F32(c.a, av)}, {F32(c.b, bv)}});
      std::map<std::string, Tensor> res;
      ASSERT_TRUE(RunOneOp(op, &res).ok()) << type;
      EXPECT_EQ(res["out0"].shape(), out) << type;
      ExpectClose(res["out0"], ref, 1e-6);
    }
  }
}

TEST(BinaryKernelTest, IntegerDivisionFloorsAndComparisonsGiveBoolean) {
  OneOp op = BuildOneOp("Divide", {{I64({4}, {7, -7, 7, -7})}, {I64({4}, {2, 2, -2, -2})}});
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(op, &res).ok());
  EXPECT_EQ(res["out0"].ToInt64s(), (std::vector<int64_t>{3, -4, -4, 3}));  // python //
  OneOp lt = BuildOneOp("Less", {{F32({3}, {1, 2, 3})}, {F32({1}, {2})}});
  ASSERT_TRUE(RunOneOp(lt, &res).ok());
  EXPECT_EQ(res["out0"].type(), ElementType::kBoolean);
  EXPECT_EQ(res["out0"].ToInt64s(), (std::vector<int64_t>{1, 0, 0}));
}

TEST(UnaryKernelTest, ActivationsMatchFormulas) {
  auto x = RandomFloats(257, 11, -6.f, 6.f);
  x[0] = -3.f;  // HSigmoid/HSwish knees
  x[1] = 3.f;
  x[2] = 0.f;
  struct U {
    const char* type;
    double (*f)(double);
  };
  std::vector<U> us = {
      {"Relu", [](double v) { return v > 0 ? v : 0; }},
      {"Sigmoid", [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"Tanh", [](double v) { return std::tanh(v); }},
      {"HSigmoid", [](double v) { return std::min(std::max(v + 3, 0.0), 6.0) / 6; }},
      {"HSwish", [](double v) { return v * std::min(std::max(v + 3, 0.0), 6.0) / 6; }},
      {"Gelu", [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }},
      {"Exp", [](double v) { return std::exp(v); }},
      {"Abs", [](double v) { return std::abs(v); }},
      {"Floor", [](double v) { return std::floor(v); }},
      {"Erf", [](double v) { return std::erf(v); }},
      {"SoftPlus", [](double v) { return std::log(1 + std::exp(v)); }},
      {"Mish", [](double v) { return v * std::tanh(std::log(1 + std::exp(v))); }},
  };
  for (const U& u : us) {
    OneOp op = BuildOneOp(u.type, {{F32({257}, x)}});
    std::map<std::string, Tensor> res;
    ASSERT_TRUE(RunOneOp(op, &res).ok()) << u.type;
    std::vector<double> ref;
    for (float v : x) ref.push_back(u.f(v));
    SCOPED_TRACE(u.type);
    ExpectClose(res["out0"], ref, 1e-6, 1e-7);
  }
  auto pos = RandomFloats(64, 12, 0.01f, 9.f);
  for (const char* t : {"Sqrt", "Log"}) {
    OneOp op = BuildOneOp(t, {{F32({64}, pos)}});
    std::map<std::string, Tensor> res;
    ASSERT_TRUE(RunOneOp(op, &res).ok());
    std::vector<double> ref;
    for (float v : pos) ref.push_back(std::string(t) == "Sqrt" ? std::sqrt(v) : std::log(v));
    ExpectClose(res["out0"], ref, 1e-6);
  }
}

TEST(UnaryKernelTest, ClampSwishHardSigmoidPRelu) {
  auto x = RandomFloats(2 * 3 * 4, 13, -4.f, 4.f);
  Attributes a;
  a.SetFloat("min", -1.5);
  a.SetFloat("max", 2.0);
  OneOp clamp = BuildOneOp("Clamp", {{F32({2, 3, 4}, x)}}, a);
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(clamp, &res).ok());
  std::vector<double> ref;
  for (float v : x) ref.push_back(std::min(std::max<double>(v, -1.5), 2.0));
  ExpectClose(res["out0"], ref, 0);

  OneOp hs = BuildOneOp("HardSigmoid",
                        {{F32({2, 3, 4}, x)}, {F32({}, {0.2f}), true}, {F32({}, {0.5f}), true}});
  ASSERT_TRUE(RunOneOp(hs, &res).ok());
  ref.clear();
  for (float v : x) ref.push_back(std::max(0.0, std::min(1.0, 0.2 * v + 0.5)));
  ExpectClose(res["out0"], ref, 1e-6);

  OneOp sw = BuildOneOp("Swish", {{F32({2, 3, 4}, x)}, {F32({}, {1.5f}), true}});
  ASSERT_TRUE(RunOneOp(sw, &res).ok());
  ref.clear();
  for (float v : x) ref.push_back(v / (1 + std::exp(-1.5 * v)));
  ExpectClose(res["out0"], ref, 1e-6);

  // PRelu with a per-channel 1-D slope on axis 1.
  std::vector<float> slope = {0.1f, -0.5f, 2.f};
  OneOp pr = BuildOneOp("PRelu", {{F32({2, 3, 4}, x)}, {F32({3}, slope), true}});
  ASSERT_TRUE(RunOneOp(pr, &res).ok());
  ref.clear();
  for (size_t i = 0; i < x.size(); ++i) {
    double s = slope[(i / 4) % 3];
    ref.push_back(x[i] < 0 ? x[i] * s : x[i]);
  }
  ExpectClose(res["out0"], ref, 1e-6);
}

TEST(FakeQuantizeKernelTest, TiesRoundHalfToEvenAndBoundsAreAsymmetric) {
  // il=0, ih=4, levels=5: step 1; (x-il)/(ih-il)*4 = x. Values at .5 round to even.
  // ol=0, oh=8: output = round(x) * 2.
  std::vector<float> x = {-1.f, 0.f, 0.5f, 1.5f, 2.5f, 3.5f, 4.f, 4.5f, 1.2f, 2.7f};
  OneOp op = BuildOneOp("FakeQuantize",
                        {{F32({10}, x)},
                         {F32({}, {0.f}), true},
                         {F32({}, {4.f}), true},
                         {F32({}, {0.f}), true},
                         {F32({}, {8.f}), true}},
                        [] {
                          Attributes a;
                          a.SetInt("levels", 5);
                          return a;
                        }());
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(op, &res).ok());
  // Hand-computed: -1 <= il -> ol=0; 0 == il -> ol=0; 0.5 -> 0; 1.5 -> 2*2=4; 2.5 -> 2*2=4;
  // 3.5 -> 4*2=8; 4 == ih -> formula -> 8; 4.5 > ih -> oh=8; 1.2 -> 2; 2.7 -> 6.
  EXPECT_EQ(res["out0"].ToDoubles(), (std::vector<double>{0, 0, 0, 4, 4, 8, 8, 8, 2, 6}));
}

TEST(FakeQuantizeKernelTest, PerChannelRanges) {
  // [1,2,1,3] with per-channel il/ih of shape [1,2,1,1], levels 256, output = input range.
  std::vector<float> x = {-1.f, 0.3f, 2.f, 0.f, 5.f, 10.f};
  Attributes a;
  a.SetInt("levels", 256);
  OneOp op = BuildOneOp("FakeQuantize",
                        {{F32({1, 2, 1, 3}, x)},
                         {F32({1, 2, 1, 1}, {0.f, 0.f}), true},
                         {F32({1, 2, 1, 1}, {1.f, 8.f}), true},
                         {F32({1, 2, 1, 1}, {0.f, 0.f}), true},
                         {F32({1, 2, 1, 1}, {1.f, 8.f}), true}},
                        a);
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(op, &res).ok());
  // Channel 0: 0.3*255 = 76.5 -> 76 (even) -> 76/255. Channel 1: 5/8*255 = 159.375 -> 159.
  std::vector<double> want = {0, 76.0 / 255, 1, 0, 159.0 / 255 * 8, 8};
  ExpectClose(res["out0"], want, 1e-6);
}

// The vectorized FakeQuantize (AVX-512 / AVX2 / SSE4.1 spans, scalar tail) gives bit for bit the
// OpenVINO formula evaluated one element at a time, for per-tensor and per-channel limits, at
// ties, at both bounds, on -0 and NaN, and for sizes that are not multiples of any vector width.
TEST(FakeQuantizeKernelTest, VectorPathsEqualTheScalarFormulaBitForBit) {
  auto ref = [](float v, float lo, float hi, float olo, float ohi, float lm1) {
    if (v <= std::min(lo, hi)) return olo;
    if (v > std::max(lo, hi)) return ohi;
    return std::nearbyint((v - lo) / (hi - lo) * lm1) / lm1 * (ohi - olo) + olo;
  };
  auto bits = [](float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return b;
  };
  const Shape xs{2, 3, 5, 7};  // inner runs of 35 or 105 values
  std::vector<float> x = RandomFloats(graph::ElementCount(xs), 21, -2.f, 3.f);
  const float lo = -1.0f, hi = 2.0f;
  const int64_t levels = 256;
  for (size_t i = 0; i < x.size(); i += 7) {  // exact ties: (k + 0.5) steps above lo
    x[i] = lo + (static_cast<float>(i % 200) + 0.5f) * (hi - lo) / 255.0f;
  }
  x[1] = lo;
  x[2] = hi;
  x[3] = -0.0f;
  x[4] = NAN;
  x[5] = std::nextafter(hi, 10.f);
  // 0: per tensor; 1: per channel (axis 1 of [2, 3, 5, 7]); 2: one set per element of the
  // inner dimension (x seen as [6, 35], limits [1, 35]).
  for (int mode : {0, 1, 2}) {
    const Shape ls = mode == 0 ? Shape{} : mode == 1 ? Shape{1, 3, 1, 1} : Shape{1, 35};
    const int64_t nl = graph::ElementCount(ls);
    std::vector<float> il = RandomFloats(nl, 22, -1.5f, 0.f);
    std::vector<float> ih = RandomFloats(nl, 23, 0.1f, 2.5f);
    if (mode == 0) il = {lo}, ih = {hi};
    if (mode == 2) std::swap(il[3], ih[3]);  // reversed limits on one element
    std::vector<float> ol = il, oh = ih;
    if (mode == 0) ol = {-3.f}, oh = {5.f};  // output range differs from the input range
    Attributes a;
    a.SetInt("levels", levels);
    const Shape shape = mode == 2 ? Shape{6, 35} : xs;
    OneOp op = BuildOneOp("FakeQuantize",
                          {{F32(shape, x)},
                           {F32(ls, il), true},
                           {F32(ls, ih), true},
                           {F32(ls, ol), true},
                           {F32(ls, oh), true}},
                          a);
    for (int isa = 2; isa >= 0; --isa) {
      const int previous = kernels::internal::UseFakeQuantizeKernels(isa);
      std::map<std::string, Tensor> res;
      ASSERT_TRUE(RunOneOp(op, &res).ok());
      kernels::internal::UseFakeQuantizeKernels(previous);
      const float* y = res["out0"].data<float>();
      for (size_t i = 0; i < x.size(); ++i) {
        const size_t c = mode == 0 ? 0 : mode == 1 ? (i / 35) % 3 : i % 35;
        const float want = ref(x[i], il[c], ih[c], ol[c], oh[c], static_cast<float>(levels - 1));
        ASSERT_EQ(bits(y[i]), bits(want)) << "isa " << isa << " mode " << mode << " element " << i
                                          << " x " << x[i] << ": " << y[i] << " vs " << want;
      }
    }
  }
}

TEST(ConvertKernelTest, F16AndIntegersAndTruncation) {
  OneOp op = BuildOneOp("Convert", {{F32({4}, {1.7f, -1.7f, 300.f, -0.2f})}}, [] {
    Attributes a;
    a.Set("destination_type", "i8");
    return a;
  }());
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(op, &res).ok());
  EXPECT_EQ(res["out0"].ToInt64s(), (std::vector<int64_t>{1, -1, 127, 0}));
  // f16 -> f32: 0x3C00 = 1.0, 0xC000 = -2.0, 0x3555 ~ 0.33325195.
  Tensor h = Tensor::FromVector<uint16_t>(ElementType::kF16, {3}, {0x3C00, 0xC000, 0x3555});
  OneOp op2 = BuildOneOp("Convert", {{h}}, [] {
    Attributes a;
    a.Set("destination_type", "f32");
    return a;
  }());
  ASSERT_TRUE(RunOneOp(op2, &res).ok());
  EXPECT_EQ(res["out0"].ToDoubles(), (std::vector<double>{1.0, -2.0, 0.333251953125}));
}

// ---------------------------------------------------------------- Reductions, normalization

TEST(SoftmaxKernelTest, AlongMiddleAxis) {
  auto x = RandomFloats(2 * 5 * 3, 14, -5.f, 5.f);
  Attributes a;
  a.SetInt("axis", 1);
  OneOp op = BuildOneOp("Softmax", {{F32({2, 5, 3}, x)}}, a);
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(op, &res).ok());
  std::vector<double> ref(x.size());
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) {
      double s = 0;
      for (int c = 0; c < 5; ++c) s += std::exp(double(x[(n * 5 + c) * 3 + i]));
      for (int c = 0; c < 5; ++c)
        ref[(n * 5 + c) * 3 + i] = std::exp(double(x[(n * 5 + c) * 3 + i])) / s;
    }
  ExpectClose(res["out0"], ref, 1e-6);
}

TEST(ReduceKernelTest, MeanMaxSumL2OverNonContiguousAxes) {
  auto x = RandomFloats(2 * 3 * 4 * 5, 15);
  const Shape s = {2, 3, 4, 5};
  for (const char* type : {"ReduceMean", "ReduceMax", "ReduceSum", "ReduceL2", "ReduceMin"}) {
    for (bool keep : {false, true}) {
      Attributes a;
      a.SetBool("keep_dims", keep);
      OneOp op = BuildOneOp(type, {{F32(s, x)}, {I64({2}, {0, -2}), true}}, a);
      std::map<std::string, Tensor> res;
      ASSERT_TRUE(RunOneOp(op, &res).ok()) << type;
      EXPECT_EQ(res["out0"].shape(), keep ? Shape({1, 3, 1, 5}) : Shape({3, 5}));
      std::vector<double> ref;
      std::string t = type;
      for (int c = 0; c < 3; ++c)
        for (int w = 0; w < 5; ++w) {
          double acc = t == "ReduceMax" ? -1e9 : t == "ReduceMin" ? 1e9 : 0;
          for (int n = 0; n < 2; ++n)
            for (int h = 0; h < 4; ++h) {
              double v = x[((n * 3 + c) * 4 + h) * 5 + w];
              if (t == "ReduceMax")
                acc = std::max(acc, v);
              else if (t == "ReduceMin")
                acc = std::min(acc, v);
              else if (t == "ReduceL2")
                acc += v * v;
              else
                acc += v;
            }
          if (t == "ReduceMean") acc /= 8;
          if (t == "ReduceL2") acc = std::sqrt(acc);
          ref.push_back(acc);
        }
      ExpectClose(res["out0"], ref, 1e-6);
    }
  }
}

TEST(NormalizationKernelTest, MvnNormalizeL2BatchNorm) {
  auto x = RandomFloats(2 * 3 * 4, 16, -3.f, 3.f);
  const Shape s = {2, 3, 4};
  Attributes a;
  a.SetBool("normalize_variance", true);
  a.SetFloat("eps", 1e-5);
  a.Set("eps_mode", "inside_sqrt");
  OneOp mvn = BuildOneOp("MVN", {{F32(s, x)}, {I64({1}, {2}), true}}, a);
  std::map<std::string, Tensor> res;
  ASSERT_TRUE(RunOneOp(mvn, &res).ok());
  std::vector<double> ref;
  for (int r = 0; r < 6; ++r) {
    double m = 0, v = 0;
    for (int i = 0; i < 4; ++i) m += x[r * 4 + i];
    m /= 4;
    for (int i = 0; i < 4; ++i) v += (x[r * 4 + i] - m) * (x[r * 4 + i] - m);
    v /= 4;
    for (int i = 0; i < 4; ++i) ref.push_back((x[r * 4 + i] - m) / std::sqrt(v + 1e-5));
  }
  ExpectClose(res["out0"], ref, 1e-5);

  Attributes l2;
  l2.SetFloat("eps", 1e-10);
  l2.Set("eps_mode", "add");
  OneOp nl2 = BuildOneOp("NormalizeL2", {{F32(s, x)}, {I64({1}, {1}), true}}, l2);
  ASSERT_TRUE(RunOneOp(nl2, &res).ok());
  ref.clear();
  ref.resize(x.size());
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 4; ++i) {
      double sq = 0;
      for (int c = 0; c < 3; ++c) sq += double(x[(n * 3 + c) * 4 + i]) * x[(n * 3 + c) * 4 + i];
      for (int c = 0; c < 3; ++c)
        ref[(n * 3 + c) * 4 + i] = x[(n * 3 + c) * 4 + i] / std::sqrt(sq + 1e-10);
    }
  ExpectClose(res["out0"], ref, 1e-6);

  std::vector<float> g = {1.f, 2.f, 0.5f}, b = {0.f, 1.f, -1.f}, m = {0.1f, -0.2f, 0.3f},
                     v = {1.f, 0.5f, 2.f};
  Attributes bn;
  bn.SetFloat("epsilon", 1e-3);
  OneOp bno = BuildOneOp("BatchNormInference",
                         {{F32(s, x)},
                          {F32({3}, g), true},
                          {F32({3}, b), true},
                          {F32({3}, m), true},
                          {F32({3}, v), true}},
                         bn, 1, "opset5");
  ASSERT_TRUE(RunOneOp(bno, &res).ok());
  ref.clear();
  for (size_t i = 0; i < x.size(); ++i) {
    int c = (i / 4) % 3;
    ref.push_back((x[i] - m[c]) / std::sqrt(v[c] + 1e-3) * g[c] + b[c]);
  }
  ExpectClose(res["out0"], ref, 1e-6);
}

// ---------------------------------------------------------------- Pooling

TEST(PoolKernelTest, MaxAndAvgWithPadsCeilAndExcludePad) {
  const Shape s = {1, 2, 7, 6};
  auto x = RandomFloats(graph::ElementCount(s), 17);
  for (bool is_max : {true, false}) {
    for (bool exclude : {true, false}) {
      for (const char* rounding : {"floor", "ceil"}) {
        const int64_t k = 3, st = 2, pb = 1, pe = 0;
        Attributes a;
        a.SetInts("kernel", {k, k});
        a.SetInts("strides", {st, st});
        a.SetInts("pads_begin", {pb, pb});
        a.SetInts("pads_end", {pe, pe});
        a.Set("rounding_type", rounding);
        a.SetBool("exclude-pad", exclude);
        OneOp op = BuildOneOp(is_max ? "MaxPool" : "AvgPool", {{F32(s, x)}}, a);
        std::map<std::string, Tensor> res;
        ASSERT_TRUE(RunOneOp(op, &res).ok());
        // Reference with the ceil rule "the last window starts inside the input or padding".
        auto osz = [&](int64_t in) {
          int64_t span = in + pb + pe - k;
          int64_t o = std::string(rounding) == "ceil" ? (span + st - 1) / st + 1 : span / st + 1;
          if ((o - 1) * st >= in + pb) --o;
          return o;
        };
        const int64_t OH = osz(7), OW = osz(6);
        ASSERT_EQ(res["out0"].shape(), (Shape{1, 2, OH, OW}));
        std::vector<double> ref;
        for (int c = 0; c < 2; ++c)
          for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox) {
              double mx = -1e30, sum = 0;
              int n_in = 0, n_pad = 0;
              for (int64_t ky = 0; ky < k; ++ky)
                for (int64_t kx = 0; kx < k; ++kx) {
                  int64_t iy = oy * st - pb + ky, ix = ox * st - pb + kx;
                  if (iy < 7 + pe && ix < 6 + pe) ++n_pad;  // inside the padded input
                  if (iy < 0 || iy >= 7 || ix < 0 || ix >= 6) continue;
                  double v = x[(c * 7 + iy) * 6 + ix];
                  mx = std::max(mx, v);
                  sum += v;
                  ++n_in;
                }
              ref.push_back(is_max ? mx : sum / (exclude ? n_in : n_pad));
            }
        SCOPED_TRACE(std::string(is_max ? "max " : "avg ") + rounding + (exclude ? " excl" : ""));
        ExpectClose(res["out0"], ref, 1e-6);
      }
    }
  }
}

// ---------------------------------------------------------------- Data movement

TEST(LayoutKernelTest, TransposeConcatSplitGatherTile) {
  auto x = RandomFloats(2 * 3 * 4, 18);
  std::map<std::string, Tensor> res;
  OneOp tr = BuildOneOp("Transpose", {{F32({2, 3, 4}, x)}, {I64({3}, {2, 0, 1}), true}});
  ASSERT_TRUE(RunOneOp(tr, &res).ok());
  std::vector<double> ref;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) ref.push_back(x[(i * 3 + j) * 4 + k]);
  ExpectClose(res["out0"], ref, 0);

  auto y = RandomFloats(2 * 2 * 4, 19);
  Attributes ca;
  ca.SetInt("axis", -2);
  OneOp cc = BuildOneOp("Concat", {{F32({2, 3, 4}, x)}, {F32({2, 2, 4}, y), true}}, ca);
  ASSERT_TRUE(RunOneOp(cc, &res).ok());
  ref.clear();
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3 * 4; ++j) ref.push_back(x[i * 12 + j]);
    for (int j = 0; j < 2 * 4; ++j) ref.push_back(y[i * 8 + j]);
  }
  ExpectClose(res["out0"], ref, 0);

  OneOp vs =
      BuildOneOp("VariadicSplit",
                 {{F32({2, 3, 4}, x)}, {I64({}, {2}), true}, {I64({2}, {1, -1}), true}}, {}, 2);
  ASSERT_TRUE(RunOneOp(vs, &res).ok());
  std::vector<double> r0, r1;
  for (int i = 0; i < 6; ++i) {
    r0.push_back(x[i * 4]);
    for (int k = 1; k < 4; ++k) r1.push_back(x[i * 4 + k]);
  }
  ExpectClose(res["out0"], r0, 0);
  ExpectClose(res["out1"], r1, 0);

  OneOp ga =
      BuildOneOp("Gather", {{F32({2, 3, 4}, x)}, {I64({2}, {2, -3}), true}, {I64({}, {1}), true}});
  ASSERT_TRUE(RunOneOp(ga, &res).ok());
  ref.clear();
  for (int i = 0; i < 2; ++i)
    for (int j : {2, 0})
      for (int k = 0; k < 4; ++k) ref.push_back(x[(i * 3 + j) * 4 + k]);
  ExpectClose(res["out0"], ref, 0);

  OneOp ti = BuildOneOp("Tile", {{F32({2, 3, 4}, x)}, {I64({2}, {2, 1}), true}});
  ASSERT_TRUE(RunOneOp(ti, &res).ok());
  EXPECT_EQ(res["out0"].shape(), (Shape{2, 6, 4}));
  ref.clear();
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      for (int j = 0; j < 12; ++j) ref.push_back(x[i * 12 + j]);
  ExpectClose(res["out0"], ref, 0);
}

TEST(LayoutKernelTest, GatherOutOfRangeIndexIsAnErrorNamingTheLayer) {
  OneOp ga = BuildOneOp("Gather", {{F32({3}, {1, 2, 3})}, {I64({1}, {5})}, {I64({}, {0}), true}});
  std::map<std::string, Tensor> res;
  Status st = RunOneOp(ga, &res);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("layer 'op'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("out of range"), std::string::npos) << st.message();
}

TEST(LayoutKernelTest, StridedSliceWithMasksAndSlice) {
  auto x = RandomFloats(4 * 5 * 6, 20);
  Attributes a;
  a.SetInts("begin_mask", {0, 1, 0});
  a.SetInts("end_mask", {0, 0, 1});
  a.SetInts("new_axis_mask", {0, 0, 0});
  a.SetInts("shrink_axis_mask", {1, 0, 0});
  a.SetInts("ellipsis_mask", {0, 0, 0});
  // x[-1, :4:2, 5::-2]... with begin_mask on axis 1 and end_mask on axis 2.
  OneOp ss = BuildOneOp("StridedSlice",
                        {{F32({4, 5, 6}, x)},
                         {I64({3}, {-1, 3, 5}), true},
                         {I64({3}, {0, 4, 0}), true},
                         {I64({3}, {1, 2, -2}), true}},
                        a);
  std::map<std::string, Tensor> res;
  Status st = RunOneOp(ss, &res);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(res["out0"].shape(), (Shape{2, 3}));
  std::vector<double> ref;
  for (int j : {0, 2})
    for (int k : {5, 3, 1}) ref.push_back(x[(3 * 5 + j) * 6 + k]);
  ExpectClose(res["out0"], ref, 0);

  OneOp sl = BuildOneOp("Slice", {{F32({4, 5, 6}, x)},
                                  {I64({2}, {1, -1}), true},
                                  {I64({2}, {100, -7}), true},
                                  {I64({2}, {2, -3}), true},
                                  {I64({2}, {0, 2}), true}});
  st = RunOneOp(sl, &res);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(res["out0"].shape(), (Shape{2, 5, 2}));
  ref.clear();
  for (int i : {1, 3})
    for (int j = 0; j < 5; ++j)
      for (int k : {5, 2}) ref.push_back(x[(i * 5 + j) * 6 + k]);
  ExpectClose(res["out0"], ref, 0);
}

TEST(LayoutKernelTest, PadModes) {
  std::vector<float> x = {1, 2, 3, 4, 5, 6};  // [2,3]
  struct Case {
    const char* mode;
    std::vector<double> want;  // pads_begin {0,2}, pads_end {1,1} -> [3,6]
  };
  std::vector<Case> cases = {
      {"constant", {9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9, 9}},
      {"edge", {1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6, 4, 4, 4, 5, 6, 6}},
      {"reflect", {3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2}},
      {"symmetric", {2, 1, 1, 2, 3, 3, 5, 4, 4, 5, 6, 6, 5, 4, 4, 5, 6, 6}},
  };
  for (const Case& c : cases) {
    Attributes a;
    a.Set("pad_mode", c.mode);
    OneOp op = BuildOneOp("Pad",
                          {{F32({2, 3}, x)},
                           {I64({2}, {0, 2}), true},
                           {I64({2}, {1, 1}), true},
                           {F32({}, {9.f}), true}},
                          a);
    std::map<std::string, Tensor> res;
    ASSERT_TRUE(RunOneOp(op, &res).ok()) << c.mode;
    EXPECT_EQ(res["out0"].ToDoubles(), c.want) << c.mode;
  }
}

TEST(InterpolateKernelTest, NearestAndLinearHalfPixel) {
  // 1x1x2x2 -> 1x1x4x4.
  std::vector<float> x = {1, 2, 3, 4};
  Attributes a;
  a.Set("mode", "linear_onnx");
  a.Set("shape_calculation_mode", "scales");
  a.Set("coordinate_transformation_mode", "half_pixel");
  OneOp op =
      BuildOneOp("Interpolate",
                 {{F32({1, 1, 2, 2}, x)}, {F32({2}, {2.f, 2.f}), true}, {I64({2}, {2, 3}), true}},
                 a, 1, "opset11");
  std::map<std::string, Tensor> res;
  Status st = RunOneOp(op, &res);
  ASSERT_TRUE(st.ok()) << st.message();
  // Half-pixel source coords for 4 outputs from 2 inputs: -0.25, 0.25, 0.75, 1.25 -> clamped
  // 0, 0.25, 0.75, 1. Row weights likewise; value = 1 + (x) + 2*(y).
  std::vector<double> c = {0, 0.25, 0.75, 1};
  std::vector<double> ref;
  for (double yy : c)
    for (double xx : c) ref.push_back(1 + xx + 2 * yy);
  ExpectClose(res["out0"], ref, 1e-6);

  a.Set("mode", "nearest");
  a.Set("coordinate_transformation_mode", "asymmetric");
  a.Set("nearest_mode", "floor");
  OneOp nn =
      BuildOneOp("Interpolate",
                 {{F32({1, 1, 2, 2}, x)}, {F32({2}, {2.f, 2.f}), true}, {I64({2}, {2, 3}), true}},
                 a, 1, "opset11");
  ASSERT_TRUE(RunOneOp(nn, &res).ok());
  EXPECT_EQ(res["out0"].ToDoubles(),
            (std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}));
}

}  // namespace
}  // namespace ptqflow::exec::testing

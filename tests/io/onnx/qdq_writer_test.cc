// QDQ writer: FakeQuantize → (scale, zero point) for every case of pot-spec §2 (expected values
// from the formulas by hand), and the export of a tiny CNN quantized by hand (structure, int8
// values recomputed with a plain loop, edited biases in the ONNX initializers, ONNX checker).
#include "io/onnx/qdq_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "io/onnx/onnx_importer.h"
#include "tests/io/onnx/qdq_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

FqLimits PerTensor(float il, float ih, float ol, float oh, int64_t levels) {
  return FqLimits{{il}, {ih}, {ol}, {oh}, levels};
}

TEST(ActivationQdqFromFq, AsymmetricLevels256IsUint8WithIntegralZeroPoint) {
  // tune_range output: zero on the grid, step 1.5/255, zero at level 85.
  auto q = ActivationQdqFromFq(PerTensor(-0.5f, 1.0f, -0.5f, 1.0f, 256), "fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->storage, QdqStorage::kUint8);
  ASSERT_EQ(q->scale.size(), 1u);
  EXPECT_FLOAT_EQ(q->scale[0], 1.5f / 255.f);
  EXPECT_EQ(q->zero_point[0], 85);
  EXPECT_FALSE(q->clip);
  EXPECT_TRUE(q->notes.empty());
}

TEST(ActivationQdqFromFq, SignedSymmetricIsInt8ZeroPointZeroScaleMOver127) {
  const float m = 2.0f;
  const float il = -m * 256.f / 254.f;
  auto q = ActivationQdqFromFq(PerTensor(il, m, il, m, 256), "fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->storage, QdqStorage::kInt8);
  EXPECT_FLOAT_EQ(q->scale[0], m / 127.f);
  EXPECT_EQ(q->zero_point[0], 0);
}

TEST(ActivationQdqFromFq, UnsignedIsUint8ZeroPointZero) {
  auto q = ActivationQdqFromFq(PerTensor(0.f, 3.f, 0.f, 3.f, 256), "fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->storage, QdqStorage::kUint8);
  EXPECT_FLOAT_EQ(q->scale[0], 3.f / 255.f);
  EXPECT_EQ(q->zero_point[0], 0);
}

TEST(ActivationQdqFromFq, PerChannelKeepsOneScaleAndZeroPointPerChannel) {
  FqLimits fq{{0.f, -1.f}, {2.f, 1.f * 255.f / 127.f - 1.f}, {0.f, -1.f}, {2.f, 0.f}, 256};
  fq.oh[1] = fq.ih[1];
  auto q = ActivationQdqFromFq(fq, "fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->scale.size(), 2u);
  EXPECT_FLOAT_EQ(q->scale[0], 2.f / 255.f);
  EXPECT_FLOAT_EQ(q->scale[1], 1.f / 127.f);  // (255/127) / 255
  EXPECT_EQ(q->storage, QdqStorage::kUint8);  // channel 0 is not signed-symmetric
  EXPECT_EQ(q->zero_point[0], 0);
  EXPECT_EQ(q->zero_point[1], 127);
}

TEST(ActivationQdqFromFq, LowBitLevelsAskForAClip) {
  // 4 bits, asymmetric: 15 steps of 0.1, zero at level 5.
  auto q = ActivationQdqFromFq(PerTensor(-0.5f, 1.0f, -0.5f, 1.0f, 16), "fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_TRUE(q->clip);
  EXPECT_EQ(q->storage, QdqStorage::kUint8);
  EXPECT_FLOAT_EQ(q->scale[0], 0.1f);
  EXPECT_EQ(q->zero_point[0], 5);
}

TEST(ActivationQdqFromFq, OffGridZeroIsRoundedAndNoted) {
  // Concat unification (min il, max ih, no re-tuning): zero at level 255/3.2 = 79.69.
  auto q = ActivationQdqFromFq(PerTensor(-1.f, 2.2f, -1.f, 2.2f, 256), "cat_fq");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->zero_point[0], 80);
  ASSERT_EQ(q->notes.size(), 1u);
  EXPECT_NE(q->notes[0].find("cat_fq"), std::string::npos) << q->notes[0];
}

TEST(ActivationQdqFromFq, RefusesWhatQdqCannotExpress) {
  auto wide = ActivationQdqFromFq(PerTensor(-1.f, 1.f, -1.f, 1.f, 65536), "gna_fq");
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("gna_fq"), std::string::npos);
  EXPECT_NE(wide.status().message().find("65536"), std::string::npos);
  auto rescaled = ActivationQdqFromFq(PerTensor(-1.f, 1.f, -2.f, 2.f, 256), "fq2");
  ASSERT_FALSE(rescaled.ok());
  EXPECT_NE(rescaled.status().message().find("output range"), std::string::npos);
  auto no_zero = ActivationQdqFromFq(PerTensor(1.f, 2.f, 1.f, 2.f, 256), "fq3");
  ASSERT_FALSE(no_zero.ok());
  EXPECT_NE(no_zero.status().message().find("does not contain zero"), std::string::npos);
}

TEST(WeightQdqFromFq, SymmetricNarrowRangeIsInt8ZeroPointZero) {
  auto q =
      WeightQdqFromFq(FqLimits{{-2.f, -0.5f}, {2.f, 0.5f}, {-2.f, -0.5f}, {2.f, 0.5f}, 255}, "w");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->q_min, -127);
  EXPECT_FLOAT_EQ(q->scale[0], 2.f / 127.f);
  EXPECT_FLOAT_EQ(q->scale[1], 0.5f / 127.f);
  EXPECT_EQ(q->zero_point, (std::vector<int32_t>{0, 0}));
}

TEST(WeightQdqFromFq, SaturationFixUsesTheOutputScaleAndLevelIndices) {
  // POT: weights halved, il/ih from the original weights (m = 2), ol/oh doubled.
  const FqLimits fq{{-2.f}, {2.f}, {-4.f}, {4.f}, 255};
  auto q = WeightQdqFromFq(fq, "w");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_FLOAT_EQ(q->scale[0], 4.f / 127.f);  // 2m/127
  EXPECT_EQ(q->zero_point[0], 0);
  // Halved weights of the original range [-2, 2] fill [-1, 1]: stored values within ±64.
  const std::vector<float> halved = {-1.f, -0.5f, 0.f, 0.5f, 1.f, 0.01f};
  auto i8 = QuantizeWeightsToInt8(halved, {6}, -1, fq, q->q_min);
  // (x - il)/(ih - il)*254 by hand, minus 127: -1 → 63.5 → 64 → -63; -0.5 → 95.25 → -32;
  // 0 → 127 → 0; 0.5 → 158.75 → 32; 1 → 190.5 → 190 (even) → 63; 0.01 → 127.635 → 1.
  EXPECT_EQ(i8, (std::vector<int8_t>{-63, -32, 0, 32, 63, 1}));
}

TEST(WeightQdqFromFq, AsymmetricWeightsKeepTheirZeroPoint) {
  // levels 256, [-0.5, 1.0]: zero at index 85 → stored q = 85 - 128 = -43 ⇒ zp = -43.
  auto q = WeightQdqFromFq(FqLimits{{-0.5f}, {1.f}, {-0.5f}, {1.f}, 256}, "w");
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_EQ(q->q_min, -128);
  EXPECT_EQ(q->zero_point[0], -43);
  EXPECT_FLOAT_EQ(q->scale[0], 1.5f / 255.f);
}

TEST(FqLevelIndex, BoundariesAndHalfToEven) {
  EXPECT_EQ(FqLevelIndex(-2.f, -1.f, 1.f, 255), 0);
  EXPECT_EQ(FqLevelIndex(-1.f, -1.f, 1.f, 255), 0);  // x == il → ol
  EXPECT_EQ(FqLevelIndex(1.f, -1.f, 1.f, 255), 254);
  EXPECT_EQ(FqLevelIndex(5.f, -1.f, 1.f, 255), 254);
  // (0.5 + 1)/2 * 2 = 1.5 with levels 3 → 2 (even); (−0.5 + 1)/2*2 = 0.5 → 0.
  EXPECT_EQ(FqLevelIndex(0.5f, -1.f, 1.f, 3), 2);
  EXPECT_EQ(FqLevelIndex(-0.5f, -1.f, 1.f, 3), 0);
}

// ---------------------------------------------------------------- the tiny CNN

struct Exported {
  onnx::ModelProto m;
  QdqExportSummary summary;
  ptqflow::testing::HandQuantized hq;
};

Exported ExportTiny() {
  Exported e;
  ptqflow::testing::OnnxBuilder b = ptqflow::testing::TinyQdqModel();
  auto g = ImportOnnxFromBytes(b.Bytes(), "tiny");
  EXPECT_TRUE(g.ok()) << g.status().message();
  if (!g.ok()) return e;
  e.hq = ptqflow::testing::QuantizeTinyByHand(*g);
  auto s = BuildQdqModel(b.model(), e.hq.g, e.hq.plan, {}, &e.m);
  EXPECT_TRUE(s.ok()) << s.status().message();
  if (s.ok()) e.summary = *s;
  return e;
}

const onnx::NodeProto* Producer(const onnx::GraphProto& g, const std::string& t) {
  for (const auto& n : g.node()) {
    for (const auto& o : n.output()) {
      if (o == t) return &n;
    }
  }
  return nullptr;
}
const onnx::NodeProto* NodeNamed(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& n : g.node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}
const onnx::TensorProto* Init(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}
std::vector<float> Floats(const onnx::TensorProto& t) {
  EXPECT_EQ(t.data_type(), onnx::TensorProto::FLOAT) << t.name();
  if (!t.raw_data().empty()) {
    std::vector<float> v(t.raw_data().size() / 4);
    std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
    return v;
  }
  return {t.float_data().begin(), t.float_data().end()};
}
std::vector<int> Ints8(const onnx::TensorProto& t) {
  std::vector<int> v;
  for (char c : t.raw_data()) {
    v.push_back(t.data_type() == onnx::TensorProto::INT8 ? int(int8_t(c)) : int(uint8_t(c)));
  }
  return v;
}
int64_t AxisAttr(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "axis") return a.i();
  }
  return 1;  // ONNX default
}

// The DequantizeLinear feeding input `i` of node `name`.
const onnx::NodeProto* DqInput(const onnx::GraphProto& g, const std::string& name, int i) {
  const onnx::NodeProto* n = NodeNamed(g, name);
  if (!n || n->input_size() <= i) return nullptr;
  const onnx::NodeProto* p = Producer(g, n->input(i));
  return p && p->op_type() == "DequantizeLinear" ? p : nullptr;
}

TEST(QdqWriter, TinyCnnPassesTheOnnxCheckerWithoutFakeQuantize) {
  Exported e = ExportTiny();
  EXPECT_TRUE(CheckOnnxModel(e.m).ok());
  std::map<std::string, int> ops;
  for (const auto& n : e.m.graph().node()) ++ops[n.op_type()];
  EXPECT_EQ(ops["FakeQuantize"], 0);
  // FQs: x, r1 (dw input, per channel), r2 or gap/flat (fc input), three weights.
  EXPECT_EQ(e.summary.weight_dequantizers, 3);
  EXPECT_EQ(e.summary.activation_pairs, int(e.hq.plan.fqs.size()) - 3);
  EXPECT_EQ(ops["QuantizeLinear"], e.summary.activation_pairs);
  EXPECT_EQ(ops["DequantizeLinear"], e.summary.activation_pairs + 3);
  EXPECT_EQ(e.summary.opset_after, 13);
  // The float weights nobody reads any more are gone.
  EXPECT_EQ(Init(e.m.graph(), "W"), nullptr);
  EXPECT_EQ(Init(e.m.graph(), "Wdw"), nullptr);
  EXPECT_EQ(Init(e.m.graph(), "Wfc"), nullptr);
}

TEST(QdqWriter, ModelInputGetsSignedInt8PairAndOnlyTheConvIsRewired) {
  Exported e = ExportTiny();
  const auto& g = e.m.graph();
  const onnx::NodeProto* dq = DqInput(g, "conv", 0);
  ASSERT_NE(dq, nullptr);
  const onnx::NodeProto* q = Producer(g, dq->input(0));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->op_type(), "QuantizeLinear");
  EXPECT_EQ(q->input(0), "x");
  const auto* scale = Init(g, q->input(1));
  const auto* zp = Init(g, q->input(2));
  ASSERT_TRUE(scale && zp);
  EXPECT_FLOAT_EQ(Floats(*scale)[0], 3.f / 127.f);
  EXPECT_EQ(zp->data_type(), onnx::TensorProto::INT8);
  EXPECT_EQ(Ints8(*zp), std::vector<int>{0});
  EXPECT_EQ(dq->input(1), q->input(1));
  EXPECT_EQ(dq->input(2), q->input(2));
}

TEST(QdqWriter, SaturationFixedConvWeightsAreLevelIndicesWithOutputScale) {
  Exported e = ExportTiny();
  const auto& g = e.m.graph();
  const onnx::NodeProto* dq = DqInput(g, "conv", 1);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(AxisAttr(*dq), 0);
  const auto* qw = Init(g, dq->input(0));
  const auto* scale = Init(g, dq->input(1));
  const auto* zp = Init(g, dq->input(2));
  ASSERT_TRUE(qw && scale && zp);
  EXPECT_EQ(qw->data_type(), onnx::TensorProto::INT8);
  EXPECT_EQ(std::vector<int64_t>(qw->dims().begin(), qw->dims().end()),
            (std::vector<int64_t>{4, 2, 3, 3}));
  const std::vector<float> w = ptqflow::testing::SeededValues(72, 1, -1.f, 1.f);
  const std::vector<float>& m = e.hq.weight_m.at("conv");
  ASSERT_EQ(m.size(), 4u);
  const std::vector<int> got = Ints8(*qw);
  const std::vector<float> s = Floats(*scale);
  int max_abs = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const size_t c = i / 18;
    // FakeQuantize-1 on the halved weight, written out by hand.
    const float x = w[i] / 2;
    const float idx = std::nearbyint((x + m[c]) / (2 * m[c]) * 254.f);
    EXPECT_EQ(got[i], int(idx) - 127) << i;
    max_abs = std::max(max_abs, std::abs(got[i]));
  }
  EXPECT_LE(max_abs, 64);
  for (size_t c = 0; c < 4; ++c) EXPECT_FLOAT_EQ(s[c], 2 * m[c] / 127.f) << c;
  EXPECT_EQ(Ints8(*zp), (std::vector<int>{0, 0, 0, 0}));
}

TEST(QdqWriter, GemmWeightsWithTransBZeroArePerColumn) {
  Exported e = ExportTiny();
  const auto& g = e.m.graph();
  const onnx::NodeProto* dq = DqInput(g, "fc", 1);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(AxisAttr(*dq), 1);  // W is [K=4, N=3]; output channels are columns
  const auto* qw = Init(g, dq->input(0));
  const auto* scale = Init(g, dq->input(1));
  ASSERT_TRUE(qw && scale);
  EXPECT_EQ(std::vector<int64_t>(qw->dims().begin(), qw->dims().end()),
            (std::vector<int64_t>{4, 3}));
  const std::vector<float> w = ptqflow::testing::SeededValues(12, 3, -1.f, 1.f);
  std::vector<float> m(3, 0.f);
  for (size_t i = 0; i < 12; ++i) m[i % 3] = std::max(m[i % 3], std::abs(w[i]));
  const std::vector<int> got = Ints8(*qw);
  for (size_t i = 0; i < 12; ++i) {
    const size_t c = i % 3;
    const float idx = std::nearbyint((w[i] + m[c]) / (2 * m[c]) * 254.f);
    EXPECT_EQ(got[i], int(idx) - 127) << i;
  }
  const std::vector<float> s = Floats(*scale);
  for (size_t c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(s[c], m[c] / 127.f);
}

TEST(QdqWriter, DepthwiseInputIsPerChannelUint8) {
  Exported e = ExportTiny();
  const auto& g = e.m.graph();
  const onnx::NodeProto* dq = DqInput(g, "dw", 0);
  ASSERT_NE(dq, nullptr);
  const onnx::NodeProto* q = Producer(g, dq->input(0));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->input(0), "r1");
  const auto* scale = Init(g, q->input(1));
  const auto* zp = Init(g, q->input(2));
  ASSERT_TRUE(scale && zp);
  EXPECT_EQ(zp->data_type(), onnx::TensorProto::UINT8);
  const std::vector<float> s = Floats(*scale);
  if (s.size() == 4) {  // per channel (cpu.json: q8_a_ch on depthwise inputs)
    EXPECT_EQ(AxisAttr(*q), 1);
    for (size_t c = 0; c < 4; ++c) EXPECT_FLOAT_EQ(s[c], (2.f + float(c)) / 255.f);
  } else {
    ASSERT_EQ(s.size(), 1u);
    EXPECT_FLOAT_EQ(s[0], 4.f / 255.f);
  }
  // relu1's other readers: none; r1 is read only through the DQ.
  for (const auto& n : g.node()) {
    if (&n == q) continue;
    for (const auto& in : n.input()) EXPECT_NE(in, "r1") << n.name();
  }
}

TEST(QdqWriter, EditedBiasesAreWrittenIntoTheOriginalInitializers) {
  Exported e = ExportTiny();
  const auto& g = e.m.graph();
  EXPECT_EQ(e.summary.constants_written, 2);
  EXPECT_EQ(e.summary.biases_added, 1);
  const onnx::NodeProto* conv = NodeNamed(g, "conv");
  ASSERT_NE(conv, nullptr);
  ASSERT_EQ(conv->input(2), "B");
  const std::vector<float> b = Floats(*Init(g, "B"));
  const std::vector<float> b0 = {0.1f, -0.2f, 0.3f, 0.05f};
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(b[i], b0[i] + 0.25f);
  const onnx::NodeProto* fc = NodeNamed(g, "fc");
  ASSERT_NE(fc, nullptr);
  const std::vector<float> c = Floats(*Init(g, fc->input(2)));
  EXPECT_EQ(c, (std::vector<float>{1.0f, 0.f, 0.75f}));
  const onnx::NodeProto* dw = NodeNamed(g, "dw");
  ASSERT_NE(dw, nullptr);
  ASSERT_EQ(dw->input_size(), 3);
  EXPECT_EQ(Floats(*Init(g, dw->input(2))), (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
}

TEST(QdqWriter, UntouchedModelKeepsItsBiases) {
  ptqflow::testing::OnnxBuilder b = ptqflow::testing::TinyQdqModel();
  auto g = ImportOnnxFromBytes(b.Bytes(), "tiny");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ptqflow::testing::HandQuantized hq = ptqflow::testing::QuantizeTinyByHand(*g);
  // Undo the hand edits of the biases: the writer must then write none back.
  graph::Graph fresh = *g;
  for (graph::NodeId id : hq.g.NodesOfType("Const")) {
    graph::Node& n = hq.g.node(id);
    if (n.name == "conv/Bias" || n.name == "Cfc") {
      const graph::NodeId o = fresh.FindByName(n.name);
      ASSERT_NE(o, graph::kNoNode) << n.name;
      n.constant = fresh.node(o).constant;
    }
    if (n.name == "dw/add_/bias") {
      graph::Tensor z = graph::Tensor::Allocate(graph::ElementType::kF32, n.constant.shape());
      std::memset(z.mutable_bytes(), 0, z.nbytes());
      n.constant = z;
    }
  }
  onnx::ModelProto m;
  auto s = BuildQdqModel(b.model(), hq.g, hq.plan, {}, &m);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->constants_written, 0);
  EXPECT_EQ(s->biases_added, 0);
  EXPECT_EQ(Floats(*Init(m.graph(), "B")), (std::vector<float>{0.1f, -0.2f, 0.3f, 0.05f}));
  EXPECT_EQ(NodeNamed(m.graph(), "dw")->input_size(), 2);
}

TEST(QdqWriter, ChangedHelperConstantIsAnErrorNamingIt) {
  // Gemm alpha = 2 gives a helper constant "fc/alpha" with no ONNX tensor of its own; no FQs.
  ptqflow::testing::OnnxBuilder b = ptqflow::testing::TinyQdqModel();
  for (auto& n : *b.g()->mutable_node()) {
    if (n.name() == "fc") ptqflow::testing::OnnxBuilder::AttrFloat(&n, "alpha", 2.f);
  }
  auto g = ImportOnnxFromBytes(b.Bytes(), "tiny");
  ASSERT_TRUE(g.ok()) << g.status().message();
  quant::QuantizationPlan none;
  onnx::ModelProto m;
  auto same = BuildQdqModel(b.model(), *g, none, {}, &m);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ(same->constants_written, 0);
  EXPECT_EQ(m.graph().node_size(), b.model().graph().node_size());
  const graph::NodeId a = g->FindByName("fc/alpha");
  ASSERT_NE(a, graph::kNoNode);
  g->node(a).constant = graph::Tensor::Scalar(3.f);
  auto s = BuildQdqModel(b.model(), *g, none, {}, &m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("fc/alpha"), std::string::npos) << s.status().message();
}

TEST(QdqWriter, OldOpsetIsConvertedTo13) {
  ptqflow::testing::OnnxBuilder b = ptqflow::testing::TinyQdqModel(11);
  auto g = ImportOnnxFromBytes(b.Bytes(), "tiny11");
  ASSERT_TRUE(g.ok()) << g.status().message();
  ptqflow::testing::HandQuantized hq = ptqflow::testing::QuantizeTinyByHand(*g);
  onnx::ModelProto m;
  auto s = BuildQdqModel(b.model(), hq.g, hq.plan, {}, &m);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->opset_before, 11);
  EXPECT_EQ(s->opset_after, 13);
  EXPECT_GE(m.ir_version(), 7);
}

TEST(QdqWriter, WritesTheFileAtomicallyAndItParsesBack) {
  ptqflow::testing::OnnxBuilder b = ptqflow::testing::TinyQdqModel();
  const auto dir = ptqflow::testing::TempDir();
  const auto in = b.Save(dir, "tiny.onnx");
  auto g = ImportOnnx(in);
  ASSERT_TRUE(g.ok()) << g.status().message();
  ptqflow::testing::HandQuantized hq = ptqflow::testing::QuantizeTinyByHand(*g);
  auto s = WriteQdqOnnx(in, hq.g, hq.plan, dir / "tiny_qdq.onnx");
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(f.path().string().find(".tmp"), std::string::npos) << f.path();
  }
  std::ifstream f(dir / "tiny_qdq.onnx", std::ios::binary);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromIstream(&f));
  EXPECT_TRUE(CheckOnnxModel(m).ok());
  auto missing = WriteQdqOnnx(dir / "nope.onnx", hq.g, hq.plan, dir / "x.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.onnx"), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::io

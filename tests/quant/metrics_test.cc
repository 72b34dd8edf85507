#include "quant/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ptqflow::quant {
namespace {

graph::Tensor F32(graph::Shape shape, std::vector<float> v) {
  return graph::Tensor::FromVector<float>(graph::ElementType::kF32, std::move(shape), v);
}

std::unique_ptr<Metric> Make(MetricSpec spec) {
  auto m = Metric::Create(spec);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(*m);
}

MetricSpec Spec(const std::string& type, std::vector<std::string> dictionary = {}) {
  MetricSpec s;
  s.type = type;
  s.dictionary = std::move(dictionary);
  return s;
}
SampleTruth Label(int64_t c) {
  SampleTruth t;
  t.class_label = c;
  return t;
}
SampleTruth Text(const std::string& text) {
  SampleTruth t;
  t.text = text;
  return t;
}

TEST(MetricsTest, AccuracyAndTopK) {
  auto acc = Make(Spec("accuracy"));
  auto top2 = Make([] {
    auto s = Spec("top_k");
    s.top_k = 2;
    return s;
  }());
  const graph::Tensor out = F32({1, 4}, {0.1f, 0.7f, 0.7f, 0.2f});
  // Ties: the first maximum wins (numpy argmax), so class 1 is top-1, class 2 is second.
  EXPECT_EQ(acc->Score(out, Label(1), nullptr, 0)->num, 1.0);
  EXPECT_EQ(acc->Score(out, Label(2), nullptr, 0)->num, 0.0);
  EXPECT_EQ(top2->Score(out, Label(2), nullptr, 0)->num, 1.0);
  EXPECT_EQ(top2->Score(out, Label(3), nullptr, 0)->num, 0.0);
  std::vector<SampleScore> s = {{1, 1}, {0, 1}, {1, 1}, {1, 1}};
  EXPECT_DOUBLE_EQ(acc->Aggregate(s), 0.75);
  EXPECT_TRUE(acc->higher_is_better());
  // Errors name the sample.
  auto bad = acc->Score(out, Label(9), nullptr, 17);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sample 17"), std::string::npos);
  EXPECT_FALSE(acc->Score(out, SampleTruth(), nullptr, 0).ok());
  EXPECT_FALSE(acc->Score(F32({2, 2}, {1, 2, 3, 4}), Label(0), nullptr, 0).ok());
}

TEST(MetricsTest, CtcGreedyDecoding) {
  const std::vector<std::string> dict = {"a", "b", " "};
  // Steps argmax: a a blank a b b space -> "aab " ; classes: 0 blank, 1 a, 2 b, 3 space.
  const int best[] = {1, 1, 0, 1, 2, 2, 3};
  std::vector<float> p(7 * 4, 0.0f);
  for (int t = 0; t < 7; ++t) p[t * 4 + best[t]] = 1.0f;
  auto text = CtcGreedyDecode(p, 7, 4, dict);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "aab ");
  auto em = Make(Spec("ctc_exact_match", dict));
  auto cer = Make(Spec("character_error_rate", dict));
  const graph::Tensor out = F32({1, 7, 4}, p);
  EXPECT_EQ(em->Score(out, Text("aab"), nullptr, 0)->num, 1.0);  // trailing space stripped
  EXPECT_EQ(em->Score(out, Text("ab"), nullptr, 0)->num, 0.0);
  auto c = cer->Score(out, Text("abb"), nullptr, 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->num, 1.0);  // aab -> abb: one substitution
  EXPECT_EQ(c->den, 3.0);
  EXPECT_FALSE(cer->higher_is_better());
  // Unicode white space is stripped too: PaddleOCR's dictionary holds the ideographic space
  // U+3000, which PP-OCRv4 emits in a line's white padding.
  const std::vector<std::string> cjk = {"a", "\u3000", "\u00a0", "b"};
  // nbsp a ideo b ideo blank ideo -> "\u00a0a\u3000b\u3000\u3000" -> stripped "a\u3000b"
  const int steps[] = {3, 1, 2, 4, 2, 0, 2};
  std::vector<float> q(7 * 5, 0.0f);
  for (int t = 0; t < 7; ++t) q[t * 5 + steps[t]] = 1.0f;
  auto em2 = Make(Spec("ctc_exact_match", cjk));
  EXPECT_EQ(em2->Score(F32({1, 7, 5}, q), Text("a\u3000b"), nullptr, 0)->num, 1.0);
  EXPECT_EQ(em2->Score(F32({1, 7, 5}, q), Text("ab"), nullptr, 0)->num, 0.0);
  // CER over samples is total edits / total characters, not a mean of ratios.
  std::vector<SampleScore> s = {{1, 3}, {0, 7}};
  EXPECT_DOUBLE_EQ(cer->Aggregate(s), 0.1);
  // A dictionary that does not match the class count is refused.
  auto wrong = Make(Spec("ctc_exact_match", {"a", "b"}));
  auto r = wrong->Score(out, Text("x"), nullptr, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("4 classes"), std::string::npos) << r.status().message();
}

TEST(MetricsTest, Levenshtein) {
  EXPECT_EQ(Utf8Levenshtein("kitten", "sitting"), 3u);
  EXPECT_EQ(Utf8Levenshtein("", "abc"), 3u);
  EXPECT_EQ(Utf8Length("h\xc3\xa9llo"), 5u);                       // é is one code point
  EXPECT_EQ(Utf8Levenshtein("\xe4\xb8\xad", "\xe6\x96\x87"), 1u);  // 中 vs 文
}

TEST(MetricsTest, BinaryAccuracy) {
  auto m = Make(Spec("binary_accuracy"));
  EXPECT_EQ(m->Score(F32({1, 1}, {0.5f}), Label(1), nullptr, 0)->num, 1.0);
  EXPECT_EQ(m->Score(F32({1, 1}, {0.49f}), Label(1), nullptr, 0)->num, 0.0);
  EXPECT_EQ(m->Score(F32({1}, {0.1f}), Label(0), nullptr, 0)->num, 1.0);
  EXPECT_FALSE(m->Score(F32({1, 2}, {0.1f, 0.2f}), Label(0), nullptr, 0).ok());
}

TEST(MetricsTest, AnnotationFree) {
  auto agree = Make(Spec("top1_agreement"));
  auto sqnr = Make(Spec("sqnr"));
  auto cos = Make(Spec("cosine"));
  const graph::Tensor ref = F32({1, 3}, {3, 4, 0});
  const graph::Tensor out = F32({1, 3}, {3, 4, 1});
  EXPECT_TRUE(agree->annotation_free());
  EXPECT_EQ(agree->Score(out, SampleTruth(), &ref, 0)->num, 1.0);
  auto s = sqnr->Score(out, SampleTruth(), &ref, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->num, 25.0);
  EXPECT_DOUBLE_EQ(s->den, 1.0);
  EXPECT_NEAR(sqnr->SampleValue(*s), 10 * std::log10(25.0), 1e-12);
  EXPECT_TRUE(std::isinf(sqnr->Aggregate(std::vector<SampleScore>{{25, 0}})));
  auto c = cos->Score(out, SampleTruth(), &ref, 0);
  EXPECT_NEAR(c->num, 25.0 / (5.0 * std::sqrt(26.0)), 1e-12);
  EXPECT_FALSE(sqnr->Score(out, SampleTruth(), nullptr, 0).ok());
  EXPECT_FALSE(sqnr->Score(F32({1, 2}, {1, 2}), SampleTruth(), &ref, 0).ok());
}

TEST(MetricsTest, CreateErrors) {
  EXPECT_FALSE(Metric::Create(Spec("f1")).ok());
  EXPECT_FALSE(Metric::Create([] {
                 auto s = Spec("top_k");
                 s.top_k = 0;
                 return s;
               }())
                   .ok());
  EXPECT_FALSE(Metric::Create(Spec("character_error_rate")).ok());
  EXPECT_EQ(MetricTypes().size(), 8u);
}

}  // namespace
}  // namespace ptqflow::quant

#include "quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace ptqflow::quant {
namespace {

std::vector<char32_t> CodePoints(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    }
    if (!ok) {  // an invalid byte is one code point of its own
      out.push_back(0xdc00 + c);
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += n;
  }
  return out;
}

// Unicode White_Space (plus U+FEFF), as JavaScript's String.prototype.trim strips: dictionaries
// such as PaddleOCR's ppocr_keys_v1.txt hold the ideographic space U+3000, which a model may
// emit in the padding after the text.
bool IsUnicodeSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
         c == 0x3000 || c == 0xfeff;
}

// `s` without leading and trailing white space (UTF-8).
std::string Strip(const std::string& s) {
  size_t begin = s.size(), end = 0;  // byte range of the non-space code points
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    const std::vector<char32_t> cp = CodePoints(s.substr(i, n));
    if (cp.size() != 1 || !IsUnicodeSpace(cp[0])) {
      begin = std::min(begin, i);
      end = i + n;
    }
    i += n;
  }
  return begin < end ? s.substr(begin, end - begin) : "";
}

// The class scores of a batch-1 output: every element when all dims but one are 1.
Result<std::span<const float>> ClassScores(const graph::Tensor& t, const std::string& what) {
  if (!t.shape().empty() && t.shape()[0] != 1) {
    return Status::Error(what + ": expected an output of batch 1, got shape " +
                         graph::ShapeToString(t.shape()));
  }
  return t.span<float>();
}

size_t Argmax(std::span<const float> v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

}  // namespace

const std::vector<std::string>& MetricTypes() {
  static const std::vector<std::string>* types = new std::vector<std::string>{
      "accuracy",       "top_k", "ctc_exact_match", "character_error_rate", "binary_accuracy",
      "top1_agreement", "sqnr",  "cosine"};
  return *types;
}

Metric::Metric(MetricSpec spec) : spec_(std::move(spec)) {
  name_ = spec_.name.empty() ? spec_.type : spec_.name;
}

Result<std::unique_ptr<Metric>> Metric::Create(const MetricSpec& spec) {
  const auto& types = MetricTypes();
  if (std::find(types.begin(), types.end(), spec.type) == types.end()) {
    std::string list;
    for (const auto& t : types) list += " " + t;
    return Status::Error("metric '" + spec.name + "': unknown type '" + spec.type +
                         "'; expected one of:" + list);
  }
  if (spec.type == "top_k" && spec.top_k < 1) {
    return Status::Error("metric '" + spec.name + "': top_k must be >= 1");
  }
  if ((spec.type == "ctc_exact_match" || spec.type == "character_error_rate") &&
      spec.dictionary.empty()) {
    return Status::Error("metric '" + spec.name + "': " + spec.type + " needs a dictionary");
  }
  return std::unique_ptr<Metric>(new Metric(spec));
}

bool Metric::higher_is_better() const { return spec_.type != "character_error_rate"; }

bool Metric::annotation_free() const {
  return spec_.type == "top1_agreement" || spec_.type == "sqnr" || spec_.type == "cosine";
}

Result<SampleScore> Metric::Score(const graph::Tensor& output_any, const SampleTruth& truth,
                                  const graph::Tensor* reference_any, size_t index) const {
  const std::string what = "sample " + std::to_string(index) + ", metric '" + name_ + "'";
  const graph::Tensor output = output_any.ToF32();
  const std::string& type = spec_.type;
  if (annotation_free()) {
    if (reference_any == nullptr) return Status::Error(what + ": no FP32 reference output");
    const graph::Tensor ref = reference_any->ToF32();
    if (ref.shape() != output.shape()) {
      return Status::Error(what + ": output shape " + graph::ShapeToString(output.shape()) +
                           " differs from the reference's " + graph::ShapeToString(ref.shape()));
    }
    std::span<const float> o = output.span<float>(), r = ref.span<float>();
    if (type == "top1_agreement") {
      PTQ_ASSIGN_OR_RETURN(auto os, ClassScores(output, what));
      return SampleScore{Argmax(os) == Argmax(r) ? 1.0 : 0.0, 1.0};
    }
    double sig = 0, noise = 0, oo = 0;
    for (size_t i = 0; i < o.size(); ++i) {
      sig += double(r[i]) * r[i];
      noise += (double(r[i]) - o[i]) * (double(r[i]) - o[i]);
      oo += double(o[i]) * o[i];
    }
    if (type == "sqnr") return SampleScore{sig, noise};
    double dot = 0;
    for (size_t i = 0; i < o.size(); ++i) dot += double(r[i]) * o[i];
    const double norm = std::sqrt(sig) * std::sqrt(oo);
    return SampleScore{norm > 0 ? dot / norm : (sig == oo ? 1.0 : 0.0), 1.0};
  }
  if (type == "ctc_exact_match" || type == "character_error_rate") {
    if (!truth.text) return Status::Error(what + ": the sample has no text label");
    const graph::Shape& s = output.shape();
    if (s.size() < 2 || (s.size() == 3 && s[0] != 1) || s.size() > 3) {
      return Status::Error(what + ": expected CTC scores [1, T, C] or [T, C], got " +
                           graph::ShapeToString(s));
    }
    const int64_t classes = s.back(), steps = s[s.size() - 2];
    if (classes != static_cast<int64_t>(spec_.dictionary.size()) + 1) {
      return Status::Error(what + ": the output has " + std::to_string(classes) +
                           " classes but the dictionary gives " +
                           std::to_string(spec_.dictionary.size() + 1) +
                           " (blank + entries; does the model have a space class?)");
    }
    PTQ_ASSIGN_OR_RETURN(std::string text,
                         CtcGreedyDecode(output.span<float>(), steps, classes, spec_.dictionary));
    text = Strip(text);
    if (type == "ctc_exact_match") return SampleScore{text == *truth.text ? 1.0 : 0.0, 1.0};
    return SampleScore{static_cast<double>(Utf8Levenshtein(text, *truth.text)),
                       static_cast<double>(Utf8Length(*truth.text))};
  }
  if (!truth.class_label) return Status::Error(what + ": the sample has no class label");
  const int64_t label = *truth.class_label;
  PTQ_ASSIGN_OR_RETURN(auto scores, ClassScores(output, what));
  if (type == "binary_accuracy") {
    if (scores.size() != 1) {
      return Status::Error(what + ": expected one score, got shape " +
                           graph::ShapeToString(output.shape()));
    }
    const bool pred = scores[0] >= spec_.threshold;
    return SampleScore{pred == (label != 0) ? 1.0 : 0.0, 1.0};
  }
  if (label < 0 || static_cast<size_t>(label) >= scores.size()) {
    return Status::Error(what + ": label " + std::to_string(label) + " is outside the " +
                         std::to_string(scores.size()) + " output classes");
  }
  const size_t k = type == "top_k" ? static_cast<size_t>(spec_.top_k) : 1;
  // Rank of the label: classes scoring higher, or equal with a lower index.
  size_t better = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] > scores[label] || (scores[i] == scores[label] && i < size_t(label))) ++better;
  }
  return SampleScore{better < k ? 1.0 : 0.0, 1.0};
}

double Metric::Aggregate(std::span<const SampleScore> scores) const {
  if (scores.empty()) return std::numeric_limits<double>::quiet_NaN();
  double num = 0, den = 0;
  for (const SampleScore& s : scores) {
    num += s.num;
    den += s.den;
  }
  if (spec_.type == "sqnr") {
    if (den == 0) return std::numeric_limits<double>::infinity();
    return 10.0 * std::log10(num / den);
  }
  return den == 0 ? std::numeric_limits<double>::quiet_NaN() : num / den;
}

Result<std::string> CtcGreedyDecode(std::span<const float> probs, int64_t steps, int64_t classes,
                                    const std::vector<std::string>& dictionary, int blank) {
  if (classes > static_cast<int64_t>(dictionary.size()) + 1) {
    return Status::Error("CTC output has " + std::to_string(classes) +
                         " classes but the dictionary has only " +
                         std::to_string(dictionary.size()) + " entries (+ blank)");
  }
  if (static_cast<int64_t>(probs.size()) != steps * classes) {
    return Status::Error("CTC output has " + std::to_string(probs.size()) + " values, expected " +
                         std::to_string(steps) + " x " + std::to_string(classes));
  }
  std::string text;
  int64_t prev = -1;
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t c = static_cast<int64_t>(Argmax(probs.subspan(t * classes, classes)));
    if (c != prev && c != blank) text += dictionary[c - 1];
    prev = c;
  }
  return text;
}

size_t Utf8Length(const std::string& s) { return CodePoints(s).size(); }

size_t Utf8Levenshtein(const std::string& a_text, const std::string& b_text) {
  const std::vector<char32_t> a = CodePoints(a_text), b = CodePoints(b_text);
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  std::iota(prev.begin(), prev.end(), size_t{0});
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace ptqflow::quant

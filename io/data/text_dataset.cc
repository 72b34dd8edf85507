#include "io/data/text_dataset.h"

#include <charconv>
#include <sstream>

#include "graph/tensor.h"

namespace ptqflow::io {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

Result<std::unique_ptr<TextDataset>> TextDataset::Create(const TextDatasetOptions& options) {
  auto tok = WordPieceTokenizer::Create(options.tokenizer);
  if (!tok.ok()) return tok.status().WithContext("text dataset " + options.source);
  std::unique_ptr<TextDataset> d(new TextDataset(options, std::move(tok).value()));
  if (options.unit == TextUnit::kLines) {
    PTQ_ASSIGN_OR_RETURN(std::string text, ReadFileBytes(options.source));
    std::istringstream in(text);
    std::string line;
    int no = 0;
    while (std::getline(in, line)) {
      ++no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (Trim(line).empty()) continue;
      if (options.class_label_column) {
        const size_t tab = line.rfind('\t');
        if (tab == std::string::npos) {
          return Status::Error(options.source + ":" + std::to_string(no) +
                               ": expected 'text<TAB>label'");
        }
        const std::string lab = Trim(line.substr(tab + 1));
        int64_t v = 0;
        auto [p, ec] = std::from_chars(lab.data(), lab.data() + lab.size(), v);
        if (ec != std::errc() || p != lab.data() + lab.size() || lab.empty()) {
          return Status::Error(options.source + ":" + std::to_string(no) + ": label '" + lab +
                               "' is not an integer");
        }
        d->line_labels_.push_back(v);
        line.resize(tab);
      }
      d->lines_.push_back(line);
      d->line_numbers_.push_back(no);
    }
    d->unit_count_ = d->lines_.size();
    if (d->unit_count_ == 0) return Status::Error(options.source + ": no text lines");
  } else {
    PTQ_ASSIGN_OR_RETURN(d->files_, ListDataFiles(options.source, options.source_kind, {".txt"}));
    PTQ_ASSIGN_OR_RETURN(d->annotations_, FileAnnotations::Load(options.annotations, d->files_));
    d->unit_count_ = d->files_.size();
  }
  return d;
}

Result<Sample> TextDataset::Get(size_t i) const {
  if (i >= unit_count_) {
    return Status::Error("sample " + std::to_string(i) + " out of range (dataset " +
                         options_.source + " has " + std::to_string(unit_count_) + " texts)");
  }
  std::string text;
  std::string source;
  Sample s;
  if (options_.unit == TextUnit::kLines) {
    text = lines_[i];
    source = options_.source + ":" + std::to_string(line_numbers_[i]);
    if (!line_labels_.empty()) {
      Annotation a;
      a.class_label = line_labels_[i];
      a.source = source;
      s.annotation = a;
    }
  } else {
    source = files_[i].string();
    auto r = ReadFileBytes(files_[i]);
    if (!r.ok()) return r.status().WithContext(SampleContext(i, source));
    text = std::move(r).value();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    s.annotation = annotations_.For(files_[i]);
  }
  const std::string ctx = SampleContext(i, source);
  Result<Encoding> enc = Status::Ok();
  if (!options_.pair_separator.empty()) {
    const size_t p = text.find(options_.pair_separator);
    if (p == std::string::npos) {
      return Status::Error(ctx + ": no sentence-pair separator in the text");
    }
    enc = tokenizer_.Encode(std::string_view(text).substr(0, p),
                            std::string_view(text).substr(p + options_.pair_separator.size()));
  } else {
    enc = tokenizer_.Encode(text);
  }
  if (!enc.ok()) return enc.status().WithContext(ctx);
  const int64_t L = static_cast<int64_t>(enc->input_ids.size());
  s.inputs.emplace(options_.input_ids_name,
                   Tensor::FromVector<int64_t>(ElementType::kI64, {1, L}, enc->input_ids));
  s.inputs.emplace(options_.attention_mask_name,
                   Tensor::FromVector<int64_t>(ElementType::kI64, {1, L}, enc->attention_mask));
  if (!options_.token_type_ids_name.empty()) {
    s.inputs.emplace(options_.token_type_ids_name,
                     Tensor::FromVector<int64_t>(ElementType::kI64, {1, L}, enc->token_type_ids));
  }
  s.source = source;
  return s;
}

}  // namespace ptqflow::io

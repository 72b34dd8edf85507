#include "io/data/annotations.h"

#include <charconv>
#include <sstream>

#include "io/data/file_util.h"

namespace ptqflow::io {

namespace fs = std::filesystem;

namespace {

Status AddEntry(const fs::path& path, int line_no, const std::string& name,
                const std::string& value, std::map<std::string, std::string>* by_rel,
                std::map<std::string, std::string>* by_name) {
  if (name.empty()) {
    return Status::Error(path.string() + ":" + std::to_string(line_no) + ": empty file name");
  }
  const std::string rel = fs::path(name).lexically_normal().string();
  if (!by_rel->emplace(rel, value).second) {
    return Status::Error(path.string() + ":" + std::to_string(line_no) + ": '" + name +
                         "' is listed twice");
  }
  // A name that several entries share (a/x.png, b/x.png) is ambiguous: mark it unusable.
  const std::string base = fs::path(name).filename().string();
  auto [it, inserted] = by_name->emplace(base, value);
  if (!inserted) it->second = std::string(1, '\0');
  return Status::Ok();
}

}  // namespace

Result<LabelTable> LabelTable::ReadClassLabels(const fs::path& path) {
  PTQ_ASSIGN_OR_RETURN(std::string text, ReadFileBytes(path));
  LabelTable t;
  t.path_ = path;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string s = Trim(line);
    if (s.empty() || s[0] == '#') continue;
    const size_t sep = s.find_last_of(" \t");
    if (sep == std::string::npos) {
      return Status::Error(path.string() + ":" + std::to_string(line_no) +
                           ": expected 'name label', got '" + s + "'");
    }
    const std::string name = Trim(s.substr(0, sep));
    const std::string label = s.substr(sep + 1);
    int64_t v = 0;
    auto [p, ec] = std::from_chars(label.data(), label.data() + label.size(), v);
    if (ec != std::errc() || p != label.data() + label.size()) {
      return Status::Error(path.string() + ":" + std::to_string(line_no) + ": label '" + label +
                           "' is not an integer");
    }
    PTQ_RETURN_IF_ERROR(
        AddEntry(path, line_no, name, std::to_string(v), &t.by_relpath_, &t.by_name_));
    ++t.size_;
  }
  return t;
}

Result<LabelTable> LabelTable::ReadTextLabels(const fs::path& path) {
  PTQ_ASSIGN_OR_RETURN(std::string text, ReadFileBytes(path));
  LabelTable t;
  t.path_ = path;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      return Status::Error(path.string() + ":" + std::to_string(line_no) +
                           ": expected 'file<TAB>text', found no tab");
    }
    PTQ_RETURN_IF_ERROR(AddEntry(path, line_no, line.substr(0, tab), line.substr(tab + 1),
                                 &t.by_relpath_, &t.by_name_));
    ++t.size_;
  }
  return t;
}

std::optional<std::string> LabelTable::Find(const fs::path& file) const {
  const fs::path rel = file.lexically_normal().lexically_relative(path_.parent_path());
  if (!rel.empty()) {
    auto it = by_relpath_.find(rel.string());
    if (it != by_relpath_.end()) return it->second;
  }
  auto it = by_name_.find(file.filename().string());
  if (it != by_name_.end() && it->second != std::string(1, '\0')) return it->second;
  return std::nullopt;
}

std::optional<int64_t> LabelTable::ClassOf(const fs::path& file) const {
  auto v = Find(file);
  if (!v) return std::nullopt;
  return std::stoll(*v);
}

std::optional<std::string> LabelTable::TextOf(const fs::path& file) const { return Find(file); }

Result<FileAnnotations> FileAnnotations::Load(const AnnotationOptions& options,
                                              const std::vector<fs::path>& files) {
  FileAnnotations a;
  if (!options.class_labels_file.empty()) {
    PTQ_ASSIGN_OR_RETURN(a.classes_, LabelTable::ReadClassLabels(options.class_labels_file));
    for (const auto& f : files) {
      if (!a.classes_->ClassOf(f)) {
        return Status::Error(options.class_labels_file + ": no class label for '" + f.string() +
                             "'");
      }
    }
  }
  if (!options.text_labels_file.empty()) {
    PTQ_ASSIGN_OR_RETURN(a.texts_, LabelTable::ReadTextLabels(options.text_labels_file));
    for (const auto& f : files) {
      if (!a.texts_->TextOf(f)) {
        return Status::Error(options.text_labels_file + ": no text label for '" + f.string() + "'");
      }
    }
  }
  return a;
}

std::optional<Annotation> FileAnnotations::For(const fs::path& file) const {
  if (empty()) return std::nullopt;
  Annotation a;
  a.source = file.string();
  if (classes_) a.class_label = classes_->ClassOf(file);
  if (texts_) a.text = texts_->TextOf(file);
  return a;
}

}  // namespace ptqflow::io

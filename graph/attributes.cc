#include "graph/attributes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ptqflow::graph {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  if (Trim(s).empty()) return out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(',', start);
    out.push_back(
        Trim(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start)));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

bool ParseInt64(const std::string& s, int64_t* v) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto r = std::from_chars(b, e, *v);
  return r.ec == std::errc() && r.ptr == e && !s.empty();
}

bool ParseDouble(const std::string& s, double* v) {
  if (s.empty()) return false;
  if (s == "inf" || s == "+inf") {
    *v = HUGE_VAL;
    return true;
  }
  if (s == "-inf") {
    *v = -HUGE_VAL;
    return true;
  }
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

std::string FormatDouble(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

Result<std::vector<int64_t>> ParseIntList(const std::string& s) {
  std::vector<int64_t> out;
  for (const std::string& part : SplitComma(s)) {
    int64_t v;
    if (!ParseInt64(part, &v)) return Status::Error("'" + s + "' is not a list of integers");
    out.push_back(v);
  }
  return out;
}

Result<std::vector<double>> ParseFloatList(const std::string& s) {
  std::vector<double> out;
  for (const std::string& part : SplitComma(s)) {
    double v;
    if (!ParseDouble(part, &v)) return Status::Error("'" + s + "' is not a list of numbers");
    out.push_back(v);
  }
  return out;
}

const std::string* Attributes::Find(const std::string& name) const {
  for (const Entry& e : entries_) {
    if (e.first == name) return &e.second;
  }
  return nullptr;
}

void Attributes::Set(const std::string& name, std::string value) {
  for (Entry& e : entries_) {
    if (e.first == name) {
      e.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(name, std::move(value));
}

void Attributes::SetInts(const std::string& name, const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  Set(name, s);
}

void Attributes::SetFloat(const std::string& name, double v) { Set(name, FormatDouble(v)); }

void Attributes::SetFloats(const std::string& name, const std::vector<double>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += FormatDouble(v[i]);
  }
  Set(name, s);
}

bool Attributes::Erase(const std::string& name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.first == name; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

Result<std::string> Attributes::GetString(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  return *v;
}

Result<int64_t> Attributes::GetInt(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  int64_t out;
  if (!ParseInt64(Trim(*v), &out)) {
    return Status::Error("attribute '" + name + "'='" + *v + "' is not an integer");
  }
  return out;
}

Result<std::vector<int64_t>> Attributes::GetInts(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  auto r = ParseIntList(*v);
  if (!r.ok()) return r.status().WithContext("attribute '" + name + "'");
  return r;
}

Result<double> Attributes::GetFloat(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  double out;
  if (!ParseDouble(Trim(*v), &out)) {
    return Status::Error("attribute '" + name + "'='" + *v + "' is not a number");
  }
  return out;
}

Result<std::vector<double>> Attributes::GetFloats(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  auto r = ParseFloatList(*v);
  if (!r.ok()) return r.status().WithContext("attribute '" + name + "'");
  return r;
}

Result<bool> Attributes::GetBool(const std::string& name) const {
  const std::string* v = Find(name);
  if (!v) return Status::Error("missing attribute '" + name + "'");
  std::string s = Trim(*v);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  return Status::Error("attribute '" + name + "'='" + *v + "' is not a boolean");
}

Result<std::string> Attributes::GetString(const std::string& name, const std::string& def) const {
  return Has(name) ? GetString(name) : Result<std::string>(def);
}
Result<int64_t> Attributes::GetInt(const std::string& name, int64_t def) const {
  return Has(name) ? GetInt(name) : Result<int64_t>(def);
}
Result<std::vector<int64_t>> Attributes::GetInts(const std::string& name,
                                                 const std::vector<int64_t>& def) const {
  return Has(name) ? GetInts(name) : Result<std::vector<int64_t>>(def);
}
Result<double> Attributes::GetFloat(const std::string& name, double def) const {
  return Has(name) ? GetFloat(name) : Result<double>(def);
}
Result<bool> Attributes::GetBool(const std::string& name, bool def) const {
  return Has(name) ? GetBool(name) : Result<bool>(def);
}

}  // namespace ptqflow::graph

#include "io/ir/ir_format.h"

namespace ptqflow::io {

std::vector<std::string> SplitTensorNames(std::string_view names) {
  std::vector<std::string> out;
  if (names.empty()) return out;
  std::string cur;
  for (size_t i = 0; i < names.size(); ++i) {
    const char c = names[i];
    if (c == '\\' && i + 1 < names.size() && names[i + 1] == ',') {
      cur += ',';
      ++i;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return out;
}

std::string JoinTensorNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    for (char c : names[i]) {
      if (c == ',') out += '\\';
      out += c;
    }
  }
  return out;
}

}  // namespace ptqflow::io

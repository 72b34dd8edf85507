// Op attributes as the IR stores them: an ordered list of (name, string value). Keeping the
// exact strings makes an IR read->write round trip byte-faithful for every op, including ops
// ptqflow does not execute. Typed getters parse on demand; typed setters format canonically
// (integers in decimal, float lists with the shortest round-trip representation, lists
// comma-separated without spaces), as OpenVINO's serializer does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/status.h"

namespace ptqflow::graph {

class Attributes {
 public:
  using Entry = std::pair<std::string, std::string>;

  bool Has(const std::string& name) const { return Find(name) != nullptr; }
  // nullptr when absent.
  const std::string* Find(const std::string& name) const;
  // Sets or replaces (keeps the original position when replacing).
  void Set(const std::string& name, std::string value);
  void SetInt(const std::string& name, int64_t v) { Set(name, std::to_string(v)); }
  void SetInts(const std::string& name, const std::vector<int64_t>& v);
  void SetFloat(const std::string& name, double v);
  void SetFloats(const std::string& name, const std::vector<double>& v);
  void SetBool(const std::string& name, bool v) { Set(name, v ? "true" : "false"); }
  bool Erase(const std::string& name);

  // Typed reads. Missing attribute or unparsable value -> error naming the attribute.
  Result<std::string> GetString(const std::string& name) const;
  Result<int64_t> GetInt(const std::string& name) const;
  Result<std::vector<int64_t>> GetInts(const std::string& name) const;
  Result<double> GetFloat(const std::string& name) const;
  Result<std::vector<double>> GetFloats(const std::string& name) const;
  Result<bool> GetBool(const std::string& name) const;
  // Defaults for optional attributes (an unparsable present value is still an error).
  Result<std::string> GetString(const std::string& name, const std::string& def) const;
  Result<int64_t> GetInt(const std::string& name, int64_t def) const;
  Result<std::vector<int64_t>> GetInts(const std::string& name,
                                       const std::vector<int64_t>& def) const;
  Result<double> GetFloat(const std::string& name, double def) const;
  Result<bool> GetBool(const std::string& name, bool def) const;

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  bool operator==(const Attributes& o) const { return entries_ == o.entries_; }

 private:
  std::vector<Entry> entries_;
};

// Formats a double with the shortest representation that parses back to the same value.
std::string FormatDouble(double v);
// Parses "1,2, 3" (spaces allowed, empty string = empty list).
Result<std::vector<int64_t>> ParseIntList(const std::string& s);
Result<std::vector<double>> ParseFloatList(const std::string& s);

}  // namespace ptqflow::graph

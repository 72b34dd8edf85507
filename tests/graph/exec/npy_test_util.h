// Minimal .npy read/write for executor tests (f32, f64, i64, i32, u8, bool; C order).
// The project's real .npy I/O belongs to io/data; this stays test-local.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::exec::testing {

inline const char* NpyDescr(graph::ElementType t) {
  switch (t) {
    case graph::ElementType::kF32:
      return "<f4";
    case graph::ElementType::kF64:
      return "<f8";
    case graph::ElementType::kI64:
      return "<i8";
    case graph::ElementType::kI32:
      return "<i4";
    case graph::ElementType::kU8:
      return "|u1";
    case graph::ElementType::kBoolean:
      return "|b1";
    default:
      return nullptr;
  }
}

inline Status WriteNpy(const std::filesystem::path& file, const graph::Tensor& t) {
  const char* descr = NpyDescr(t.type());
  if (!descr) return Status::Error("WriteNpy: unsupported type");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += std::to_string(t.shape()[i]) +
             (t.shape().size() == 1 ? "," : (i + 1 < t.shape().size() ? ", " : ""));
  }
  shape += ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::ofstream f(file, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  uint16_t len = static_cast<uint16_t>(header.size());
  f.write(reinterpret_cast<const char*>(&len), 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(t.bytes()), static_cast<std::streamsize>(t.nbytes()));
  return f ? Status::Ok() : Status::Error("cannot write " + file.string());
}

inline Result<graph::Tensor> ReadNpy(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  if (!f) return Status::Error("cannot open " + file.string());
  std::stringstream ss;
  ss << f.rdbuf();
  std::string b = ss.str();
  if (b.size() < 10 || b.compare(1, 5, "NUMPY") != 0)
    return Status::Error(file.string() + ": not npy");
  size_t hlen, hstart;
  if (b[6] == 1) {
    hlen = static_cast<uint8_t>(b[8]) | (static_cast<uint8_t>(b[9]) << 8);
    hstart = 10;
  } else {
    uint32_t l;
    std::memcpy(&l, b.data() + 8, 4);
    hlen = l;
    hstart = 12;
  }
  std::string h = b.substr(hstart, hlen);
  auto field = [&](const std::string& key) {
    size_t p = h.find("'" + key + "'");
    return p == std::string::npos ? std::string() : h.substr(p);
  };
  std::string d = field("descr");
  size_t q1 = d.find('\'', 7), q2 = d.find('\'', q1 + 1);
  std::string descr = d.substr(q1 + 1, q2 - q1 - 1);
  graph::ElementType t;
  if (descr == "<f4")
    t = graph::ElementType::kF32;
  else if (descr == "<f8")
    t = graph::ElementType::kF64;
  else if (descr == "<i8")
    t = graph::ElementType::kI64;
  else if (descr == "<i4")
    t = graph::ElementType::kI32;
  else if (descr == "|u1")
    t = graph::ElementType::kU8;
  else if (descr == "|b1")
    t = graph::ElementType::kBoolean;
  else
    return Status::Error(file.string() + ": unsupported dtype " + descr);
  std::string s = field("shape");
  size_t p1 = s.find('('), p2 = s.find(')');
  graph::Shape shape;
  std::stringstream dims(s.substr(p1 + 1, p2 - p1 - 1));
  std::string tok;
  while (std::getline(dims, tok, ',')) {
    if (tok.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stoll(tok));
  }
  graph::Tensor out = graph::Tensor::Allocate(t, shape);
  if (b.size() < hstart + hlen + out.nbytes()) return Status::Error(file.string() + ": truncated");
  std::memcpy(out.mutable_bytes(), b.data() + hstart + hlen, out.nbytes());
  return out;
}

}  // namespace ptqflow::exec::testing

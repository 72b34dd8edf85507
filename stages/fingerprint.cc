#include "stages/fingerprint.h"

#include <cstring>

namespace ptqflow::stages {
namespace {

constexpr uint64_t kMul1 = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMul2 = 0xc2b2ae3d27d4eb4full;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t Fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

}  // namespace

void Fingerprinter::AddU64(uint64_t v) {
  h_ = Rotl(h_ ^ (v * kMul1), 29) * kMul2 + 0x165667b19e3779f9ull;
  ++count_;
}

void Fingerprinter::AddBytes(const void* data, size_t n) {
  AddU64(n);
  const unsigned char* p = static_cast<const unsigned char*>(data);
  // Four independent lanes keep the multiplies pipelined on large constants.
  uint64_t lane[4] = {h_, h_ ^ kMul1, h_ ^ kMul2, Rotl(h_, 17)};
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * k, 8);
      lane[k] = Rotl(lane[k] ^ (w * kMul1), 31) * kMul2;
    }
  }
  for (int k = 0; k < 4; ++k) AddU64(lane[k]);
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    AddU64(w);
  }
  uint64_t tail = 0;
  if (i < n) std::memcpy(&tail, p + i, n - i);
  AddU64(tail);
}

uint64_t Fingerprinter::value() const { return Fmix(h_ ^ count_); }

std::string Fingerprinter::Hex() const {
  static const char kDigits[] = "0123456789abcdef";
  uint64_t v = value();
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 15];
  return s;
}

uint64_t FingerprintBytes(const void* data, size_t n) {
  Fingerprinter f;
  f.AddBytes(data, n);
  return f.value();
}

std::string ModelFingerprint(const graph::Graph& g) {
  Fingerprinter f;
  f.AddU64(g.size());
  for (graph::NodeId id = 0; id < static_cast<graph::NodeId>(g.size()); ++id) {
    const graph::Node& n = g.node(id);
    if (!n.alive) continue;
    f.AddU64(static_cast<uint64_t>(id));
    f.AddString(n.name);
    f.AddString(n.type);
    f.AddString(n.version);
    for (const auto& [k, v] : n.attrs.entries()) {
      f.AddString(k);
      f.AddString(v);
    }
    f.AddU64(n.inputs.size());
    for (const graph::InputPort& in : n.inputs) {
      f.AddU64(static_cast<uint64_t>(in.source.node));
      f.AddU64(static_cast<uint64_t>(in.source.port));
    }
    f.AddU64(n.outputs.size());
    for (const graph::OutputPort& out : n.outputs) {
      f.AddU64(static_cast<uint64_t>(out.type));
      f.AddString(out.shape.ToString());
    }
    if (n.is_const()) {
      f.AddU64(static_cast<uint64_t>(n.constant.type()));
      f.AddString(graph::ShapeToString(n.constant.shape()));
      f.AddBytes(n.constant.bytes(), n.constant.nbytes());
    }
  }
  return f.Hex();
}

}  // namespace ptqflow::stages

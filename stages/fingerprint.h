// Fingerprints: 64-bit content hashes that tie a checkpoint to the model, configuration and
// dataset it was made with, and that check a checkpoint file's payload for corruption.
//
// Not cryptographic: they detect accidental mismatches (another model, an edited config, a
// truncated file), not tampering. The hash is fixed by this file (word-wise multiply-rotate
// mixing with a murmur3 finaliser), so fingerprints are stable across runs and platforms of the
// same endianness.
//
// Thread-safety: Fingerprinter is a plain value; the functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "graph/graph.h"

namespace ptqflow::stages {

class Fingerprinter {
 public:
  // Each call mixes in its length too, so ("ab","c") and ("a","bc") differ.
  void AddBytes(const void* data, size_t n);
  void AddString(std::string_view s) { AddBytes(s.data(), s.size()); }
  void AddU64(uint64_t v);
  uint64_t value() const;
  // 16 lowercase hex digits.
  std::string Hex() const;

 private:
  uint64_t h_ = 0x6a09e667f3bcc908ull;
  uint64_t count_ = 0;
};

uint64_t FingerprintBytes(const void* data, size_t n);

// Everything that changes what a graph computes: for every live node in id order its name,
// type, version, attributes, inputs, output types and shapes, and constant bytes.
std::string ModelFingerprint(const graph::Graph& g);

}  // namespace ptqflow::stages

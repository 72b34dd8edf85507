// Helpers for the io/data tests: write files byte by byte (independent of the code under test).
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ptqflow::testing {

inline void WriteBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void PutLe(std::string* s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A canonical 44-byte-header PCM WAV: 16-bit integer (format 1) samples, interleaved.
inline std::string Wav16(int rate, int channels, const std::vector<int16_t>& interleaved) {
  std::string d;
  const uint32_t data_bytes = static_cast<uint32_t>(interleaved.size() * 2);
  d += "RIFF";
  PutLe(&d, 36 + data_bytes, 4);
  d += "WAVEfmt ";
  PutLe(&d, 16, 4);
  PutLe(&d, 1, 2);  // PCM
  PutLe(&d, channels, 2);
  PutLe(&d, rate, 4);
  PutLe(&d, rate * channels * 2, 4);
  PutLe(&d, channels * 2, 2);
  PutLe(&d, 16, 2);
  d += "data";
  PutLe(&d, data_bytes, 4);
  for (int16_t v : interleaved) PutLe(&d, static_cast<uint16_t>(v), 2);
  return d;
}

// 32-bit IEEE float WAV (format 3), mono.
inline std::string WavF32(int rate, const std::vector<float>& samples) {
  std::string d;
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 4);
  d += "RIFF";
  PutLe(&d, 36 + data_bytes, 4);
  d += "WAVEfmt ";
  PutLe(&d, 16, 4);
  PutLe(&d, 3, 2);
  PutLe(&d, 1, 2);
  PutLe(&d, rate, 4);
  PutLe(&d, rate * 4, 4);
  PutLe(&d, 4, 2);
  PutLe(&d, 32, 2);
  d += "data";
  PutLe(&d, data_bytes, 4);
  for (float v : samples) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    PutLe(&d, u, 4);
  }
  return d;
}

// A .npy v1.0 file written from its parts (header padded to 64 bytes, '\n'-terminated).
inline std::string NpyBytes(const std::string& descr, const std::string& shape_tuple,
                            const std::string& data, bool fortran = false, int major = 1) {
  std::string h = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                  ", 'shape': " + shape_tuple + ", }";
  const size_t pre = major == 1 ? 10 : 12;
  while ((pre + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::string s = "\x93NUMPY";
  s.push_back(static_cast<char>(major));
  s.push_back('\0');
  PutLe(&s, h.size(), major == 1 ? 2 : 4);
  return s + h + data;
}

template <typename T>
std::string RawBytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

}  // namespace ptqflow::testing

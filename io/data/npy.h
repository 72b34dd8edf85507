// NumPy array files: .npy (format versions 1, 2 and 3), .npz (zip archive of .npy entries, stored
// or deflate-compressed, zip64 sizes accepted) and raw binary files with a caller-given element
// type and shape.
//
// Supported element types (little-endian or byte-order-free descriptors only, C order):
//   '<f4' f32, '<f2' f16, '<f8' f64, '|i1' i8, '|u1' u8, '<i2' i16, '<u2' u16, '<i4' i32,
//   '<u4' u32, '<i8' i64, '<u8' u64, '|b1' boolean.
// Big-endian data, Fortran order, object/structured/string arrays are errors naming the file.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "graph/status.h"
#include "graph/tensor.h"

namespace ptqflow::io {

// Parses the bytes of a .npy file; `what` names the source in errors.
Result<graph::Tensor> ParseNpy(std::string_view bytes, const std::string& what);
Result<graph::Tensor> ReadNpy(const std::filesystem::path& path);

// The .npy (version 1.0) encoding of a tensor; header padded so the data starts at a multiple of
// 64 bytes. CHECK-fails on types NumPy cannot hold (bf16, i4, u4, u1): callers convert first.
std::string EncodeNpy(const graph::Tensor& t);
// Writes EncodeNpy(t) atomically (io::AtomicFile). Error names the path; a tensor of an element
// type without a NumPy dtype is an error too.
Status WriteNpy(const std::filesystem::path& path, const graph::Tensor& t);

// All arrays of an .npz archive in archive order, named by entry name without ".npy".
Result<std::vector<std::pair<std::string, graph::Tensor>>> ReadNpz(
    const std::filesystem::path& path);

// A raw little-endian binary file holding exactly ByteSize(type, count(shape)) bytes.
Result<graph::Tensor> ReadRawTensor(const std::filesystem::path& path, graph::ElementType type,
                                    const graph::Shape& shape);

}  // namespace ptqflow::io

#include "io/data/npy.h"

#include <array>
#include <cstring>

#include "io/atomic_file.h"
#include "io/data/file_util.h"

namespace ptqflow::io {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

namespace {

struct DtypeName {
  const char* descr;  // without byte-order character
  ElementType type;
};
constexpr std::array<DtypeName, 12> kDtypes = {{
    {"f4", ElementType::kF32},
    {"f2", ElementType::kF16},
    {"f8", ElementType::kF64},
    {"i1", ElementType::kI8},
    {"u1", ElementType::kU8},
    {"i2", ElementType::kI16},
    {"u2", ElementType::kU16},
    {"i4", ElementType::kI32},
    {"u4", ElementType::kU32},
    {"i8", ElementType::kI64},
    {"u8", ElementType::kU64},
    {"b1", ElementType::kBoolean},
}};

const char* DescrOf(ElementType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.descr;
  return nullptr;
}

// Value of `key` in the header dict text: the raw text after "'key':" up to the matching end.
Result<std::string> DictValue(const std::string& header, const std::string& key,
                              const std::string& what) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) k = header.find("\"" + key + "\"");
  if (k == std::string::npos) {
    return Status::Error(what + ": .npy header has no '" + key + "' entry: " + header);
  }
  size_t p = header.find(':', k);
  if (p == std::string::npos) return Status::Error(what + ": malformed .npy header: " + header);
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) return Status::Error(what + ": malformed .npy header: " + header);
  size_t e;
  if (header[p] == '\'' || header[p] == '"') {
    e = header.find(header[p], p + 1);
    if (e == std::string::npos) return Status::Error(what + ": malformed .npy header: " + header);
    return header.substr(p + 1, e - p - 1);
  }
  if (header[p] == '(') {
    e = header.find(')', p);
    if (e == std::string::npos) return Status::Error(what + ": malformed .npy header: " + header);
    return header.substr(p, e - p + 1);
  }
  e = header.find_first_of(",}", p);
  if (e == std::string::npos) return Status::Error(what + ": malformed .npy header: " + header);
  std::string v = header.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

Result<graph::Shape> ParseShapeTuple(const std::string& tuple, const std::string& what) {
  graph::Shape shape;
  std::string num;
  auto flush = [&]() -> Status {
    if (num.empty()) return Status::Ok();
    for (char c : num) {
      if (c < '0' || c > '9') return Status::Error(what + ": bad .npy shape " + tuple);
    }
    if (num.size() > 15) return Status::Error(what + ": .npy dimension too large in " + tuple);
    shape.push_back(std::stoll(num));
    num.clear();
    return Status::Ok();
  };
  for (size_t i = 1; i + 1 < tuple.size(); ++i) {
    const char c = tuple[i];
    if (c == ',') {
      PTQ_RETURN_IF_ERROR(flush());
    } else if (c != ' ' && c != 'L') {
      num += c;
    }
  }
  PTQ_RETURN_IF_ERROR(flush());
  return shape;
}

uint32_t ReadLe32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t ReadLe16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint64_t ReadLe64(const uint8_t* p) {
  return uint64_t(ReadLe32(p)) | uint64_t(ReadLe32(p + 4)) << 32;
}

}  // namespace

Result<Tensor> ParseNpy(std::string_view bytes, const std::string& what) {
  const auto* u = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    return Status::Error(what + ": not a .npy file (missing \\x93NUMPY magic)");
  }
  const int major = u[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = ReadLe16(u + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return Status::Error(what + ": truncated .npy header");
    header_len = ReadLe32(u + 8);
    header_start = 12;
  } else {
    return Status::Error(what + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size()) {
    return Status::Error(what + ": truncated .npy header");
  }
  const std::string header(bytes.substr(header_start, header_len));
  PTQ_ASSIGN_OR_RETURN(std::string descr, DictValue(header, "descr", what));
  PTQ_ASSIGN_OR_RETURN(std::string fortran, DictValue(header, "fortran_order", what));
  PTQ_ASSIGN_OR_RETURN(std::string shape_text, DictValue(header, "shape", what));
  if (fortran != "False") {
    if (fortran == "True") {
      return Status::Error(what +
                           ": Fortran-order arrays are not supported (save with C order, "
                           "e.g. np.ascontiguousarray)");
    }
    return Status::Error(what + ": bad fortran_order value '" + fortran + "'");
  }
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '|' && descr[0] != '=')) {
    if (!descr.empty() && descr[0] == '>') {
      return Status::Error(what + ": big-endian dtype '" + descr + "' is not supported");
    }
    return Status::Error(what + ": unsupported dtype '" + descr + "'");
  }
  ElementType type = ElementType::kUndefined;
  for (const auto& d : kDtypes) {
    if (descr.compare(1, 2, d.descr) == 0) type = d.type;
  }
  if (type == ElementType::kUndefined) {
    return Status::Error(what + ": unsupported dtype '" + descr + "'");
  }
  if (shape_text.empty() || shape_text.front() != '(') {
    return Status::Error(what + ": bad .npy shape '" + shape_text + "'");
  }
  PTQ_ASSIGN_OR_RETURN(graph::Shape shape, ParseShapeTuple(shape_text, what));
  const size_t data_start = header_start + header_len;
  // Guard against overflow from absurd shapes before computing the byte size.
  long double count = 1;
  for (int64_t d : shape) count *= static_cast<long double>(d);
  if (count > static_cast<long double>(bytes.size())) {  // every npy element is >= 1 byte
    return Status::Error(what + ": .npy data is truncated (shape " + graph::ShapeToString(shape) +
                         ", " + std::to_string(bytes.size() - data_start) + " data bytes)");
  }
  const size_t nbytes = graph::ByteSize(type, graph::ElementCount(shape));
  if (bytes.size() - data_start < nbytes) {
    return Status::Error(what + ": .npy data is truncated: need " + std::to_string(nbytes) +
                         " bytes for " + std::string(graph::ElementTypeName(type)) +
                         graph::ShapeToString(shape) + ", have " +
                         std::to_string(bytes.size() - data_start));
  }
  Tensor t = Tensor::Allocate(type, shape);
  if (nbytes > 0) std::memcpy(t.mutable_bytes(), bytes.data() + data_start, nbytes);
  return t;
}

Result<Tensor> ReadNpy(const fs::path& path) {
  PTQ_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  return ParseNpy(bytes, path.string());
}

std::string EncodeNpy(const Tensor& t) {
  const char* d = DescrOf(t.type());
  CHECK(d != nullptr) << "no NumPy dtype for " << graph::ElementTypeName(t.type());
  const char order = (t.type() == ElementType::kU8 || t.type() == ElementType::kI8 ||
                      t.type() == ElementType::kBoolean)
                         ? '|'
                         : '<';
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    shape += std::to_string(t.shape()[i]);
    shape += (t.shape().size() == 1 || i + 1 < t.shape().size()) ? "," : "";
    if (i + 1 < t.shape().size()) shape += " ";
  }
  shape += ")";
  std::string header = "{'descr': '" + std::string(1, order) + d +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + header.size() + 1;  // + '\n'
  const size_t total = (unpadded + 63) / 64 * 64;
  header.append(total - unpadded, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(t.bytes()), t.nbytes());
  return out;
}

Status WriteNpy(const fs::path& path, const Tensor& t) {
  if (DescrOf(t.type()) == nullptr) {
    return Status::Error(path.string() + ": cannot write " +
                         std::string(graph::ElementTypeName(t.type())) +
                         " tensor as .npy (NumPy has no such dtype)");
  }
  return WriteFileAtomically(path, EncodeNpy(t));
}

namespace {

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace

Result<std::vector<std::pair<std::string, Tensor>>> ReadNpz(const fs::path& path) {
  const std::string what = path.string();
  PTQ_ASSIGN_OR_RETURN(std::string zip, ReadFileBytes(path));
  const auto* u = reinterpret_cast<const uint8_t*>(zip.data());
  // End of central directory: signature PK\5\6, searched backwards over a possible comment.
  if (zip.size() < 22) return Status::Error(what + ": not a zip (.npz) archive: too short");
  size_t eocd = std::string::npos;
  for (size_t p = zip.size() - 22 + 1; p-- > 0 && zip.size() - p <= 22 + 65535;) {
    if (ReadLe32(u + p) == 0x06054b50u) {
      eocd = p;
      break;
    }
  }
  if (eocd == std::string::npos) {
    return Status::Error(what + ": not a zip (.npz) archive: no end-of-central-directory record");
  }
  uint64_t entries = ReadLe16(u + eocd + 10);
  uint64_t cd_offset = ReadLe32(u + eocd + 16);
  if ((entries == 0xFFFF || cd_offset == 0xFFFFFFFFu) && eocd >= 20 &&
      ReadLe32(u + eocd - 20) == 0x07064b50u) {  // zip64 locator
    const uint64_t z64 = ReadLe64(u + eocd - 20 + 8);
    if (z64 + 56 > zip.size() || ReadLe32(u + z64) != 0x06064b50u) {
      return Status::Error(what + ": corrupt zip64 end-of-central-directory record");
    }
    entries = ReadLe64(u + z64 + 32);
    cd_offset = ReadLe64(u + z64 + 48);
  }
  std::vector<std::pair<std::string, Tensor>> out;
  uint64_t p = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > zip.size() || ReadLe32(u + p) != 0x02014b50u) {
      return Status::Error(what + ": corrupt zip central directory (entry " + std::to_string(e) +
                           ")");
    }
    const uint16_t flags = ReadLe16(u + p + 8);
    const uint16_t method = ReadLe16(u + p + 10);
    const uint32_t crc = ReadLe32(u + p + 16);
    uint64_t csize = ReadLe32(u + p + 20);
    uint64_t usize = ReadLe32(u + p + 24);
    const uint16_t name_len = ReadLe16(u + p + 28);
    const uint16_t extra_len = ReadLe16(u + p + 30);
    const uint16_t comment_len = ReadLe16(u + p + 32);
    uint64_t local = ReadLe32(u + p + 42);
    if (p + 46 + name_len + extra_len > zip.size()) {
      return Status::Error(what + ": corrupt zip central directory (entry " + std::to_string(e) +
                           ")");
    }
    const std::string name(zip.data() + p + 46, name_len);
    // zip64 extended information: present fields replace the 0xFFFFFFFF placeholders in order.
    for (uint64_t x = p + 46 + name_len; x + 4 <= p + 46 + name_len + extra_len;) {
      const uint16_t id = ReadLe16(u + x), len = ReadLe16(u + x + 2);
      if (id == 0x0001) {
        uint64_t q = x + 4;
        const uint64_t end = x + 4 + len;
        if (usize == 0xFFFFFFFFu && q + 8 <= end) usize = ReadLe64(u + q), q += 8;
        if (csize == 0xFFFFFFFFu && q + 8 <= end) csize = ReadLe64(u + q), q += 8;
        if (local == 0xFFFFFFFFu && q + 8 <= end) local = ReadLe64(u + q), q += 8;
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    const std::string ewhat = what + " entry '" + name + "'";
    if (flags & 1) return Status::Error(ewhat + ": encrypted zip entries are not supported");
    if (local + 30 > zip.size() || ReadLe32(u + local) != 0x04034b50u) {
      return Status::Error(ewhat + ": corrupt local header");
    }
    const uint64_t data = local + 30 + ReadLe16(u + local + 26) + ReadLe16(u + local + 28);
    if (data + csize > zip.size()) return Status::Error(ewhat + ": data is truncated");
    const std::string_view comp(zip.data() + data, csize);
    std::string raw;
    if (method == 0) {
      if (csize != usize) return Status::Error(ewhat + ": stored entry with size mismatch");
      raw.assign(comp);
    } else if (method == 8) {
      PTQ_ASSIGN_OR_RETURN(raw, InflateRaw(comp, usize, ewhat));
    } else {
      return Status::Error(ewhat + ": unsupported zip compression method " +
                           std::to_string(method) + " (only stored and deflate)");
    }
    if (Crc32(raw) != crc) return Status::Error(ewhat + ": CRC mismatch (corrupt archive)");
    if (name.empty() || name.back() == '/') continue;  // directory entry
    PTQ_ASSIGN_OR_RETURN(Tensor t, ParseNpy(raw, ewhat));
    std::string key = name;
    if (key.size() > 4 && key.ends_with(".npy")) key.resize(key.size() - 4);
    out.emplace_back(std::move(key), std::move(t));
  }
  if (out.empty()) return Status::Error(what + ": .npz archive holds no arrays");
  return out;
}

Result<Tensor> ReadRawTensor(const fs::path& path, ElementType type, const graph::Shape& shape) {
  if (type == ElementType::kUndefined) {
    return Status::Error(path.string() + ": raw tensor file needs an element type");
  }
  for (int64_t d : shape) {
    if (d < 0) {
      return Status::Error(path.string() + ": raw tensor shape " + graph::ShapeToString(shape) +
                           " must be static");
    }
  }
  PTQ_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  const size_t need = graph::ByteSize(type, graph::ElementCount(shape));
  if (bytes.size() != need) {
    return Status::Error(path.string() + ": raw file has " + std::to_string(bytes.size()) +
                         " bytes, expected " + std::to_string(need) + " for " +
                         std::string(graph::ElementTypeName(type)) + graph::ShapeToString(shape));
  }
  Tensor t = Tensor::Allocate(type, shape);
  if (need > 0) std::memcpy(t.mutable_bytes(), bytes.data(), need);
  return t;
}

}  // namespace ptqflow::io

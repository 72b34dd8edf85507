#include "io/ir/ir_reader.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "io/ir/ir_format.h"
#include "io/mapped_file.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Node;
using graph::NodeId;

bool ParseInt64(std::string_view s, int64_t* v) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string RawXml(pugi::xml_node n) {
  std::ostringstream os;
  n.print(os, "", pugi::format_raw);
  return os.str();
}

// "line L, column C" of a byte offset into `text`.
std::string Position(const uint8_t* text, size_t size, ptrdiff_t offset) {
  size_t line = 1;
  size_t col = 1;
  const size_t end = std::min(size, static_cast<size_t>(std::max<ptrdiff_t>(offset, 0)));
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col) + " (offset " +
         std::to_string(offset) + ")";
}

bool IsSubgraphChild(std::string_view name) {
  return name == "body" || name == "then_body" || name == "else_body" || name == "port_map" ||
         name == "back_edges";
}

class IrReader {
 public:
  IrReader(fs::path xml, fs::path bin) : xml_(std::move(xml)), bin_(std::move(bin)) {}

  Result<graph::Graph> Read();

 private:
  Status Err(const std::string& msg) const {
    return Status::Error("'" + xml_.string() + "': " + msg);
  }
  Status ReadLayer(pugi::xml_node layer, size_t index);
  Status ReadPorts(pugi::xml_node layer, Node& n);
  Status ReadConst(pugi::xml_node data, Node& n);
  Status ReadEdges(pugi::xml_node edges);
  Result<const MappedFile*> Bin();

  fs::path xml_;
  fs::path bin_;
  std::shared_ptr<const MappedFile> bin_map_;
  graph::Graph g_;
  std::unordered_map<int64_t, NodeId> by_ir_id_;
  std::vector<std::vector<int32_t>> in_port_ids_;   // per node: ir id of each input port
  std::vector<std::vector<int32_t>> out_port_ids_;  // per node: ir id of each output port
};

Result<const MappedFile*> IrReader::Bin() {
  if (!bin_map_) {
    auto m = MappedFile::Open(bin_);
    if (!m.ok()) return m.status().WithContext("weights of '" + xml_.string() + "'");
    bin_map_ = std::move(m).value();
  }
  return bin_map_.get();
}

Result<graph::Graph> IrReader::Read() {
  PTQ_ASSIGN_OR_RETURN(std::shared_ptr<const MappedFile> xml_map, MappedFile::Open(xml_));
  pugi::xml_document doc;
  pugi::xml_parse_result pr;
  if (xml_map->size() == 0) {
    return Err("malformed XML: the file is empty");
  }
  pr = doc.load_buffer(xml_map->data(), xml_map->size(), pugi::parse_default, pugi::encoding_auto);
  if (!pr) {
    return Err("malformed XML at " + Position(xml_map->data(), xml_map->size(), pr.offset) + ": " +
               pr.description());
  }
  pugi::xml_node net = doc.child("net");
  if (!net) return Err("no <net> element (not an OpenVINO IR file)");
  const std::string version = net.attribute("version").value();
  if (version != "10" && version != "11") {
    return Err("unsupported IR version '" + version + "' (ptqflow reads IR versions 10 and 11)");
  }
  g_.ir_version = version == "10" ? 10 : 11;
  g_.name = net.attribute("name").value();
  if (pugi::xml_node rt = net.child("rt_info")) g_.rt_info = RawXml(rt);

  pugi::xml_node layers = net.child("layers");
  if (!layers) return Err("<net> has no <layers> element");
  size_t index = 0;
  for (pugi::xml_node layer : layers.children()) {
    if (layer.type() != pugi::node_element) continue;
    if (std::string_view(layer.name()) != "layer") {
      return Err("unexpected element <" + std::string(layer.name()) + "> in <layers>");
    }
    PTQ_RETURN_IF_ERROR(ReadLayer(layer, index++));
  }
  PTQ_RETURN_IF_ERROR(ReadEdges(net.child("edges")));

  for (NodeId id = 0; id < static_cast<NodeId>(g_.size()); ++id) {
    const Node& n = g_.node(id);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (!n.inputs[k].source.valid()) {
        return Err(graph::Describe(n) + ": input port " + std::to_string(n.inputs[k].ir_port_id) +
                   " has no incoming edge");
      }
    }
  }
  Status st = g_.Validate();
  if (!st.ok()) return Err(st.message());
  return std::move(g_);
}

Status IrReader::ReadLayer(pugi::xml_node layer, size_t index) {
  Node n;
  const std::string where =
      "layer #" + std::to_string(index) + " (" + "name '" + layer.attribute("name").value() + "')";
  for (const char* required : {"id", "name", "type"}) {
    if (!layer.attribute(required)) {
      return Err(where + " has no '" + required + "' attribute");
    }
  }
  n.name = layer.attribute("name").value();
  n.type = layer.attribute("type").value();
  if (!ParseInt64(layer.attribute("id").value(), &n.ir_id) || n.ir_id < 0) {
    return Err(where + ": bad layer id '" + layer.attribute("id").value() + "'");
  }
  n.version = layer.attribute("version").value();
  auto [it, inserted] = by_ir_id_.emplace(n.ir_id, static_cast<NodeId>(g_.size()));
  if (!inserted) {
    return Err(graph::Describe(n) + ": duplicate layer id " + std::to_string(n.ir_id) +
               " (also used by " + graph::Describe(g_.node(it->second)) + ")");
  }
  for (pugi::xml_node c : layer.children()) {
    if (c.type() == pugi::node_element && IsSubgraphChild(c.name())) {
      return Err(graph::Describe(n) + ": layers with sub-graphs (<" + c.name() +
                 ">) are not supported");
    }
  }
  pugi::xml_node data = layer.child("data");
  for (pugi::xml_attribute a : data.attributes()) n.attrs.Set(a.name(), a.value());
  if (pugi::xml_node rt = layer.child("rt_info")) n.rt_info = RawXml(rt);
  if (n.type == "Parameter" && n.attrs.Has("element_type")) {
    auto t = graph::ParseElementType(*n.attrs.Find("element_type"));
    if (!t.ok()) return Err(graph::Describe(n) + ": " + t.status().message());
  }
  PTQ_RETURN_IF_ERROR(ReadPorts(layer, n));
  if (n.is_const()) PTQ_RETURN_IF_ERROR(ReadConst(data, n));
  g_.AddNode(std::move(n));
  return Status::Ok();
}

Status IrReader::ReadPorts(pugi::xml_node layer, Node& n) {
  std::vector<int32_t>& in_ids = in_port_ids_.emplace_back();
  std::vector<int32_t>& out_ids = out_port_ids_.emplace_back();
  auto port_id = [&](pugi::xml_node port, int32_t* id) -> Status {
    int64_t v = 0;
    if (!ParseInt64(port.attribute("id").value(), &v) || v < 0 || v > INT32_MAX) {
      return Err(graph::Describe(n) + ": port with bad or missing id '" +
                 port.attribute("id").value() + "'");
    }
    for (int32_t other : in_ids) {
      if (other == v) return Err(graph::Describe(n) + ": duplicate port id " + std::to_string(v));
    }
    for (int32_t other : out_ids) {
      if (other == v) return Err(graph::Describe(n) + ": duplicate port id " + std::to_string(v));
    }
    *id = static_cast<int32_t>(v);
    return Status::Ok();
  };
  for (pugi::xml_node port : layer.child("input").children("port")) {
    graph::InputPort in;
    PTQ_RETURN_IF_ERROR(port_id(port, &in.ir_port_id));
    if (pugi::xml_node rt = port.child("rt_info")) in.rt_info = RawXml(rt);
    in_ids.push_back(in.ir_port_id);
    n.inputs.push_back(std::move(in));
  }
  for (pugi::xml_node port : layer.child("output").children("port")) {
    graph::OutputPort out;
    PTQ_RETURN_IF_ERROR(port_id(port, &out.ir_port_id));
    const std::string pname = "output port " + std::to_string(out.ir_port_id);
    if (pugi::xml_attribute prec = port.attribute("precision")) {
      auto t = graph::ParsePrecision(prec.value());
      if (!t.ok()) return Err(graph::Describe(n) + ": " + pname + ": " + t.status().message());
      out.type = *t;
    }
    if (pugi::xml_attribute names = port.attribute("names")) {
      out.names = SplitTensorNames(names.value());
    }
    graph::Shape dims;
    bool dynamic_rank = false;
    for (pugi::xml_node dim : port.children("dim")) {
      const std::string text = dim.text().get();
      int64_t d = 0;
      if (text == kDynamicRankDim) {
        dynamic_rank = true;
      } else if (!ParseInt64(text, &d) || d < -1) {
        return Err(graph::Describe(n) + ": " + pname + ": bad dimension '" + text + "'");
      }
      dims.push_back(d);
    }
    if (dynamic_rank) {
      if (dims.size() != 1) {
        return Err(graph::Describe(n) + ": " + pname + ": '...' must be the only dimension");
      }
      out.shape = graph::PartialShape::DynamicRank();
    } else if (dims.empty() && n.type == "Parameter" && n.attrs.Find("shape") &&
               *n.attrs.Find("shape") == "...") {
      out.shape = graph::PartialShape::DynamicRank();  // OpenVINO writes no <dim> for this
    } else {
      out.shape = graph::PartialShape(std::move(dims));
    }
    if (pugi::xml_node rt = port.child("rt_info")) out.rt_info = RawXml(rt);
    out_ids.push_back(out.ir_port_id);
    n.outputs.push_back(std::move(out));
  }
  return Status::Ok();
}

Status IrReader::ReadConst(pugi::xml_node data, Node& n) {
  const std::string who = graph::Describe(n);
  for (const char* required : {"element_type", "shape", "offset", "size"}) {
    if (!data.attribute(required)) {
      return Err(who + ": <data> has no '" + required + "' attribute");
    }
  }
  auto type = graph::ParseElementType(data.attribute("element_type").value());
  if (!type.ok()) return Err(who + ": " + type.status().message());
  if (*type == ElementType::kUndefined) return Err(who + ": a Const needs a defined element_type");
  auto shape = graph::ParseIntList(data.attribute("shape").value());
  if (!shape.ok()) {
    return Err(who + ": bad shape '" + data.attribute("shape").value() + "'");
  }
  int64_t count = 1;
  for (int64_t d : *shape) {
    if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > (int64_t{1} << 56)) {
      return Err(who + ": bad shape '" + data.attribute("shape").value() + "'");
    }
  }
  int64_t offset = 0;
  int64_t size = 0;
  if (!ParseInt64(data.attribute("offset").value(), &offset) || offset < 0) {
    return Err(who + ": bad offset '" + data.attribute("offset").value() + "'");
  }
  if (!ParseInt64(data.attribute("size").value(), &size) || size < 0) {
    return Err(who + ": bad size '" + data.attribute("size").value() + "'");
  }
  const size_t expected = graph::ByteSize(*type, count);
  if (static_cast<size_t>(size) != expected) {
    return Err(who + ": size " + std::to_string(size) + " does not match " + std::to_string(count) +
               " elements of " + std::string(graph::ElementTypeName(*type)) + " (" +
               std::to_string(expected) + " bytes)");
  }
  PTQ_ASSIGN_OR_RETURN(const MappedFile* bin, Bin());
  if (static_cast<uint64_t>(offset) > bin->size() ||
      static_cast<uint64_t>(size) > bin->size() - static_cast<uint64_t>(offset)) {
    return Err(who + ": offset " + std::to_string(offset) + " + size " + std::to_string(size) +
               " is beyond the end of '" + bin_.string() + "' (" + std::to_string(bin->size()) +
               " bytes)");
  }
  graph::Shape dims = std::move(shape).value();
  if (size == 0) {
    n.constant = graph::Tensor::Allocate(*type, std::move(dims));
  } else {
    const uint8_t* p = bin->data() + offset;
    const size_t align = std::min<size_t>(8, std::max(1, graph::BitWidth(*type) / 8));
    if (reinterpret_cast<uintptr_t>(p) % align == 0) {
      n.constant = graph::Tensor::Wrap(*type, std::move(dims), p, bin_map_);
    } else {
      graph::Tensor t = graph::Tensor::Allocate(*type, std::move(dims));
      std::memcpy(t.mutable_bytes(), p, static_cast<size_t>(size));
      n.constant = std::move(t);
    }
  }
  for (const char* moved : {"element_type", "shape", "offset", "size"}) n.attrs.Erase(moved);
  return Status::Ok();
}

Status IrReader::ReadEdges(pugi::xml_node edges) {
  for (pugi::xml_node e : edges.children()) {
    if (e.type() != pugi::node_element) continue;
    int64_t v[4];
    const char* keys[4] = {"from-layer", "from-port", "to-layer", "to-port"};
    for (int i = 0; i < 4; ++i) {
      if (!ParseInt64(e.attribute(keys[i]).value(), &v[i])) {
        return Err("edge (from-layer '" + std::string(e.attribute("from-layer").value()) +
                   "' to-layer '" + e.attribute("to-layer").value() + "'): bad or missing '" +
                   keys[i] + "'");
      }
    }
    auto layer_name = [&](int64_t id) {
      auto it = by_ir_id_.find(id);
      return it == by_ir_id_.end() ? "layer id " + std::to_string(id)
                                   : graph::Describe(g_.node(it->second));
    };
    const std::string what = "edge from " + layer_name(v[0]) + " port " + std::to_string(v[1]) +
                             " to " + layer_name(v[2]) + " port " + std::to_string(v[3]);
    auto from = by_ir_id_.find(v[0]);
    if (from == by_ir_id_.end()) {
      return Err(what + ": there is no layer with id " + std::to_string(v[0]));
    }
    auto to = by_ir_id_.find(v[2]);
    if (to == by_ir_id_.end()) {
      return Err(what + ": there is no layer with id " + std::to_string(v[2]));
    }
    const std::vector<int32_t>& outs = out_port_ids_[static_cast<size_t>(from->second)];
    const std::vector<int32_t>& ins = in_port_ids_[static_cast<size_t>(to->second)];
    int32_t out_index = -1;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (outs[i] == v[1]) out_index = static_cast<int32_t>(i);
    }
    if (out_index < 0) {
      return Err(what + ": " + layer_name(v[0]) + " has no output port " + std::to_string(v[1]));
    }
    int32_t in_index = -1;
    for (size_t i = 0; i < ins.size(); ++i) {
      if (ins[i] == v[3]) in_index = static_cast<int32_t>(i);
    }
    if (in_index < 0) {
      return Err(what + ": " + layer_name(v[2]) + " has no input port " + std::to_string(v[3]));
    }
    graph::InputPort& in = g_.node(to->second).inputs[static_cast<size_t>(in_index)];
    if (in.source.valid()) {
      return Err(what + ": input port " + std::to_string(v[3]) + " already has an incoming edge");
    }
    in.source = graph::ValueRef{from->second, out_index};
  }
  return Status::Ok();
}

}  // namespace

Result<graph::Graph> ReadIr(const std::filesystem::path& xml, const std::filesystem::path& bin) {
  fs::path bin_path = bin;
  if (bin_path.empty()) {
    bin_path = xml;
    bin_path.replace_extension(".bin");
  }
  IrReader reader(xml, bin_path);
  return reader.Read();
}

}  // namespace ptqflow::io

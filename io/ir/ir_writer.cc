#include "io/ir/ir_writer.h"

#include <cstring>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <glog/logging.h>
#include <pugixml.hpp>

#include "io/atomic_file.h"
#include "io/ir/ir_format.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using graph::Graph;
using graph::Node;
using graph::NodeId;

class StringWriter : public pugi::xml_writer {
 public:
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
  std::string out;
};

std::string JoinInts(const graph::Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  return out;
}

void AppendDims(pugi::xml_node port, const graph::PartialShape& shape) {
  if (!shape.rank_known()) {
    port.append_child("dim").text().set(std::string(kDynamicRankDim).c_str());
    return;
  }
  for (int64_t d : shape.dims()) {
    port.append_child("dim").text().set(std::to_string(d < 0 ? -1 : d).c_str());
  }
}

// Stores constant blobs once per distinct byte content.
class BlobStore {
 public:
  explicit BlobStore(AtomicFile* bin) : bin_(bin) {}

  // Offset of `bytes` in the .bin, writing it if no identical blob was written before.
  Result<size_t> Add(const uint8_t* bytes, size_t n) {
    const size_t h =
        std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(bytes), n));
    auto range = seen_.equal_range(h);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second.size == n && (n == 0 || std::memcmp(it->second.bytes, bytes, n) == 0)) {
        return it->second.offset;
      }
    }
    const size_t offset = bin_->size();
    PTQ_RETURN_IF_ERROR(bin_->Write(bytes, n));
    seen_.emplace(h, Blob{bytes, n, offset});
    return offset;
  }

 private:
  struct Blob {
    const uint8_t* bytes;  // borrowed from the graph's tensors, alive during WriteIr
    size_t size;
    size_t offset;
  };
  AtomicFile* bin_;
  std::unordered_multimap<size_t, Blob> seen_;
};

class IrWriter {
 public:
  IrWriter(const Graph& g, fs::path xml) : g_(g), xml_(std::move(xml)) {
    bin_path_ = xml_;
    bin_path_.replace_extension(".bin");
  }

  Status Write();

 private:
  Status Err(const std::string& msg) const {
    return Status::Error("cannot write '" + xml_.string() + "': " + msg);
  }
  void AssignIds();
  Status AppendRtInfo(pugi::xml_node parent, const std::string& rt_info, const std::string& who);
  Status WriteLayer(pugi::xml_node layers, NodeId id, BlobStore& blobs);
  std::string SubstituteRtInfo(const std::string& text) const;

  static constexpr std::string_view kRtInfoMark = "ptqflow-rt-info:";

  const Graph& g_;
  fs::path xml_;
  fs::path bin_path_;
  std::vector<NodeId> live_;
  std::unordered_map<NodeId, int64_t> layer_id_;
  std::unordered_map<NodeId, std::vector<int32_t>> in_ids_;
  std::unordered_map<NodeId, std::vector<int32_t>> out_ids_;
  std::vector<const std::string*> rt_infos_;  // borrowed from g_, in placeholder order
};

void IrWriter::AssignIds() {
  live_ = g_.LiveNodes();
  std::unordered_set<int64_t> used;
  std::vector<NodeId> fresh;
  int64_t next = 0;
  for (NodeId id : live_) {
    const int64_t want = g_.node(id).ir_id;
    if (want >= 0 && used.insert(want).second) {
      layer_id_[id] = want;
      next = std::max(next, want + 1);
    } else {
      fresh.push_back(id);
    }
  }
  for (NodeId id : fresh) layer_id_[id] = next++;

  for (NodeId id : live_) {
    const Node& n = g_.node(id);
    std::vector<int32_t> ins;
    std::vector<int32_t> outs;
    std::unordered_set<int32_t> seen;
    bool consistent = true;
    for (const graph::InputPort& p : n.inputs) {
      consistent = consistent && p.ir_port_id >= 0 && seen.insert(p.ir_port_id).second;
      ins.push_back(p.ir_port_id);
    }
    for (const graph::OutputPort& p : n.outputs) {
      consistent = consistent && p.ir_port_id >= 0 && seen.insert(p.ir_port_id).second;
      outs.push_back(p.ir_port_id);
    }
    if (!consistent) {
      int32_t k = 0;
      for (int32_t& v : ins) v = k++;
      for (int32_t& v : outs) v = k++;
    }
    in_ids_[id] = std::move(ins);
    out_ids_[id] = std::move(outs);
  }
}

Status IrWriter::AppendRtInfo(pugi::xml_node parent, const std::string& rt_info,
                              const std::string& who) {
  if (rt_info.empty()) return Status::Ok();
  // Checked for well-formedness here, but written verbatim: a comment placeholder marks the
  // spot and is replaced by the stored text after pugixml has produced the document.
  pugi::xml_document frag;
  pugi::xml_parse_result r =
      frag.load_buffer(rt_info.data(), rt_info.size(), pugi::parse_default | pugi::parse_fragment,
                       pugi::encoding_utf8);
  if (!r) {
    return Err(who + ": rt_info is not well-formed XML (" + r.description() + " at offset " +
               std::to_string(r.offset) + ")");
  }
  const std::string mark = std::string(kRtInfoMark) + std::to_string(rt_infos_.size());
  parent.append_child(pugi::node_comment).set_value(mark.c_str());
  rt_infos_.push_back(&rt_info);
  return Status::Ok();
}

// Replaces each "<!--mark N-->" written by AppendRtInfo with the N-th stored rt_info text.
std::string IrWriter::SubstituteRtInfo(const std::string& text) const {
  std::string out;
  out.reserve(text.size());
  const std::string open = "<!--" + std::string(kRtInfoMark);
  size_t pos = 0;
  while (true) {
    size_t at = text.find(open, pos);
    if (at == std::string::npos) break;
    size_t end = text.find("-->", at);
    CHECK_NE(end, std::string::npos);
    const size_t index = std::stoul(text.substr(at + open.size(), end - at - open.size()));
    CHECK_LT(index, rt_infos_.size());
    out.append(text, pos, at - pos);
    out += *rt_infos_[index];
    pos = end + 3;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

Status IrWriter::WriteLayer(pugi::xml_node layers, NodeId id, BlobStore& blobs) {
  const Node& n = g_.node(id);
  const std::string who = graph::Describe(n);
  pugi::xml_node layer = layers.append_child("layer");
  layer.append_attribute("id").set_value(std::to_string(layer_id_[id]).c_str());
  layer.append_attribute("name").set_value(n.name.c_str());
  layer.append_attribute("type").set_value(n.type.c_str());
  if (!n.version.empty()) layer.append_attribute("version").set_value(n.version.c_str());

  if (n.is_const()) {
    if (n.constant.empty()) return Err(who + ": Const without data");
    PTQ_ASSIGN_OR_RETURN(size_t offset, blobs.Add(n.constant.bytes(), n.constant.nbytes()));
    pugi::xml_node data = layer.append_child("data");
    data.append_attribute("element_type")
        .set_value(std::string(graph::ElementTypeName(n.constant.type())).c_str());
    data.append_attribute("shape").set_value(JoinInts(n.constant.shape()).c_str());
    data.append_attribute("offset").set_value(std::to_string(offset).c_str());
    data.append_attribute("size").set_value(std::to_string(n.constant.nbytes()).c_str());
    for (const auto& [k, v] : n.attrs.entries()) {
      if (k == "element_type" || k == "shape" || k == "offset" || k == "size") continue;
      data.append_attribute(k.c_str()).set_value(v.c_str());
    }
  } else if (!n.attrs.empty()) {
    pugi::xml_node data = layer.append_child("data");
    for (const auto& [k, v] : n.attrs.entries()) {
      data.append_attribute(k.c_str()).set_value(v.c_str());
    }
  }
  PTQ_RETURN_IF_ERROR(AppendRtInfo(layer, n.rt_info, who));

  if (!n.inputs.empty()) {
    pugi::xml_node input = layer.append_child("input");
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const graph::ValueRef src = n.inputs[k].source;
      if (!g_.contains(src.node) || !g_.node(src.node).alive || src.port < 0 ||
          static_cast<size_t>(src.port) >= g_.node(src.node).outputs.size()) {
        return Err(who + ": input " + std::to_string(k) + " is not connected to a live output");
      }
      const graph::OutputPort& from = g_.output(src);
      pugi::xml_node port = input.append_child("port");
      port.append_attribute("id").set_value(std::to_string(in_ids_[id][k]).c_str());
      port.append_attribute("precision")
          .set_value(std::string(graph::PrecisionName(from.type)).c_str());
      AppendDims(port, from.shape);
      PTQ_RETURN_IF_ERROR(AppendRtInfo(port, n.inputs[k].rt_info, who));
    }
  }
  if (!n.outputs.empty()) {
    pugi::xml_node output = layer.append_child("output");
    for (size_t k = 0; k < n.outputs.size(); ++k) {
      const graph::OutputPort& out = n.outputs[k];
      pugi::xml_node port = output.append_child("port");
      port.append_attribute("id").set_value(std::to_string(out_ids_[id][k]).c_str());
      port.append_attribute("precision")
          .set_value(std::string(graph::PrecisionName(out.type)).c_str());
      if (!out.names.empty()) {
        port.append_attribute("names").set_value(JoinTensorNames(out.names).c_str());
      }
      AppendDims(port, out.shape);
      PTQ_RETURN_IF_ERROR(AppendRtInfo(port, out.rt_info, who));
    }
  }
  return Status::Ok();
}

Status IrWriter::Write() {
  AssignIds();
  AtomicFile bin(bin_path_);
  PTQ_RETURN_IF_ERROR(bin.Open());
  BlobStore blobs(&bin);

  pugi::xml_document doc;
  pugi::xml_node decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  pugi::xml_node net = doc.append_child("net");
  net.append_attribute("name").set_value(g_.name.c_str());
  net.append_attribute("version").set_value("11");
  pugi::xml_node layers = net.append_child("layers");
  for (NodeId id : live_) PTQ_RETURN_IF_ERROR(WriteLayer(layers, id, blobs));

  pugi::xml_node edges = net.append_child("edges");
  for (NodeId id : live_) {
    const Node& n = g_.node(id);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const graph::ValueRef src = n.inputs[k].source;
      pugi::xml_node e = edges.append_child("edge");
      e.append_attribute("from-layer").set_value(std::to_string(layer_id_[src.node]).c_str());
      e.append_attribute("from-port")
          .set_value(std::to_string(out_ids_[src.node][static_cast<size_t>(src.port)]).c_str());
      e.append_attribute("to-layer").set_value(std::to_string(layer_id_[id]).c_str());
      e.append_attribute("to-port").set_value(std::to_string(in_ids_[id][k]).c_str());
    }
  }
  PTQ_RETURN_IF_ERROR(AppendRtInfo(net, g_.rt_info, "the model"));

  StringWriter text;
  doc.save(text, "\t", pugi::format_default, pugi::encoding_utf8);

  AtomicFile xml(xml_);
  PTQ_RETURN_IF_ERROR(xml.Open());
  PTQ_RETURN_IF_ERROR(xml.Write(SubstituteRtInfo(text.out)));
  PTQ_RETURN_IF_ERROR(bin.Commit());
  return xml.Commit();
}

}  // namespace

Status WriteIr(const graph::Graph& g, const std::filesystem::path& xml) {
  IrWriter w(g, xml);
  return w.Write();
}

}  // namespace ptqflow::io

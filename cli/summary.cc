#include "cli/summary.h"

#include <map>
#include <sstream>

namespace ptqflow::cli {
namespace {

std::string PortText(const graph::OutputPort& p) {
  return std::string(graph::ElementTypeName(p.type)) + p.shape.ToString();
}

}  // namespace

std::string SummarizeGraph(const graph::Graph& g) {
  std::ostringstream os;
  os << "model '" << g.name << "' (IR v" << g.ir_version << ")\n";
  os << "inputs:\n";
  for (graph::NodeId id : g.parameters()) {
    const graph::Node& n = g.node(id);
    os << "  " << n.name << "  " << PortText(n.outputs[0]) << "\n";
  }
  os << "outputs:\n";
  for (graph::NodeId id : g.results()) {
    const graph::Node& n = g.node(id);
    const graph::OutputPort& src = g.output(n.inputs[0].source);
    const std::string tensor = src.names.empty() ? n.name : src.names.front();
    os << "  " << tensor << "  " << PortText(src) << "\n";
  }
  std::map<std::string, int> counts;
  int64_t weights = 0;
  size_t const_bytes = 0;
  size_t layers = 0;
  for (graph::NodeId id : g.LiveNodes()) {
    const graph::Node& n = g.node(id);
    ++layers;
    ++counts[n.type];
    if (n.is_const()) {
      const_bytes += n.constant.nbytes();
      if (graph::IsFloat(n.constant.type()) || n.constant.type() == graph::ElementType::kI8 ||
          n.constant.type() == graph::ElementType::kU8 ||
          n.constant.type() == graph::ElementType::kI4 ||
          n.constant.type() == graph::ElementType::kU4) {
        weights += n.constant.size();
      }
    }
  }
  os << "layers: " << layers << "  (constants: " << const_bytes << " bytes, " << weights
     << " weight values)\n";
  os << "op types:\n";
  for (const auto& [type, count] : counts) os << "  " << type << " x" << count << "\n";
  return os.str();
}

}  // namespace ptqflow::cli

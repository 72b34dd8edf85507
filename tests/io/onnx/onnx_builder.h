// Test helper: builds small ONNX ModelProtos in C++ and writes them to disk, so importer tests do
// not depend on external model files.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ptqflow::testing {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 13) {
    m_.set_ir_version(8);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g()->set_name("test_graph");
  }

  onnx::GraphProto* g() { return m_.mutable_graph(); }
  onnx::ModelProto& model() { return m_; }

  // dims: -1 -> a symbolic dim "N".
  static void SetValueInfo(onnx::ValueInfoProto* vi, const std::string& name, int elem,
                           const std::vector<int64_t>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    auto* shape = tt->mutable_shape();
    for (int64_t d : dims) {
      auto* dim = shape->add_dim();
      if (d < 0) {
        dim->set_dim_param("N");
      } else {
        dim->set_dim_value(d);
      }
    }
  }
  void Input(const std::string& name, const std::vector<int64_t>& dims,
             int elem = onnx::TensorProto::FLOAT) {
    SetValueInfo(g()->add_input(), name, elem, dims);
  }
  void Output(const std::string& name) {
    auto* vi = g()->add_output();
    vi->set_name(name);
  }

  static onnx::TensorProto FloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                                       const std::vector<float>& v) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float x : v) t.add_float_data(x);
    return t;
  }
  static onnx::TensorProto Int64Tensor(const std::string& name, const std::vector<int64_t>& dims,
                                       const std::vector<int64_t>& v) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t.add_dims(d);
    for (int64_t x : v) t.add_int64_data(x);
    return t;
  }
  void Init(const onnx::TensorProto& t) { *g()->add_initializer() = t; }
  void InitF(const std::string& name, const std::vector<int64_t>& dims,
             const std::vector<float>& v) {
    Init(FloatTensor(name, dims, v));
  }
  void InitI64(const std::string& name, const std::vector<int64_t>& dims,
               const std::vector<int64_t>& v) {
    Init(Int64Tensor(name, dims, v));
  }

  static onnx::NodeProto* AddNode(onnx::GraphProto* graph, const std::string& op,
                                  const std::vector<std::string>& in,
                                  const std::vector<std::string>& out, const std::string& name) {
    auto* n = graph->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return n;
  }
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::string& name = "") {
    return AddNode(g(), op, in, out, name.empty() ? op + "_node" : name);
  }

  static void AttrInt(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void AttrFloat(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void AttrInts(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void AttrFloats(onnx::NodeProto* n, const std::string& name, const std::vector<float>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
  }
  static void AttrString(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void AttrTensor(onnx::NodeProto* n, const std::string& name, const onnx::TensorProto& t) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = t;
  }
  static onnx::GraphProto* AttrGraph(onnx::NodeProto* n, const std::string& name) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    return a->mutable_g();
  }

  std::string Bytes() const { return m_.SerializeAsString(); }
  std::filesystem::path Save(const std::filesystem::path& dir,
                             const std::string& file = "model.onnx") const {
    std::filesystem::path p = dir / file;
    std::ofstream f(p, std::ios::binary);
    f << Bytes();
    return p;
  }

 private:
  onnx::ModelProto m_;
};

}  // namespace ptqflow::testing

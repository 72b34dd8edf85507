// ONNX backend node tests (Debian libonnx-testdata) through io::ImportOnnx + the executor.
// Prints passed / failed / unsupported per ONNX op type. Unsupported = import or compile error
// (counted, not a failure). The test fails if any case of an op type in kClaimedOps fails or is
// unsupported.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "graph/exec/compiled_model.h"
#include "graph/exec/session.h"
#include "io/onnx/onnx_importer.h"

namespace ptqflow::exec::testing {
namespace {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

const char* kNodeDir = "/usr/share/libonnx-testdata/data/node";

// ONNX op types whose every node test must pass (every case imports, compiles and matches).
// Ops with cases the importer rejects (old opsets, training mode, strings, MaxPool indices)
// are not claimed even where the executor kernel exists.
const std::set<std::string> kClaimedOps = {
    "Abs",
    "Add",
    "And",
    "AveragePool",
    "Ceil",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Div",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "Gemm",
    "Greater",
    "GreaterOrEqual",
    "HardSwish",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "MatMul",
    "Mul",
    "Neg",
    "Or",
    "PRelu",
    "Pad",
    "ReduceL2",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "Relu",
    "Reshape",
    "Shape",
    "Sigmoid",
    "Size",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Tile",
    "Transpose",
    "Unsqueeze",
    "Where",
    "Xor",
};

Result<Tensor> FromProto(const onnx::TensorProto& p) {
  graph::Shape shape(p.dims().begin(), p.dims().end());
  ElementType t;
  switch (p.data_type()) {
    case onnx::TensorProto::FLOAT:
      t = ElementType::kF32;
      break;
    case onnx::TensorProto::DOUBLE:
      t = ElementType::kF64;
      break;
    case onnx::TensorProto::INT64:
      t = ElementType::kI64;
      break;
    case onnx::TensorProto::INT32:
      t = ElementType::kI32;
      break;
    case onnx::TensorProto::INT8:
      t = ElementType::kI8;
      break;
    case onnx::TensorProto::UINT8:
      t = ElementType::kU8;
      break;
    case onnx::TensorProto::INT16:
      t = ElementType::kI16;
      break;
    case onnx::TensorProto::UINT16:
      t = ElementType::kU16;
      break;
    case onnx::TensorProto::UINT32:
      t = ElementType::kU32;
      break;
    case onnx::TensorProto::UINT64:
      t = ElementType::kU64;
      break;
    case onnx::TensorProto::BOOL:
      t = ElementType::kBoolean;
      break;
    case onnx::TensorProto::FLOAT16:
      t = ElementType::kF16;
      break;
    default:
      return Status::Error("unsupported tensor type " + std::to_string(p.data_type()));
  }
  double count = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status::Error("negative dimension");
    count *= static_cast<double>(d);
  }
  if (count > 1e8) return Status::Error("not a plain tensor (sequence/optional test data?)");
  Tensor out = Tensor::Allocate(t, shape);
  const size_t n = static_cast<size_t>(out.size());
  if (!p.raw_data().empty()) {
    if (p.raw_data().size() != out.nbytes()) return Status::Error("raw_data size mismatch");
    std::memcpy(out.mutable_bytes(), p.raw_data().data(), out.nbytes());
    return out;
  }
  auto fill = [&](const auto& field, auto tag) {
    using T = decltype(tag);
    if (static_cast<size_t>(field.size()) != n) return false;
    for (size_t i = 0; i < n; ++i) out.mutable_data<T>()[i] = static_cast<T>(field[i]);
    return true;
  };
  bool ok = false;
  switch (t) {
    case ElementType::kF32:
      ok = fill(p.float_data(), float{});
      break;
    case ElementType::kF64:
      ok = fill(p.double_data(), double{});
      break;
    case ElementType::kI64:
      ok = fill(p.int64_data(), int64_t{});
      break;
    case ElementType::kI32:
      ok = fill(p.int32_data(), int32_t{});
      break;
    case ElementType::kI8:
      ok = fill(p.int32_data(), int8_t{});
      break;
    case ElementType::kU8:
    case ElementType::kBoolean:
      ok = fill(p.int32_data(), uint8_t{});
      break;
    case ElementType::kI16:
      ok = fill(p.int32_data(), int16_t{});
      break;
    case ElementType::kU16:
    case ElementType::kF16:
      ok = fill(p.int32_data(), uint16_t{});
      break;
    case ElementType::kU32:
      ok = fill(p.uint64_data(), uint32_t{});
      break;
    case ElementType::kU64:
      ok = fill(p.uint64_data(), uint64_t{});
      break;
    default:
      break;
  }
  if (!ok && n != 0) return Status::Error("typed data size mismatch");
  return out;
}

template <typename M>
bool ParseFile(const fs::path& f, M* m) {
  std::ifstream in(f, std::ios::binary);
  return in && m->ParseFromIstream(&in);
}

// Compare with |got - want| <= atol + rtol*|want| (floats), exact otherwise.
std::string Compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) {
    return "shape " + graph::ShapeToString(got.shape()) + " vs " +
           graph::ShapeToString(want.shape());
  }
  Tensor g = got, w = want;
  if (graph::IsFloat(want.type())) {
    g = got.ToF32();
    w = want.ToF32();
    for (int64_t i = 0; i < w.size(); ++i) {
      double a = g.data<float>()[i], b = w.data<float>()[i];
      if (std::isnan(a) && std::isnan(b)) continue;
      if (std::isinf(b) && a == b) continue;
      if (!(std::abs(a - b) <= 1e-5 + 1e-4 * std::abs(b))) {
        return "element " + std::to_string(i) + ": " + std::to_string(a) + " vs " +
               std::to_string(b);
      }
    }
    return "";
  }
  if (got.type() != want.type()) {
    return std::string("type ") + std::string(graph::ElementTypeName(got.type())) + " vs " +
           std::string(graph::ElementTypeName(want.type()));
  }
  if (!got.BytesEqual(want)) return "values differ";
  return "";
}

struct Counts {
  int passed = 0, failed = 0, unsupported = 0;
  std::vector<std::string> failures, unsupported_cases;
};

TEST(OnnxNodeTests, ImportAndRunEveryNodeTest) {
  ASSERT_TRUE(fs::exists(kNodeDir)) << kNodeDir << " is missing: apt-get install libonnx-testdata";
  std::map<std::string, Counts> by_op;
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(kNodeDir)) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    onnx::ModelProto model;
    if (!ParseFile(dir / "model.onnx", &model)) continue;
    const auto& gp = model.graph();
    std::string op =
        gp.node_size() == 1 ? gp.node(0).op_type() : "(multi-node) " + gp.node(0).op_type();
    if (dir.filename().string().find("_expanded") != std::string::npos) {
      op = "(expanded) " + gp.node(gp.node_size() - 1).op_type();
    }
    Counts& c = by_op[op];
    const std::string name = dir.filename().string();
    if (std::getenv("PTQFLOW_NODE_TEST_VERBOSE")) std::fprintf(stderr, "case %s\n", name.c_str());
    auto unsupported = [&](const std::string& why) {
      ++c.unsupported;
      c.unsupported_cases.push_back(name + ": " + why.substr(0, 300));
    };
    std::set<std::string> inits;
    for (const auto& i : gp.initializer()) inits.insert(i.name());
    std::vector<std::string> in_names, out_names;
    for (const auto& i : gp.input()) {
      if (!inits.count(i.name())) in_names.push_back(i.name());
    }
    for (const auto& o : gp.output()) out_names.push_back(o.name());
    const fs::path data = dir / "test_data_set_0";
    std::map<std::string, Tensor> feeds;
    io::OnnxImportOptions opts;
    bool bad_data = false;
    for (size_t i = 0; i < in_names.size(); ++i) {
      onnx::TensorProto tp;
      if (!ParseFile(data / ("input_" + std::to_string(i) + ".pb"), &tp)) {
        bad_data = true;
        break;
      }
      Result<Tensor> t = FromProto(tp);
      if (!t.ok()) {
        bad_data = true;
        break;
      }
      feeds[in_names[i]] = *t;
      // The executor compiles for static shapes: integer inputs (shapes, axes, pads, repeats,
      // indices) are frozen into constants, as a deployed model would have them.
      if (graph::IsInteger(t->type())) {
        opts.frozen_inputs[in_names[i]] = *t;
      } else {
        opts.input_shapes[in_names[i]] = graph::PartialShape(t->shape());
      }
    }
    if (bad_data) {
      unsupported("test data not readable (sequence/optional inputs or unsupported type)");
      continue;
    }
    Result<graph::Graph> g = io::ImportOnnx(dir / "model.onnx", opts);
    if (!g.ok()) {
      unsupported("import: " + g.status().message());
      continue;
    }
    auto plan = CompiledModel::Compile(*g);
    if (!plan.ok()) {
      unsupported("compile: " + plan.status().message());
      continue;
    }
    Session s(*plan);
    std::map<std::string, Tensor> feeds_used;
    for (const ModelInput& mi : (*plan)->inputs()) {
      if (feeds.count(mi.name)) feeds_used[mi.name] = feeds[mi.name];
    }
    std::map<std::string, Tensor> outs;
    Status st = s.RunByResult(feeds_used, &outs);
    std::string fail;
    if (!st.ok()) {
      fail = "run: " + st.message();
    } else {
      for (size_t i = 0; i < out_names.size() && fail.empty(); ++i) {
        onnx::TensorProto tp;
        if (!ParseFile(data / ("output_" + std::to_string(i) + ".pb"), &tp)) {
          fail = "cannot read expected output";
          break;
        }
        Result<Tensor> want = FromProto(tp);
        if (!want.ok()) {
          fail = "expected output: " + want.status().message();
          break;
        }
        auto it = outs.find(out_names[i]);
        if (it == outs.end()) {
          fail = "no output '" + out_names[i] + "'";
          break;
        }
        std::string d = Compare(it->second, *want);
        if (!d.empty()) fail = "output '" + out_names[i] + "': " + d;
      }
    }
    if (fail.empty()) {
      ++c.passed;
    } else {
      ++c.failed;
      c.failures.push_back(name + ": " + fail.substr(0, 300));
    }
  }
  int tp = 0, tf = 0, tu = 0;
  std::printf("%-40s %7s %7s %12s\n", "ONNX op type", "passed", "failed", "unsupported");
  for (const auto& [op, c] : by_op) {
    std::printf("%-40s %7d %7d %12d%s\n", op.c_str(), c.passed, c.failed, c.unsupported,
                kClaimedOps.count(op) ? "  (claimed)" : "");
    tp += c.passed;
    tf += c.failed;
    tu += c.unsupported;
  }
  std::printf("%-40s %7d %7d %12d\n", "TOTAL", tp, tf, tu);
  for (const auto& [op, c] : by_op) {
    const bool claimed = kClaimedOps.count(op) > 0;
    for (const auto& f : c.failures) {
      if (claimed) {
        ADD_FAILURE() << "claimed op " << op << " failed: " << f;
      } else if (std::getenv("PTQFLOW_NODE_TEST_VERBOSE")) {
        std::printf("  FAILED %s\n", f.c_str());
      }
    }
    for (const auto& u : c.unsupported_cases) {
      if (claimed) {
        ADD_FAILURE() << "claimed op " << op << " unsupported: " << u;
      } else if (std::getenv("PTQFLOW_NODE_TEST_VERBOSE")) {
        std::printf("  UNSUPPORTED %s\n", u.c_str());
      }
    }
  }
}

}  // namespace
}  // namespace ptqflow::exec::testing

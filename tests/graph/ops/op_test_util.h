// Small graph builders for the op shape-inference tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "graph/ops/shape_inference.h"

namespace ptqflow::graph::ops::testing {

inline Attributes Attrs(std::initializer_list<std::pair<std::string, std::string>> kv) {
  Attributes a;
  for (const auto& [k, v] : kv) a.Set(k, v);
  return a;
}

inline ValueRef Param(Graph& g, const std::string& name, PartialShape shape,
                      ElementType t = ElementType::kF32) {
  return {g.AddParameter(name, t, std::move(shape)), 0};
}

// 1-D (or given-shape) i64 constant.
inline ValueRef I64(Graph& g, const std::string& name, const std::vector<int64_t>& v,
                    Shape shape = {-2}) {
  if (shape == Shape{-2}) shape = {static_cast<int64_t>(v.size())};
  // Tensor::FromVector memcpy's from v.data(), which is null for an empty vector.
  if (v.empty()) return {g.AddConst(name, Tensor::Allocate(ElementType::kI64, shape)), 0};
  return {g.AddConst(name, Tensor::FromVector<int64_t>(ElementType::kI64, shape, v)), 0};
}
inline ValueRef I64Scalar(Graph& g, const std::string& name, int64_t v) {
  return I64(g, name, {v}, {});
}
inline ValueRef F32(Graph& g, const std::string& name, const std::vector<float>& v,
                    Shape shape = {-2}) {
  if (shape == Shape{-2}) shape = {static_cast<int64_t>(v.size())};
  return {g.AddConst(name, Tensor::FromVector<float>(ElementType::kF32, shape, v)), 0};
}

inline ValueRef Op(Graph& g, const std::string& type, std::vector<ValueRef> inputs,
                   Attributes attrs = {}, const std::string& version = "", int outputs = 1,
                   const std::string& name = "") {
  const std::string n = name.empty() ? type + "_" + std::to_string(g.size()) : name;
  return {g.AddOp(type, n, std::move(inputs), std::move(attrs), outputs, version), 0};
}

// Runs InferShapes and returns the shape of `v`; fails the test on error.
inline PartialShape InferAndGet(Graph& g, ValueRef v) {
  Status st = InferShapes(g);
  EXPECT_TRUE(st.ok()) << st.message();
  return g.output(v).shape;
}

// Runs InferShapes expecting an error; returns its message.
inline std::string InferError(Graph& g) {
  Status st = InferShapes(g);
  EXPECT_FALSE(st.ok()) << "InferShapes unexpectedly succeeded";
  return st.message();
}

}  // namespace ptqflow::graph::ops::testing

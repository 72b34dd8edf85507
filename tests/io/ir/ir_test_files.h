// Small helpers for the IR tests: write text/bytes to files, read files back, and a hand-written
// IR v11 model used by several tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ptqflow::testing {

inline void WriteFile(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

template <typename T>
void AppendPod(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

inline std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// A small IR v11 model: Parameter x [-1,3] f32 -> Add(x, w=[1.5,-2,0.25]) -> FancyCustomOp
// (unknown op, two outputs: f16 [-1,3] and a 0-D i32) -> two Results. A scalar i64 Const (7)
// at offset 12 (not 8-aligned) feeds the custom op's second input. Layer ids are not in file
// order. rt_info of net, layer and ports is written raw (no whitespace), exactly as
// pugixml prints it.
inline const char* kLayerRtInfo =
    R"(<rt_info><attribute name="old_api_map_element_type" version="0" value="f16"/></rt_info>)";
inline const char* kPortRtInfo =
    R"(<rt_info><attribute name="layout" version="0" layout="[N,C]"/></rt_info>)";
inline const char* kInPortRtInfo = R"(<rt_info><attribute name="fused" value="a,b"/></rt_info>)";
inline const char* kNetRtInfo =
    R"(<rt_info><MO_version value="2023.0"/><conversion_parameters><framework value="onnx"/></conversion_parameters></rt_info>)";

inline std::string TinyIrXml() {
  return std::string(R"(<?xml version="1.0"?>
<net name="tiny" version="11">
	<layers>
		<layer id="7" name="x" type="Parameter" version="opset1">
			<data shape="?,3" element_type="f32"/>
			)") +
         kLayerRtInfo +
         R"(
			<output>
				<port id="0" precision="FP32" names="x,in\,put">
					<dim>-1</dim>
					<dim>3</dim>
					)" +
         kPortRtInfo + R"(
				</port>
			</output>
		</layer>
		<layer id="1" name="w" type="Const" version="opset1">
			<data element_type="f32" shape="3" offset="0" size="12"/>
			<output>
				<port id="0" precision="FP32">
					<dim>3</dim>
				</port>
			</output>
		</layer>
		<layer id="2" name="add" type="Add" version="opset1">
			<data auto_broadcast="numpy"/>
			<input>
				<port id="0" precision="FP32">
					<dim>-1</dim>
					<dim>3</dim>
					)" +
         kInPortRtInfo + R"(
				</port>
				<port id="1" precision="FP32">
					<dim>3</dim>
				</port>
			</input>
			<output>
				<port id="2" precision="FP32" names="sum">
					<dim>-1</dim>
					<dim>3</dim>
				</port>
			</output>
		</layer>
		<layer id="3" name="s" type="Const" version="opset1">
			<data element_type="i64" shape="" offset="12" size="8"/>
			<output>
				<port id="0" precision="I64"/>
			</output>
		</layer>
		<layer id="4" name="mystery" type="FancyCustomOp" version="custom_opset">
			<data alpha="0.100000001" mode="fast" list="1, 2,3"/>
			<input>
				<port id="0" precision="FP32">
					<dim>-1</dim>
					<dim>3</dim>
				</port>
				<port id="1" precision="I64"/>
			</input>
			<output>
				<port id="2" precision="FP16" names="m0">
					<dim>-1</dim>
					<dim>3</dim>
				</port>
				<port id="3" precision="I32" names="m1"/>
			</output>
		</layer>
		<layer id="5" name="out0" type="Result" version="opset1">
			<input>
				<port id="0" precision="FP16">
					<dim>-1</dim>
					<dim>3</dim>
				</port>
			</input>
		</layer>
		<layer id="6" name="out1" type="Result" version="opset1">
			<input>
				<port id="0" precision="I32"/>
			</input>
		</layer>
	</layers>
	<edges>
		<edge from-layer="7" from-port="0" to-layer="2" to-port="0"/>
		<edge from-layer="1" from-port="0" to-layer="2" to-port="1"/>
		<edge from-layer="2" from-port="2" to-layer="4" to-port="0"/>
		<edge from-layer="3" from-port="0" to-layer="4" to-port="1"/>
		<edge from-layer="4" from-port="2" to-layer="5" to-port="0"/>
		<edge from-layer="4" from-port="3" to-layer="6" to-port="0"/>
	</edges>
	)" +
         kNetRtInfo +
         R"(
</net>
)";
}

// The matching .bin: f32 {1.5, -2, 0.25} then i64 7.
inline std::string TinyIrBin() {
  std::string bin;
  AppendPod<float>(&bin, 1.5f);
  AppendPod<float>(&bin, -2.0f);
  AppendPod<float>(&bin, 0.25f);
  AppendPod<int64_t>(&bin, 7);
  return bin;
}

}  // namespace ptqflow::testing

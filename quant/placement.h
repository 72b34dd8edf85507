// FakeQuantize placement: POT's GraphTransformer.insert_fake_quantize plus the configuration
// choice of fake_quantize_configuration.py (pot-spec §3.2, §3.4, §3.5, §4.1–§4.4), producing a
// QuantizationPlan (quant/quantization_plan.h) for the range-fitting algorithms.
//
// Steps, each a rewrite of the graph the caller owns:
//
// 1. Preparation (pot-spec §4.2), PrepareGraphForQuantization:
//      Const(f16) → Convert(f32)          ⇒  Const(f32)                  (remove_converts)
//      Const W[K,N] → MatMul(tb=false)   ⇒  Const Wᵀ[N,K] → MatMul(tb=true)   (MatMulPreprocessing;
//                                            a shared Const is copied first)
//      Const W[G,O/G,I/G,k..] → GroupConvolution
//                                        ⇒  Const W[O,I/G,k..] → Reshape(i64 [G,O/G,I/G,k..]) →
//                                            GroupConvolution          (MO's 4-D group weights)
//      Convolution → X  (no bias Add)    ⇒  Convolution → Add "<conv>/add_"(zeros [1,C,1..]) → X
//                                            (InsertBiasNode; the output tensor names move to
//                                            the Add)
// 2. Skipped blocks (quant/patterns.h) and the ignored scope (§3.5): names, op types with
//    attribute filters (the first entry of a matching type decides, as POT's is_ignored),
//    skip_model; an ignored quantize-agnostic op passes the ignore on to its first
//    non-agnostic descendants; model_type "transformer" ignores Add, Power, Squeeze, Subtract,
//    ReduceMean, SquaredDifference, MVN and (except on CPU_SPR) Multiply.
// 3. Insertion (§4.3.2): for each quantizable op of the hardware config that is neither skipped
//    nor ignored, one FakeQuantize per quantized input port:
//
//        X ─► Conv              X ─► FQ "Conv/fq_input_0" ─────► Conv
//        W ─┘            ⇒      W ─► FQ "Conv/fq_weights_1" ───┘
//
//    Convolution/ConvolutionBackpropData/MatMul: ports 0 and 1; LSTMSequence 0,1,4,5;
//    GRUSequence 0,1,3,4; Interpolate, Power, ReduceMean, NormalizeL2, PReLU, ReLU, Sigmoid,
//    Tanh, Clamp, MVN and scale-shift Multiply(const)→Add(const): port 0; others: every port.
//    Ports fed by value-known non-Const data (shape sub-graphs) and non-float ports get none.
//    GroupConvolution weights: the FQ sits between the 4-D Const and the Reshape.
// 4. Propagation (§4.3.3): in name order, each activation FQ moves above a quantize-agnostic
//    producer unless POT's skip-ascent rule blocks it (another branch below the producer would
//    end in a non-quantized op):
//
//        A ─► Transpose ─► FQ "MatMul/fq_input_0" ─► MatMul
//                         ⇒   A ─► FQ "Transpose/fq_input_0" ─► Transpose ─► MatMul
//
//    single-input ops: to input 0; Concat: one FQ per input (fq_weights_<i> on Const inputs);
//    Pad/ConvertLike: every non-Const input; an FQ producer: the two merge.
// 5. Merging (§4.3.4): FQs reading the same tensor collapse into the first by name:
//
//        T ─► FQ "B/fq_input_0" ─► B           T ─► FQ "A/fq_input_0" ─┬► A
//        T ─► FQ "A/fq_input_0" ─► A     ⇒                             └► B
//
// 6. Configuration (§3.2): per FQ, the candidate lists of its quantized descendants (through
//    agnostic ops; DepthWiseConvolution = Convolution with group == C_out == C_in) filtered by
//    the user's weights/activations keys, intersected, then the preset rule; FQs of one
//    unification group (§4.4: Concat feeding Conv/Deconv/MatMul and no per-channel op,
//    LSTM/GRU port groups) share one per-tensor config; transformer mode forces symmetric
//    activations in front of MatMuls without constant weights. `levels` and the limit shapes
//    follow: per-tensor limits are scalars ([]), per-channel weights [C,1,..] (axis 0; axis 1
//    for ConvolutionBackpropData), per-channel activations [1,C,1,..].
//
// Not reproduced: GNA `outputs` FQs and primary-bitwidth output groups, CPU_SPR's removal of one
// FQ in front of activation+activation Adds, FakeQuantizeNameSwapper (FQ → Result renaming:
// placement never puts an FQ directly before a Result), sub-graph (TensorIterator) bodies.
//
// Thread-safety: functions over a graph the caller owns exclusively.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "graph/status.h"
#include "quant/hardware_config.h"
#include "quant/quantization_plan.h"

namespace ptqflow::quant {

// POT's `ignored` section (pot-spec §3.5).
struct IgnoredOperation {
  std::string type;  // op type, in ptqflow's or POT's naming (Relu or ReLU)
  // Attribute filters: IR attribute name -> value as text ("1", "explicit", "2,2"). Numbers
  // compare numerically. POT's MO-only attribute `output` (output channels of a convolution /
  // MatMul) is also understood.
  std::vector<std::pair<std::string, std::string>> attributes;
};
struct IgnoredScope {
  std::vector<std::string> scope;  // node names
  std::vector<IgnoredOperation> operations;
  bool skip_model = false;  // no FakeQuantize at all
};

struct PlacementOptions {
  // Flattened hardware config of the device (required: quant/hardware/<device>.json through
  // io::ReadHardwareConfigFile + FlattenHardwareConfig).
  const HardwareConfig* hardware = nullptr;
  // Target device: "ANY", "CPU", "CPU_SPR", "GPU", "GNA", ... Empty = hardware->target_device.
  std::string target_device;
  Preset preset = Preset::kPerformance;
  QuantConfigOverride weights;      // user `weights` keys (empty = hardware config as is)
  QuantConfigOverride activations;  // user `activations` keys
  IgnoredScope ignored;
  std::string model_type;  // "" or "transformer"
  // POT's quantize_inputs (FQs are not moved above a Parameter feeding a scale-shift). Default
  // false as in POT.
  bool quantize_inputs = false;
  // Step 1's InsertBiasNode (zero biases after bias-less convolutions). Default true as POT.
  bool insert_null_biases = true;
};

// Step 1 alone (see the header comment). Errors name the node.
Status PrepareGraphForQuantization(graph::Graph* g, const PlacementOptions& options);

// Steps 1–6. On success the graph holds one FakeQuantize-1 per plan entry (placeholder zero
// limits of the final shapes, final `levels`), and the plan describes them. Errors: missing
// hardware config, unknown model_type, an FQ without a usable config (names the FQ and its
// consumers), a per-channel activation FQ whose channel dimension is not static (names the
// FQ), a malformed graph (names the node).
Result<QuantizationPlan> PlaceFakeQuantize(graph::Graph* g, const PlacementOptions& options);

// POT's first-convolution search (test_graph.py::test_first_convolutions_search): breadth-first
// from all Parameters over all consumers; a Convolution (or GroupConvolution) reached is
// recorded and not descended into; anything else is passed through. Sorted node names.
std::vector<std::string> FindFirstConvolutions(const graph::Graph& g);

// The type POT's hardware config uses for `n`: "DepthWiseConvolution" for a grouped convolution
// with group == output channels == input channels (when the config lists that type), else
// PotType(n).
std::string HardwareOpType(const graph::Graph& g, const graph::Node& n, const HardwareConfig& hw);

// POT's quantize-agnostic ops (MaxPool, Reshape, Concat, ...) that the hardware config lists.
bool IsQuantizeAgnostic(const graph::Node& n, const HardwareConfig& hw);
// An op the hardware config quantizes (listed with quantization configs, not agnostic): the ops
// placement puts FakeQuantize layers in front of.
bool IsQuantizedOpType(const graph::Graph& g, const graph::Node& n, const HardwareConfig& hw);

}  // namespace ptqflow::quant

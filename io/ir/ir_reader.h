// OpenVINO IR reader: `model.xml` (IR version 10 or 11) + `model.bin` -> graph::Graph.
//
// What is kept (so that ReadIr -> WriteIr -> ReadIr is lossless):
//   - layers in file order (NodeId = position in the file), Node::ir_id = layer id, name, type,
//     opset version, every <data> attribute as its exact string in file order (for Const the
//     element_type/shape/offset/size attributes move into Node::constant; any others stay);
//   - input/output port ids (ir_port_id), output port precision, dims (-1 = dynamic), tensor
//     names (`names`, "\," = literal comma);
//   - <rt_info> of the net, of each layer and of each port as opaque XML text (the element
//     serialized raw by pugixml, "<rt_info>...</rt_info>");
//   - layers of types ptqflow does not know (their output ports come from the file).
// Input port dims/precision in the file are not stored: they are those of the producing port.
//
// Constants: the .bin is memory-mapped (io::MappedFile) and each Const tensor is a view into
// the mapping (the tensor holds the mapping alive). A blob whose offset is not a multiple of
// its element size (IR has no alignment rule) is copied into aligned storage instead, so that
// typed reads of Tensor::data<T>() are always aligned.
//
// Errors name the .xml (or .bin) file, the layer ("layer 'conv1' (id 5, Convolution)") and the
// fact. Layers with sub-graph bodies (TensorIterator, Loop, If) are reported as not supported.
//
// Thread-safety: ReadIr is reentrant.
#pragma once

#include <filesystem>

#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::io {

// Reads `xml`; `bin` defaults to `xml` with the extension replaced by ".bin". The .bin is only
// opened if the model has Const layers.
Result<graph::Graph> ReadIr(const std::filesystem::path& xml,
                            const std::filesystem::path& bin = {});

}  // namespace ptqflow::io

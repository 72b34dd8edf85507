// OpenVINO IR writer: graph::Graph -> `model.xml` (always IR version 11) + `model.bin`.
//
//   - Layers are written in node-id order (live nodes only); edges follow the inputs of each
//     node in the same order.
//   - Layer ids: Node::ir_id where it is set and not already taken by an earlier node;
//     every other node gets a fresh id above all kept ones.
//   - Port ids: a node's stored ir_port_ids if all are set and distinct within the node;
//     otherwise inputs are numbered 0..n-1 and outputs n, n+1, ...
//   - Attributes are written as their stored strings, in their stored order (a byte-faithful
//     round trip). Const layers get <data element_type shape offset size> (shape "" for a
//     scalar) followed by any other stored attributes.
//   - Input ports repeat the precision and dims of the producing output port; output ports
//     carry precision (graph::PrecisionName), `names` (commas escaped as "\,") and dims
//     (-1 = dynamic dimension, a single "..." = dynamic rank).
//   - rt_info strings (net, layer, port) are parsed and inserted as XML elements.
//   - Constant blobs are stored back to back without alignment; identical blobs (same bytes)
//     are stored once and shared by offset.
// Both files are written through io::AtomicFile: on any error neither file is created or
// replaced, and no temporary file is left behind.
//
// Thread-safety: WriteIr only reads the graph; concurrent calls on distinct paths are safe.
#pragma once

#include <filesystem>

#include "graph/graph.h"
#include "graph/status.h"

namespace ptqflow::io {

// Writes `g` to `xml` and to `xml` with its extension replaced by ".bin".
Status WriteIr(const graph::Graph& g, const std::filesystem::path& xml);

}  // namespace ptqflow::io

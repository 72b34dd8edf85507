// Statistics checkpoints of the calibration flow graph: plain structs here, the protobuf schema
// (proto/stats_checkpoint.proto) only inside checkpoint.cc.
//
// A checkpoint holds the dataset fingerprint, the passes that completed (with their results,
// so a resumed run skips them) and the pass in progress: after how many selected samples, with
// which skipped samples, and every accumulator's state keyed by quant::StatRequestKey.
// Files are written atomically (io/atomic_file.h: temp file, fsync, rename) inside an envelope
// with a magic, the payload length and a payload fingerprint, so a truncated or corrupted file
// is a clear error and never a wrong result.
//
// Thread-safety: pure functions over plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "graph/status.h"
#include "io/data/dataset.h"
#include "quant/engine.h"

namespace ptqflow::stages {

inline constexpr uint32_t kCheckpointFormatVersion = 1;

struct PassCheckpoint {
  uint32_t pass_index = 0;
  std::string pass_name;
  std::string model_fingerprint;
  std::string config_fingerprint;
  uint64_t positions_done = 0;                   // selected samples processed, used or skipped
  std::vector<io::BadSampleLog::Entry> skipped;  // in selection order
  std::vector<std::string> keys;                 // StatRequestKey per request
  quant::CollectedStats stats;                   // parallel to keys
};

struct Checkpoint {
  std::string dataset_fingerprint;
  std::vector<PassCheckpoint> completed;
  std::optional<PassCheckpoint> current;
};

// Serialises to the file format described in proto/stats_checkpoint.proto.
std::string SerializeCheckpoint(const Checkpoint& c);
// Parses file bytes; `where` (the path) prefixes every error. Errors: bad magic, truncated,
// fingerprint mismatch (corrupt), unparsable payload, other format version, inconsistent state.
Result<Checkpoint> ParseCheckpoint(const std::string& bytes, const std::string& where);

// Atomic write / read of a checkpoint file.
Status WriteCheckpointFile(const std::filesystem::path& path, const Checkpoint& c);
Status WriteCheckpointBytes(const std::filesystem::path& path, const std::string& bytes);
Result<Checkpoint> ReadCheckpointFile(const std::filesystem::path& path);

}  // namespace ptqflow::stages

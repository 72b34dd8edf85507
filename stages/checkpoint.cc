#include "stages/checkpoint.h"

#include <cstring>

#include "io/atomic_file.h"
#include "io/data/file_util.h"
#include "proto/stats_checkpoint.pb.h"
#include "stages/fingerprint.h"

namespace ptqflow::stages {
namespace {

constexpr char kMagic[8] = {'P', 'T', 'Q', 'F', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 24;

void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

void PassToProto(const PassCheckpoint& p, proto::PassState* out) {
  out->set_pass_index(p.pass_index);
  out->set_pass_name(p.pass_name);
  out->set_model_fingerprint(p.model_fingerprint);
  out->set_config_fingerprint(p.config_fingerprint);
  out->set_positions_done(p.positions_done);
  out->set_num_samples(p.stats.num_samples);
  for (const io::BadSampleLog::Entry& e : p.skipped) {
    proto::SkippedSample* s = out->add_skipped();
    s->set_index(e.index);
    s->set_message(e.message);
  }
  for (size_t i = 0; i < p.keys.size(); ++i) {
    const quant::StatResult& r = p.stats.results[i];
    proto::StatState* st = out->add_stats();
    st->set_key(p.keys[i]);
    if (r.samples) {
      proto::AccumulatorState* a = st->mutable_samples();
      a->set_channels(r.samples->channels());
      a->set_per_channel(r.samples->per_channel());
      a->mutable_values()->Add(r.samples->values().begin(), r.samples->values().end());
      const std::vector<int64_t> sizes = r.samples->batch_sizes();
      a->mutable_batch_sizes()->Add(sizes.begin(), sizes.end());
    }
    for (const graph::Tensor& t : r.batch_means) {
      proto::TensorState* ts = st->add_batch_means();
      ts->mutable_shape()->Add(t.shape().begin(), t.shape().end());
      auto v = t.span<float>();
      ts->mutable_values()->Add(v.begin(), v.end());
    }
    for (const graph::Shape& s : r.shapes) {
      st->add_shapes()->mutable_dims()->Add(s.begin(), s.end());
    }
    if (r.histogram) {
      proto::HistogramState* h = st->mutable_histogram();
      h->set_lo(r.histogram->lo());
      h->set_hi(r.histogram->hi());
      h->mutable_counts()->Add(r.histogram->counts().begin(), r.histogram->counts().end());
      h->set_underflow(r.histogram->underflow());
      h->set_overflow(r.histogram->overflow());
      h->set_nan_count(r.histogram->nan_count());
    }
  }
}

Result<PassCheckpoint> PassFromProto(const proto::PassState& in) {
  PassCheckpoint p;
  p.pass_index = in.pass_index();
  p.pass_name = in.pass_name();
  p.model_fingerprint = in.model_fingerprint();
  p.config_fingerprint = in.config_fingerprint();
  p.positions_done = in.positions_done();
  p.stats.num_samples = in.num_samples();
  for (const proto::SkippedSample& s : in.skipped()) p.skipped.push_back({s.index(), s.message()});
  if (p.stats.num_samples + p.skipped.size() != p.positions_done) {
    return Status::Error("pass " + std::to_string(p.pass_index) + ": " +
                         std::to_string(p.stats.num_samples) + " used + " +
                         std::to_string(p.skipped.size()) +
                         " skipped samples != " + std::to_string(p.positions_done) + " processed");
  }
  for (const proto::StatState& st : in.stats()) {
    p.keys.push_back(st.key());
    quant::StatResult r;
    const std::string what = "statistic '" + st.key() + "'";
    if (st.has_samples()) {
      const proto::AccumulatorState& a = st.samples();
      auto acc = quant::SampleAccumulator::FromState(
          a.channels(), a.per_channel(), {a.values().begin(), a.values().end()},
          {a.batch_sizes().begin(), a.batch_sizes().end()});
      if (!acc.ok()) return acc.status().WithContext(what);
      r.samples = std::move(acc).value();
    }
    for (const proto::TensorState& t : st.batch_means()) {
      graph::Shape shape(t.shape().begin(), t.shape().end());
      for (int64_t d : shape) {
        if (d < 0) return Status::Error(what + ": negative dimension in a batch mean");
      }
      if (graph::ElementCount(shape) != t.values_size()) {
        return Status::Error(what + ": batch mean size does not match its shape");
      }
      r.batch_means.push_back(
          graph::Tensor::FromVector(graph::ElementType::kF32, shape,
                                    std::vector<float>(t.values().begin(), t.values().end())));
    }
    for (const proto::ShapeState& s : st.shapes())
      r.shapes.emplace_back(s.dims().begin(), s.dims().end());
    if (st.has_histogram()) {
      const proto::HistogramState& h = st.histogram();
      auto hist =
          quant::Histogram::FromState(h.lo(), h.hi(), {h.counts().begin(), h.counts().end()},
                                      h.underflow(), h.overflow(), h.nan_count());
      if (!hist.ok()) return hist.status().WithContext(what);
      r.histogram = std::move(hist).value();
    }
    p.stats.results.push_back(std::move(r));
  }
  return p;
}

}  // namespace

std::string SerializeCheckpoint(const Checkpoint& c) {
  proto::StatsCheckpoint msg;
  msg.set_format_version(kCheckpointFormatVersion);
  msg.set_dataset_fingerprint(c.dataset_fingerprint);
  for (const PassCheckpoint& p : c.completed) PassToProto(p, msg.add_completed());
  if (c.current) PassToProto(*c.current, msg.mutable_current());
  std::string payload;
  msg.SerializeToString(&payload);
  std::string out(kMagic, sizeof(kMagic));
  PutU64(&out, payload.size());
  PutU64(&out, FingerprintBytes(payload.data(), payload.size()));
  out += payload;
  return out;
}

Result<Checkpoint> ParseCheckpoint(const std::string& bytes, const std::string& where) {
  auto fail = [&](const std::string& why) {
    return Status::Error("checkpoint " + where + ": " + why);
  };
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return fail(bytes.size() < sizeof(kMagic) ? "file is too short to be a ptqflow checkpoint"
                                              : "not a ptqflow checkpoint (bad magic)");
  }
  const uint64_t len = GetU64(bytes, 8);
  if (bytes.size() - kHeaderBytes < len) {
    return fail("truncated: the payload should be " + std::to_string(len) +
                " bytes, the file has " + std::to_string(bytes.size() - kHeaderBytes));
  }
  if (bytes.size() - kHeaderBytes > len) return fail("trailing bytes after the payload");
  const char* payload = bytes.data() + kHeaderBytes;
  if (FingerprintBytes(payload, len) != GetU64(bytes, 16)) {
    return fail("corrupt: the payload fingerprint does not match");
  }
  proto::StatsCheckpoint msg;
  if (!msg.ParseFromArray(payload, static_cast<int>(len))) {
    return fail("cannot parse the payload");
  }
  if (msg.format_version() != kCheckpointFormatVersion) {
    return fail("format version " + std::to_string(msg.format_version()) + ", this build reads " +
                std::to_string(kCheckpointFormatVersion));
  }
  Checkpoint c;
  c.dataset_fingerprint = msg.dataset_fingerprint();
  for (const proto::PassState& p : msg.completed()) {
    auto pass = PassFromProto(p);
    if (!pass.ok()) return fail(pass.status().message());
    c.completed.push_back(std::move(pass).value());
  }
  if (msg.has_current()) {
    auto pass = PassFromProto(msg.current());
    if (!pass.ok()) return fail(pass.status().message());
    c.current = std::move(pass).value();
  }
  return c;
}

Status WriteCheckpointBytes(const std::filesystem::path& path, const std::string& bytes) {
  return io::WriteFileAtomically(path, bytes);
}

Status WriteCheckpointFile(const std::filesystem::path& path, const Checkpoint& c) {
  return WriteCheckpointBytes(path, SerializeCheckpoint(c));
}

Result<Checkpoint> ReadCheckpointFile(const std::filesystem::path& path) {
  PTQ_ASSIGN_OR_RETURN(std::string bytes, io::ReadFileBytes(path));
  return ParseCheckpoint(bytes, path.string());
}

}  // namespace ptqflow::stages

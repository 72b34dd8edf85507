// FlowEngine (the oneTBB flow graph): bit-identical to the serial reference loop for any
// scheduling, error and skip paths, stop + checkpoint + resume, and checkpoint refusal.
#include "stages/flow_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "graph/ops/shape_inference.h"
#include "io/data/file_util.h"
#include "proto/stage_config.pb.h"
#include "stages/serial_engine.h"
#include "tests/stages/stages_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::stages::testing {
namespace {

using quant::CollectedStats;
using quant::StatKind;
using quant::StatRequest;
using quant::StatType;

Result<std::string> ReadFileForTest(const std::string& path) { return io::ReadFileBytes(path); }

std::vector<StatRequest> Requests(const TinyModel& m) {
  std::vector<StatRequest> r(7);
  r[0].value = {m.relu, 0};
  r[0].reduction.type = StatType::kMin;
  r[1].value = {m.mul, 0};
  r[1].reduction.type = StatType::kAbsMax;
  r[1].reduction.per_channel = true;
  r[2].value = {m.add, 0};
  r[2].kind = StatKind::kBatchMean;
  r[3].value = {m.x, 0};
  r[3].kind = StatKind::kShape;
  r[4].value = {m.mul, 0};
  r[4].kind = StatKind::kHistogram;
  r[4].hist_lo = -3.f;
  r[4].hist_hi = 3.f;
  r[4].hist_bins = 16;
  r[5].value = {m.add, 0};
  r[5].reduction.type = StatType::kQuantile;
  r[5].reduction.quantile = 0.9;
  r[6].value = {m.add, 0};
  r[6].reduction.type = StatType::kMean;
  r[6].reduction.per_channel = true;
  return r;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Bit-for-bit equality of two results.
void ExpectIdentical(const CollectedStats& a, const CollectedStats& b, const std::string& what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.num_samples, b.num_samples);
  ASSERT_EQ(a.results.size(), b.results.size());
  for (size_t i = 0; i < a.results.size(); ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    const quant::StatResult& x = a.results[i];
    const quant::StatResult& y = b.results[i];
    ASSERT_EQ(x.samples.has_value(), y.samples.has_value());
    if (x.samples) {
      EXPECT_EQ(x.samples->channels(), y.samples->channels());
      EXPECT_TRUE(SameBits(x.samples->values(), y.samples->values()));
      EXPECT_EQ(x.samples->batch_sizes(), y.samples->batch_sizes());
    }
    ASSERT_EQ(x.batch_means.size(), y.batch_means.size());
    for (size_t k = 0; k < x.batch_means.size(); ++k) {
      EXPECT_TRUE(x.batch_means[k].BytesEqual(y.batch_means[k])) << "batch mean " << k;
    }
    EXPECT_EQ(x.shapes, y.shapes);
    ASSERT_EQ(x.histogram.has_value(), y.histogram.has_value());
    if (x.histogram) {
      EXPECT_EQ(x.histogram->counts(), y.histogram->counts());
      EXPECT_EQ(x.histogram->underflow(), y.histogram->underflow());
      EXPECT_EQ(x.histogram->overflow(), y.histogram->overflow());
    }
  }
}

io::SelectionOptions Shuffled(size_t subset) {
  io::SelectionOptions s;
  s.subset_size = subset;
  s.shuffle = true;
  s.seed = 11;
  return s;
}

CollectedStats SerialReference(const TinyModel& m, std::shared_ptr<const io::Dataset> data,
                               const io::SelectionOptions& sel, bool skip = false,
                               size_t max_samples = 0) {
  SerialEngineOptions o;
  o.selection = sel;
  o.skip_bad_samples = skip;
  o.threads = 1;
  SerialEngine serial(std::move(data), o);
  auto req = Requests(m);
  quant::CollectOptions co;
  co.max_samples = max_samples;
  auto got = serial.Collect(m.g, req, co);
  CHECK(got.ok()) << got.status().message();
  return std::move(got).value();
}

TEST(FlowEngineTest, BitIdenticalToTheSerialLoopForAnyWorkersAndInFlight) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(60);
  const io::SelectionOptions sel = Shuffled(45);
  const CollectedStats want = SerialReference(m, data, sel);
  ASSERT_EQ(want.num_samples, 45u);
  auto req = Requests(m);
  for (int workers : {1, 2, 4}) {
    for (int in_flight : {1, 3, 16}) {
      FlowEngineOptions o;
      o.selection = sel;
      o.workers = workers;
      o.in_flight = in_flight;
      o.intra_op_threads = 1;
      FlowEngine engine(data, o);
      EXPECT_EQ(engine.num_samples(), 45u);
      auto got = engine.Collect(m.g, req, {});
      ASSERT_TRUE(got.ok()) << got.status().message();
      ExpectIdentical(
          *got, want,
          "workers " + std::to_string(workers) + " in_flight " + std::to_string(in_flight));
    }
  }
}

// The fitting node: jobs that need no statistics run while samples are processed, the others
// see the complete statistics of the pass; every job runs exactly once; a failing job fails
// the pass with the first failure in job order; a pass restored from a checkpoint fits again.
TEST(FlowEngineTest, FitJobsRunInsideThePassOnTheCompleteStatistics) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(40);
  const io::SelectionOptions sel = Shuffled(30);
  const CollectedStats want = SerialReference(m, data, sel);
  auto req = Requests(m);
  const auto dir = ::ptqflow::testing::TempDir();
  const std::string ckpt = (dir / "c.ckpt").string();
  for (int workers : {1, 2}) {
    for (bool restore : {false, true}) {
      SCOPED_TRACE("workers " + std::to_string(workers) + (restore ? " restored" : ""));
      FlowEngineOptions o;
      o.selection = sel;
      o.workers = workers;
      o.intra_op_threads = 1;
      o.samples_per_message = 4;
      o.checkpoint_path = ckpt;
      o.resume = restore;
      FlowEngine engine(data, o);
      std::vector<int> runs(4, 0);
      std::vector<size_t> seen_samples(4, 0);
      quant::CollectOptions co;
      for (int j = 0; j < 4; ++j) {
        quant::FitJob job;
        job.needs_stats = j != 1;  // job 1 plays a weights range
        job.run = [&, j](const CollectedStats& stats) -> Status {
          ++runs[j];
          seen_samples[j] = stats.num_samples;
          if (j == 2) ExpectIdentical(stats, want, "statistics seen by a fit job");
          return Status::Ok();
        };
        co.fit.push_back(std::move(job));
      }
      auto got = engine.Collect(m.g, req, co);
      ASSERT_TRUE(got.ok()) << got.status().message();
      ExpectIdentical(*got, want, "result");
      EXPECT_EQ(runs, (std::vector<int>{1, 1, 1, 1}));
      EXPECT_EQ(seen_samples, (std::vector<size_t>{30, 0, 30, 30}));
      EXPECT_EQ(engine.passes_restored(), restore ? 1 : 0);
    }
  }
  // Failures: the first failing job in job order is reported, whatever ran first.
  for (int workers : {1, 2}) {
    FlowEngineOptions o;
    o.selection = sel;
    o.workers = workers;
    o.intra_op_threads = 1;
    FlowEngine engine(data, o);
    quant::CollectOptions co;
    for (int j = 0; j < 3; ++j) {
      quant::FitJob job;
      job.needs_stats = j != 2;
      job.run = [j](const CollectedStats&) -> Status {
        if (j == 0) return Status::Ok();
        return Status::Error("job " + std::to_string(j) + " failed");
      };
      co.fit.push_back(std::move(job));
    }
    auto got = engine.Collect(m.g, req, co);
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("job 1 failed"), std::string::npos)
        << got.status().message();
    EXPECT_NE(got.status().message().find("fitting"), std::string::npos) << got.status().message();
  }
}

TEST(FlowEngineTest, MaxSamplesTakesThePrefixOfTheSelection) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(30);
  const CollectedStats want = SerialReference(m, data, Shuffled(0), false, 9);
  FlowEngineOptions o;
  o.selection = Shuffled(0);
  o.workers = 3;
  FlowEngine engine(data, o);
  auto req = Requests(m);
  quant::CollectOptions co;
  co.max_samples = 9;
  auto got = engine.Collect(m.g, req, co);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ExpectIdentical(*got, want, "max_samples 9");
}

TEST(FlowEngineTest, FirstBadSampleInSelectionOrderFailsThePass) {
  TinyModel m = MakeTinyModel();
  // Dataset order: sample 13 is visited before sample 29 whatever the scheduling.
  auto data = std::make_shared<TinyDataset>(40, std::set<size_t>{13, 29});
  auto req = Requests(m);
  for (int in_flight : {1, 16}) {
    FlowEngineOptions o;
    o.workers = 4;
    o.in_flight = in_flight;
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("sample 13"), std::string::npos)
        << got.status().message();
    EXPECT_EQ(got.status().message().find("sample 29"), std::string::npos)
        << got.status().message();
  }
}

TEST(FlowEngineTest, InferenceErrorNamesTheSample) {
  // A model that only takes batch 1 (static input shape); samples 0, 5, 10 have batch 2.
  TinyModel m = MakeTinyModel();
  m.g.node(m.x).outputs[0].shape = graph::PartialShape({1, 2, 3});
  m.g.node(m.x).attrs.Set("shape", "1,2,3");
  ASSERT_TRUE(graph::ops::InferShapes(m.g).ok());
  auto data = std::make_shared<TinyDataset>(10);
  FlowEngineOptions o;
  o.selection.shuffle = true;
  o.selection.seed = 5;
  // Find the first selected sample with batch 2: it is the one the error must name.
  const std::vector<size_t> order = io::SelectSamples(10, o.selection);
  size_t first_bad = 99;
  for (size_t i : order) {
    if (TinyDataset::Batch(i) == 2) {
      first_bad = i;
      break;
    }
  }
  ASSERT_NE(first_bad, 99u) << "the selection should contain a batch-2 sample";
  o.workers = 2;
  FlowEngine engine(data, o);
  auto req = Requests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("sample " + std::to_string(first_bad)), std::string::npos)
      << got.status().message();
}

TEST(FlowEngineTest, SkippedSamplesAreCountedAndResultsMatchTheSerialLoop) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(30, std::set<size_t>{2, 3, 17, 29});
  const CollectedStats want = SerialReference(m, data, {}, /*skip=*/true);
  auto req = Requests(m);
  for (int in_flight : {1, 4}) {
    FlowEngineOptions o;
    o.workers = 2;
    o.in_flight = in_flight;
    o.skip_bad_samples = true;
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(engine.bad_samples().count(), 4u);
    ExpectIdentical(*got, want, "skip, in_flight " + std::to_string(in_flight));
  }
}

TEST(FlowEngineTest, StopDrainsWritesACheckpointAndResumeGivesTheSameResult) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(50);
  const CollectedStats want = SerialReference(m, data, Shuffled(40));
  const std::filesystem::path ckpt = ptqflow::testing::TempDir() / "stats.ckpt";
  auto req = Requests(m);
  std::atomic<bool> stop{false};
  {
    FlowEngineOptions o;
    o.selection = Shuffled(40);
    o.workers = 4;
    o.in_flight = 8;
    o.checkpoint_path = ckpt.string();
    o.stop = &stop;
    o.on_merged = [&](size_t done) {
      if (done == 13) stop.store(true);
    };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(engine.interrupted());
    EXPECT_NE(got.status().message().find("interrupted"), std::string::npos)
        << got.status().message();
  }
  auto saved = ReadCheckpointFile(ckpt);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  ASSERT_TRUE(saved->current.has_value());
  // The source stops feeding after the flag; what was in flight (at most in_flight) drains.
  EXPECT_GE(saved->current->positions_done, 13u);
  EXPECT_LE(saved->current->positions_done, 13u + 8u);
  stop.store(false);
  FlowEngineOptions o;
  o.selection = Shuffled(40);
  o.workers = 1;  // resumed with another worker count
  o.checkpoint_path = ckpt.string();
  o.resume = true;
  FlowEngine engine(data, o);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(engine.passes_resumed(), 1);
  ExpectIdentical(*got, want, "resumed");
}

TEST(FlowEngineTest, PeriodicCheckpointsResumeToTheSameResult) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(40, std::set<size_t>{4, 21});
  const CollectedStats want = SerialReference(m, data, {}, /*skip=*/true);
  const std::filesystem::path dir = ptqflow::testing::TempDir();
  const std::filesystem::path ckpt = dir / "stats.ckpt";
  const std::filesystem::path snapshot = dir / "snapshot.ckpt";
  auto req = Requests(m);
  {
    FlowEngineOptions o;
    o.workers = 2;
    o.skip_bad_samples = true;
    o.checkpoint_every = 5;
    o.checkpoint_path = ckpt.string();
    // Keep a copy of the periodic checkpoint on disk after 27 samples (the one of 25).
    o.on_merged = [&](size_t done) {
      if (done == 27 && std::filesystem::exists(ckpt)) {
        std::filesystem::copy_file(ckpt, snapshot);
      }
    };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_TRUE(got.ok()) << got.status().message();
    ExpectIdentical(*got, want, "uninterrupted with checkpoints");
  }
  ASSERT_TRUE(std::filesystem::exists(snapshot)) << "no checkpoint was written after 25 samples";
  auto saved = ReadCheckpointFile(snapshot);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  ASSERT_TRUE(saved->current.has_value());
  EXPECT_EQ(saved->current->positions_done, 25u);
  EXPECT_EQ(saved->current->skipped.size(), 2u);
  // The final checkpoint records the pass as completed.
  auto final_ckpt = ReadCheckpointFile(ckpt);
  ASSERT_TRUE(final_ckpt.ok()) << final_ckpt.status().message();
  EXPECT_FALSE(final_ckpt->current.has_value());
  ASSERT_EQ(final_ckpt->completed.size(), 1u);

  FlowEngineOptions o;
  o.workers = 3;
  o.skip_bad_samples = true;
  o.checkpoint_path = snapshot.string();
  o.resume = true;
  FlowEngine engine(data, o);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(engine.bad_samples().count(), 2u);
  ExpectIdentical(*got, want, "resumed from a periodic checkpoint");
}

TEST(FlowEngineTest, ResumeSkipsCompletedPassesAndContinuesTheInterruptedOne) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(30);
  const std::filesystem::path ckpt = ptqflow::testing::TempDir() / "stats.ckpt";
  auto req = Requests(m);
  std::vector<StatRequest> req2(1);
  req2[0].value = {m.mul, 0};
  req2[0].reduction.type = StatType::kMax;
  quant::CollectOptions co1, co2;
  co1.pass_name = "first";
  co2.pass_name = "second";
  CollectedStats want1, want2;
  {
    SerialEngine serial(data, {});
    want1 = *serial.Collect(m.g, req, co1);
    want2 = *serial.Collect(m.g, req2, co2);
  }
  std::atomic<bool> stop{false};
  size_t stop_at = 0;  // 0 = never
  FlowEngineOptions o;
  o.workers = 2;
  o.in_flight = 4;  // the stop after 10 of 30 samples leaves some unmerged
  o.checkpoint_path = ckpt.string();
  o.stop = &stop;
  o.on_merged = [&](size_t done) {
    if (done == stop_at) stop.store(true);
  };
  {
    FlowEngine engine(data, o);
    auto got1 = engine.Collect(m.g, req, co1);
    ASSERT_TRUE(got1.ok()) << got1.status().message();
    ExpectIdentical(*got1, want1, "first pass");
    stop_at = 10;
    auto got2 = engine.Collect(m.g, req2, co2);
    ASSERT_FALSE(got2.ok());
    EXPECT_NE(got2.status().message().find("pass 1 'second' interrupted"), std::string::npos)
        << got2.status().message();
  }
  stop.store(false);
  stop_at = 0;
  o.resume = true;
  FlowEngine engine(data, o);
  auto got1 = engine.Collect(m.g, req, co1);
  ASSERT_TRUE(got1.ok()) << got1.status().message();
  EXPECT_EQ(engine.passes_restored(), 1);
  ExpectIdentical(*got1, want1, "first pass restored");
  auto got2 = engine.Collect(m.g, req2, co2);
  ASSERT_TRUE(got2.ok()) << got2.status().message();
  EXPECT_EQ(engine.passes_resumed(), 1);
  ExpectIdentical(*got2, want2, "second pass resumed");
}

// Writes an interrupted checkpoint of Requests(m) on `data` (stopped after 8 samples).
void WriteInterruptedCheckpoint(const TinyModel& m, std::shared_ptr<const io::Dataset> data,
                                const std::string& path, const std::string& identity) {
  std::atomic<bool> stop{false};
  FlowEngineOptions o;
  o.workers = 2;
  o.in_flight = 4;  // the stop after 8 of 30 samples leaves some unmerged
  o.checkpoint_path = path;
  o.dataset_identity = identity;
  o.stop = &stop;
  o.on_merged = [&](size_t done) {
    if (done == 8) stop.store(true);
  };
  FlowEngine engine(std::move(data), o);
  auto req = Requests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_FALSE(got.ok());
  ASSERT_TRUE(engine.interrupted()) << got.status().message();
}

Status ResumeWith(const TinyModel& m, std::shared_ptr<const io::Dataset> data,
                  const std::string& path, const std::string& identity,
                  std::vector<StatRequest> req) {
  FlowEngineOptions o;
  o.checkpoint_path = path;
  o.dataset_identity = identity;
  o.resume = true;
  FlowEngine engine(std::move(data), o);
  return engine.Collect(m.g, req, {}).status();
}

TEST(FlowEngineTest, MismatchingCheckpointIsRefusedSayingWhich) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(30);
  const std::string ckpt = (ptqflow::testing::TempDir() / "stats.ckpt").string();
  WriteInterruptedCheckpoint(m, data, ckpt, "data-A");
  const std::string before = *ReadFileForTest(ckpt);

  Status st = ResumeWith(m, data, ckpt, "data-B", Requests(m));
  EXPECT_NE(st.message().find("different dataset"), std::string::npos) << st.message();
  st = ResumeWith(m, std::make_shared<TinyDataset>(31), ckpt, "data-A", Requests(m));
  EXPECT_NE(st.message().find("different dataset"), std::string::npos) << st.message();

  TinyModel other = MakeTinyModel();
  other.g.node(other.add).name = "add_renamed";
  st = ResumeWith(other, data, ckpt, "data-A", Requests(other));
  EXPECT_NE(st.message().find("different model"), std::string::npos) << st.message();

  std::vector<StatRequest> fewer = Requests(m);
  fewer.pop_back();
  st = ResumeWith(m, data, ckpt, "data-A", fewer);
  EXPECT_NE(st.message().find("different configuration"), std::string::npos) << st.message();
  // A refused checkpoint is left as it was.
  EXPECT_EQ(*ReadFileForTest(ckpt), before);
}

TEST(FlowEngineTest, CorruptOrTruncatedCheckpointIsAClearError) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(30);
  const std::filesystem::path dir = ptqflow::testing::TempDir();
  const std::string ckpt = (dir / "stats.ckpt").string();
  WriteInterruptedCheckpoint(m, data, ckpt, "");
  const std::string good = *ReadFileForTest(ckpt);
  ASSERT_GT(good.size(), 64u);
  auto write = [&](const std::string& bytes) {
    std::ofstream(ckpt, std::ios::binary | std::ios::trunc) << bytes;
  };
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x20;
  write(flipped);
  Status st = ResumeWith(m, data, ckpt, "", Requests(m));
  EXPECT_NE(st.message().find("corrupt"), std::string::npos) << st.message();
  write(good.substr(0, good.size() - 7));
  st = ResumeWith(m, data, ckpt, "", Requests(m));
  EXPECT_NE(st.message().find("truncated"), std::string::npos) << st.message();
  write("hello, I am not a checkpoint at all");
  st = ResumeWith(m, data, ckpt, "", Requests(m));
  EXPECT_NE(st.message().find("not a ptqflow checkpoint"), std::string::npos) << st.message();
  write(good);
  st = ResumeWith(m, data, ckpt, "", Requests(m));
  EXPECT_TRUE(st.ok()) << st.message();
}

TEST(FlowEngineTest, ResumeWithoutACheckpointFileStartsFromTheBeginning) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(12);
  const std::string ckpt = (ptqflow::testing::TempDir() / "none.ckpt").string();
  const CollectedStats want = SerialReference(m, data, {});
  FlowEngineOptions o;
  o.checkpoint_path = ckpt;
  o.resume = true;
  FlowEngine engine(data, o);
  auto req = Requests(m);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ExpectIdentical(*got, want, "fresh");
}

// Several samples per message: every guarantee still holds per sample.

// TinyDataset that also checks the in_flight bound: when sample p (dataset order = selection
// order) is read, at most `in_flight` positions may be read but not merged yet.
class InFlightCheckingDataset : public io::Dataset {
 public:
  InFlightCheckingDataset(size_t n, size_t in_flight) : tiny_(n), in_flight_(in_flight) {}
  size_t size() const override { return tiny_.size(); }
  Result<io::Sample> Get(size_t i) const override {
    const size_t merged = merged_.load();
    if (i + 1 > merged + in_flight_) exceeded_.store(true);
    return tiny_.Get(i);
  }
  void Merged(size_t done) { merged_.store(done); }
  bool exceeded() const { return exceeded_.load(); }

 private:
  TinyDataset tiny_;
  size_t in_flight_;
  std::atomic<size_t> merged_{0};
  mutable std::atomic<bool> exceeded_{false};
};

TEST(FlowEngineTest, AnySamplesPerMessageGivesTheSameStatistics) {
  TinyModel m = MakeTinyModel();
  // 47 samples: not a multiple of 3 or 7; four unreadable ones are skipped.
  auto data = std::make_shared<TinyDataset>(60, std::set<size_t>{2, 3, 17, 29});
  const io::SelectionOptions sel = Shuffled(47);
  const CollectedStats want = SerialReference(m, data, sel, /*skip=*/true);
  size_t skipped_in_selection = 0;
  for (size_t i : io::SelectSamples(60, sel)) {
    if (i == 2 || i == 3 || i == 17 || i == 29) ++skipped_in_selection;
  }
  ASSERT_GT(skipped_in_selection, 0u) << "the selection should contain a bad sample";
  ASSERT_EQ(want.num_samples, 47u - skipped_in_selection);
  auto req = Requests(m);
  for (int per_message : {1, 3, 7, 0}) {
    for (int workers : {1, 3}) {
      for (int in_flight : {0, 10}) {
        FlowEngineOptions o;
        o.selection = sel;
        o.skip_bad_samples = true;
        o.workers = workers;
        o.in_flight = in_flight;
        o.samples_per_message = per_message;
        o.intra_op_threads = 1;
        std::vector<size_t> merged;
        o.on_merged = [&](size_t done) { merged.push_back(done); };
        FlowEngine engine(data, o);
        auto got = engine.Collect(m.g, req, {});
        const std::string what = "per_message " + std::to_string(per_message) + " workers " +
                                 std::to_string(workers) + " in_flight " +
                                 std::to_string(in_flight);
        ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
        ExpectIdentical(*got, want, what);
        EXPECT_EQ(engine.bad_samples().count(), skipped_in_selection) << what;
        // on_merged once per position, in order (skipped samples count as positions).
        std::vector<size_t> expected(47);
        for (size_t k = 0; k < 47; ++k) expected[k] = k + 1;
        EXPECT_EQ(merged, expected) << what;
      }
    }
  }
}

TEST(FlowEngineTest, InFlightBoundsSamplesNotMessages) {
  TinyModel m = MakeTinyModel();
  auto req = Requests(m);
  for (int per_message : {1, 4, 0}) {
    for (int in_flight : {1, 6, 13}) {
      auto data = std::make_shared<InFlightCheckingDataset>(80, in_flight);
      FlowEngineOptions o;
      o.workers = 3;
      o.in_flight = in_flight;
      o.samples_per_message = per_message;
      o.on_merged = [&](size_t done) { data->Merged(done); };
      FlowEngine engine(data, o);
      EXPECT_EQ(engine.in_flight(), in_flight);
      EXPECT_LE(engine.samples_per_message(), in_flight);
      auto got = engine.Collect(m.g, req, {});
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_FALSE(data->exceeded())
          << "more than " << in_flight << " samples in flight, per_message " << per_message;
    }
  }
}

TEST(FlowEngineTest, SamplesPerMessageDefaults) {
  auto data = std::make_shared<TinyDataset>(10);
  FlowEngineOptions o;
  o.workers = 2;
  o.samples_per_message = 5;
  // Default in_flight: two messages per worker.
  EXPECT_EQ(FlowEngine(data, o).in_flight(), 2 * 2 * 5);
  EXPECT_EQ(FlowEngine(data, o).samples_per_message(), 5);
  // An explicit in_flight smaller than a message shrinks the message.
  o.in_flight = 3;
  EXPECT_EQ(FlowEngine(data, o).samples_per_message(), 3);
  // Automatic messages leave two per worker within an explicit in_flight: 9 / (2 x 2) = 2.
  o.samples_per_message = 0;
  o.in_flight = 9;
  EXPECT_EQ(FlowEngine(data, o).samples_per_message(), 2);
  o.in_flight = 3;
  EXPECT_EQ(FlowEngine(data, o).samples_per_message(), 1);
}

TEST(FlowEngineTest, BadSampleInsideAMessageIsTheOneReported) {
  TinyModel m = MakeTinyModel();
  // Messages of 5 in dataset order: [10, 15) holds bad samples 12 (middle) and 14.
  auto data = std::make_shared<TinyDataset>(40, std::set<size_t>{12, 14});
  auto req = Requests(m);
  for (int workers : {1, 3}) {
    FlowEngineOptions o;
    o.workers = workers;
    o.samples_per_message = 5;
    size_t last_merged = 0;
    o.on_merged = [&](size_t done) { last_merged = done; };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("sample 12"), std::string::npos)
        << got.status().message();
    EXPECT_EQ(got.status().message().find("sample 14"), std::string::npos)
        << got.status().message();
    // Samples 10 and 11, before the bad one in its message, were merged; nothing after it.
    EXPECT_EQ(last_merged, 12u);
  }
}

TEST(FlowEngineTest, InferenceErrorInsideAMessageNamesTheSample) {
  // A model that only takes batch 1; TinyDataset samples 0, 5, 10, ... have batch 2.
  TinyModel m = MakeTinyModel();
  m.g.node(m.x).outputs[0].shape = graph::PartialShape({1, 2, 3});
  m.g.node(m.x).attrs.Set("shape", "1,2,3");
  ASSERT_TRUE(graph::ops::InferShapes(m.g).ok());
  // Index i of this dataset is TinyDataset's sample i + 1 (source "tiny#<i + 1>"), so the first
  // batch-2 sample is index 4 (tiny#5): the middle of the message of positions [3, 6).
  class From1 : public io::Dataset {
   public:
    size_t size() const override { return 19; }
    Result<io::Sample> Get(size_t i) const override { return tiny_.Get(i + 1); }

   private:
    TinyDataset tiny_{20};
  };
  auto data = std::make_shared<From1>();
  auto req = Requests(m);
  for (int workers : {1, 2}) {
    FlowEngineOptions o;
    o.workers = workers;
    o.samples_per_message = 3;
    size_t last_merged = 0;
    o.on_merged = [&](size_t done) { last_merged = done; };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_FALSE(got.ok());
    EXPECT_NE(got.status().message().find("sample 4 (tiny#5)"), std::string::npos)
        << got.status().message();
    EXPECT_EQ(got.status().message().find("tiny#10"), std::string::npos) << got.status().message();
    // Positions 0..3 merged (3 is the message's first sample); nothing after the bad one.
    EXPECT_EQ(last_merged, 4u);
  }
}

TEST(FlowEngineTest, CheckpointInsideAMessageHoldsExactlyTheMergedPrefix) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(40, std::set<size_t>{4, 21});
  const CollectedStats want = SerialReference(m, data, {}, /*skip=*/true);
  const CollectedStats want_first_25 = SerialReference(m, data, {}, /*skip=*/true, 25);
  const std::filesystem::path dir = ptqflow::testing::TempDir();
  const std::filesystem::path ckpt = dir / "stats.ckpt";
  const std::filesystem::path snapshot = dir / "snapshot.ckpt";
  auto req = Requests(m);
  {
    FlowEngineOptions o;
    o.workers = 2;
    o.skip_bad_samples = true;
    o.samples_per_message = 4;  // messages [24, 28): the checkpoint of 25 is inside one
    o.checkpoint_every = 5;
    o.checkpoint_path = ckpt.string();
    // On disk right after sample 26 merged (same message): still the checkpoint of 25.
    o.on_merged = [&](size_t done) {
      if (done == 26) std::filesystem::copy_file(ckpt, snapshot);
    };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_TRUE(got.ok()) << got.status().message();
    ExpectIdentical(*got, want, "uninterrupted, 4 per message, checkpoint every 5");
  }
  auto saved = ReadCheckpointFile(snapshot);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  ASSERT_TRUE(saved->current.has_value());
  EXPECT_EQ(saved->current->positions_done, 25u);
  EXPECT_EQ(saved->current->skipped.size(), 2u);
  ExpectIdentical(saved->current->stats, want_first_25, "the checkpoint's statistics");

  FlowEngineOptions o;
  o.workers = 3;
  o.skip_bad_samples = true;
  o.samples_per_message = 7;  // resumed with other messages
  o.checkpoint_path = snapshot.string();
  o.resume = true;
  FlowEngine engine(data, o);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(engine.passes_resumed(), 1);
  ExpectIdentical(*got, want, "resumed from inside a message");
}

TEST(FlowEngineTest, StopInsideAMessageCheckpointsExactlyWhatMerged) {
  TinyModel m = MakeTinyModel();
  auto data = std::make_shared<TinyDataset>(50);
  const CollectedStats want = SerialReference(m, data, Shuffled(40));
  const std::filesystem::path ckpt = ptqflow::testing::TempDir() / "stats.ckpt";
  auto req = Requests(m);
  std::atomic<bool> stop{false};
  size_t merged = 0;
  {
    FlowEngineOptions o;
    o.selection = Shuffled(40);
    o.workers = 3;
    o.in_flight = 12;
    o.samples_per_message = 4;
    o.checkpoint_path = ckpt.string();
    o.stop = &stop;
    o.on_merged = [&](size_t done) {
      merged = done;
      if (done == 13) stop.store(true);  // inside the message [12, 16)
    };
    FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(engine.interrupted()) << got.status().message();
  }
  auto saved = ReadCheckpointFile(ckpt);
  ASSERT_TRUE(saved.ok()) << saved.status().message();
  ASSERT_TRUE(saved->current.has_value());
  EXPECT_EQ(saved->current->positions_done, merged);
  EXPECT_EQ(saved->current->stats.num_samples, merged);
  // The rest of message [12, 16), then what was admitted before the flag: at most in_flight
  // samples from that message on, plus the one message the source had ready (an input_node
  // makes its next item before the limiter takes it).
  EXPECT_GE(merged, 16u);
  EXPECT_LE(merged, 12u + 12u + 4u);
  stop.store(false);
  FlowEngineOptions o;
  o.selection = Shuffled(40);
  o.workers = 2;
  o.samples_per_message = 3;
  o.checkpoint_path = ckpt.string();
  o.resume = true;
  FlowEngine engine(data, o);
  auto got = engine.Collect(m.g, req, {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  ExpectIdentical(*got, want, "resumed");
}

TEST(FlowEngineTest, StageConfigProtoBecomesOptions) {
  proto::StageConfig c;
  c.set_workers(3);
  c.set_in_flight(7);
  c.set_checkpoint_every(50);
  c.set_checkpoint_path("/tmp/x.ckpt");
  c.set_resume(true);
  c.mutable_selection()->set_subset_size(300);
  c.mutable_selection()->set_shuffle(true);
  c.mutable_selection()->set_seed(9);
  c.set_progress("log");
  c.set_samples_per_message(6);
  auto o = FlowEngineOptionsFromProto(c);
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->workers, 3);
  EXPECT_EQ(o->in_flight, 7);
  EXPECT_EQ(o->samples_per_message, 6);
  EXPECT_EQ(o->checkpoint_every, 50u);
  EXPECT_EQ(o->checkpoint_path, "/tmp/x.ckpt");
  EXPECT_TRUE(o->resume);
  EXPECT_EQ(o->selection.subset_size, 300u);
  EXPECT_TRUE(o->selection.shuffle);
  EXPECT_EQ(o->selection.seed, 9u);
  EXPECT_EQ(o->progress, ProgressMode::kLog);
  c.set_progress("sparkles");
  EXPECT_NE(FlowEngineOptionsFromProto(c).status().message().find("progress"), std::string::npos);
  c.set_progress("");
  c.set_checkpoint_path("");
  EXPECT_NE(FlowEngineOptionsFromProto(c).status().message().find("resume"), std::string::npos);
}

}  // namespace
}  // namespace ptqflow::stages::testing

// What the calibration flow graph itself costs per sample: one statistics pass over a model so
// small (x[1,2,3] -> Relu -> Multiply -> Add, the stages tests' TinyModel) that inference is a
// few microseconds, so the time per sample is the graph's messages, decoding and merging.
//
//   BM_SerialLoop                  the plain loop (stages/serial_engine.h): the same per-sample
//                                  work without the flow graph
//   BM_FlowEngine/W/K              FlowEngine with W workers and K samples per message
//                                  (K = 0: automatic)
//
// Both collect the per-sample min of the Relu output. Compare items_per_second (or its inverse,
// the time per sample); wall times on a shared machine are noisy, so run with
// --benchmark_repetitions and look at the medians.
#include <benchmark/benchmark.h>
#include <glog/logging.h>

#include <memory>

#include "stages/flow_engine.h"
#include "stages/serial_engine.h"
#include "tests/stages/stages_test_util.h"

namespace {

using namespace ptqflow;

constexpr size_t kSamples = 4000;

// Every sample has batch 1 (TinyDataset gives some samples batch 2, which would compile a
// second plan): sample i is TinyDataset's sample 1 + i + i / 4 (never a multiple of 5).
class BatchOneDataset : public io::Dataset {
 public:
  explicit BatchOneDataset(size_t n) : n_(n), tiny_(n + n / 4 + 2) {}
  size_t size() const override { return n_; }
  Result<io::Sample> Get(size_t i) const override { return tiny_.Get(1 + i + i / 4); }

 private:
  size_t n_;
  stages::testing::TinyDataset tiny_;
};

std::vector<quant::StatRequest> MinOfRelu(const stages::testing::TinyModel& m) {
  std::vector<quant::StatRequest> r(1);
  r[0].value = {m.relu, 0};
  r[0].reduction.type = quant::StatType::kMin;
  return r;
}

void BM_SerialLoop(benchmark::State& state) {
  const stages::testing::TinyModel m = stages::testing::MakeTinyModel();
  auto data = std::make_shared<BatchOneDataset>(kSamples);
  const auto req = MinOfRelu(m);
  for (auto _ : state) {
    stages::SerialEngineOptions o;
    o.threads = 1;
    stages::SerialEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    CHECK(got.ok()) << got.status().message();
    benchmark::DoNotOptimize(got->num_samples);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_SerialLoop)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_FlowEngine(benchmark::State& state) {
  const stages::testing::TinyModel m = stages::testing::MakeTinyModel();
  auto data = std::make_shared<BatchOneDataset>(kSamples);
  const auto req = MinOfRelu(m);
  for (auto _ : state) {
    stages::FlowEngineOptions o;
    o.workers = static_cast<int>(state.range(0));
    o.intra_op_threads = 1;
    o.samples_per_message = static_cast<int>(state.range(1));
    stages::FlowEngine engine(data, o);
    auto got = engine.Collect(m.g, req, {});
    CHECK(got.ok()) << got.status().message();
    benchmark::DoNotOptimize(got->num_samples);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSamples));
}
BENCHMARK(BM_FlowEngine)
    ->ArgNames({"workers", "per_message"})
    ->ArgsProduct({{1, 2}, {1, 4, 8, 32, 0}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

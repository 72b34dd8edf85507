// Throughput of the built-in dataset loaders on real data:
//   BM_OcrLines       — PNG decode + normalise, ../shared/data/ocr-lines (images/s)
//   BM_ImagesResize   — same PNGs resized to 224x224 (POT simplified-mode path) (images/s)
//   BM_FashionMnist   — IDX, normalised + 2-px border (images/s; file decoded once up front)
//   BM_SpeechWindows  — pocketsphinx librivox WAVs, 1 s windows, 0.5 s hop (windows/s)
//   BM_SpeechResample — the same resampled 16 kHz -> 8 kHz (windows/s)
// Each benchmark reads samples round-robin; items_per_second is the figure to report.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "io/data/audio_dataset.h"
#include "io/data/idx_dataset.h"
#include "io/data/image_dataset.h"

namespace {

namespace fs = std::filesystem;
using namespace ptqflow::io;

fs::path SharedDir() {
  const char* env = std::getenv("PTQFLOW_SHARED_DIR");
  return env ? fs::path(env) : fs::path(__FILE__).parent_path().parent_path() / ".." / "shared";
}

void RunDataset(benchmark::State& state, const Dataset* d, const std::string& error) {
  if (d == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    auto s = d->Get(i++ % d->size());
    if (!s.ok()) {
      state.SkipWithError(s.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(s->inputs.begin()->second.bytes());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

template <typename D, typename O>
void Bench(benchmark::State& state, const O& o) {
  auto d = D::Create(o);
  RunDataset(state, d.ok() ? d->get() : nullptr, d.ok() ? "" : d.status().message());
}

void BM_OcrLines(benchmark::State& state) {
  ImageDatasetOptions o;
  o.source = (SharedDir() / "data" / "ocr-lines").string();
  o.mean = {127.5f};
  o.scale = {127.5f};
  Bench<ImageDataset>(state, o);
}
BENCHMARK(BM_OcrLines);

void BM_ImagesResize(benchmark::State& state) {
  ImageDatasetOptions o;
  o.source = (SharedDir() / "data" / "ocr-lines").string();
  o.height = 224;
  o.width = 224;
  Bench<ImageDataset>(state, o);
}
BENCHMARK(BM_ImagesResize);

void BM_FashionMnist(benchmark::State& state) {
  IdxDatasetOptions o;
  o.images_file = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
  o.normalize = true;
  o.mean = 0.2860f;
  o.std = 0.3530f;
  o.border = 2;
  Bench<IdxDataset>(state, o);
}
BENCHMARK(BM_FashionMnist);

void BM_SpeechWindows(benchmark::State& state) {
  AudioDatasetOptions o;
  o.source = "/usr/share/pocketsphinx/test/data/librivox";
  o.window = 16000;
  o.hop = 8000;
  Bench<AudioDataset>(state, o);
}
BENCHMARK(BM_SpeechWindows);

void BM_SpeechResample(benchmark::State& state) {
  AudioDatasetOptions o;
  o.source = "/usr/share/pocketsphinx/test/data/librivox";
  o.sample_rate = 8000;
  o.resample = true;
  o.window = 8000;
  o.hop = 4000;
  Bench<AudioDataset>(state, o);
}
BENCHMARK(BM_SpeechResample);

}  // namespace

BENCHMARK_MAIN();

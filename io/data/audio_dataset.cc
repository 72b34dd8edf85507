#include "io/data/audio_dataset.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>

namespace ptqflow::io {

namespace fs = std::filesystem;
using graph::ElementType;
using graph::Tensor;

namespace {

struct SndCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndPtr = std::unique_ptr<SNDFILE, SndCloser>;

Result<SndPtr> Open(const fs::path& p, SF_INFO* info) {
  std::memset(info, 0, sizeof(*info));
  SNDFILE* f = sf_open(p.c_str(), SFM_READ, info);
  if (f == nullptr) {
    return Status::Error(p.string() + ": cannot open audio: " + sf_strerror(nullptr));
  }
  return SndPtr(f);
}

int64_t ResampledLength(int64_t frames, int rate_in, int rate_out) {
  if (frames <= 0) return 0;
  if (rate_in == rate_out) return frames;
  return (frames - 1) * rate_out / rate_in + 1;
}

}  // namespace

int64_t AudioWindowCount(int64_t frames, int64_t window, int64_t hop, bool pad_tail) {
  if (window <= 0) return 1;
  if (hop <= 0) hop = window;
  if (pad_tail) {
    if (frames <= window) return 1;
    return 1 + (frames - window + hop - 1) / hop;
  }
  if (frames < window) return 0;
  return 1 + (frames - window) / hop;
}

std::vector<float> ResampleSinc(const std::vector<float>& in, int rate_in, int rate_out) {
  if (rate_in == rate_out || in.empty()) return in;
  const int64_t n_out = ResampledLength(static_cast<int64_t>(in.size()), rate_in, rate_out);
  std::vector<float> out(n_out);
  constexpr int kZeroCrossings = 16;
  const double ratio = static_cast<double>(rate_out) / rate_in;
  // Filter cutoff relative to the input rate's Nyquist: 1 when upsampling, ratio when down.
  const double cutoff = std::min(1.0, ratio);
  const double half_width = kZeroCrossings / cutoff;  // in input samples
  const double pi = std::numbers::pi;
  const int64_t n_in = static_cast<int64_t>(in.size());
  for (int64_t k = 0; k < n_out; ++k) {
    const double t = static_cast<double>(k) * rate_in / rate_out;  // position in input samples
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(t - half_width)));
    const int64_t hi =
        std::min<int64_t>(n_in - 1, static_cast<int64_t>(std::floor(t + half_width)));
    double acc = 0.0;
    for (int64_t j = lo; j <= hi; ++j) {
      const double x = (t - j) * cutoff;  // in units of output-band zero crossings
      const double sinc = x == 0.0 ? 1.0 : std::sin(pi * x) / (pi * x);
      const double w = 0.5 + 0.5 * std::cos(pi * (t - j) / half_width);  // Hann
      acc += in[j] * sinc * w * cutoff;
    }
    out[k] = static_cast<float>(acc);
  }
  return out;
}

Result<std::unique_ptr<AudioDataset>> AudioDataset::Create(const AudioDatasetOptions& options) {
  if (options.sample_rate <= 0) return Status::Error("audio dataset: sample_rate must be > 0");
  if (options.window < 0 || options.hop < 0) {
    return Status::Error("audio dataset: window and hop must be >= 0");
  }
  std::unique_ptr<AudioDataset> d(new AudioDataset(options));
  std::vector<fs::path> files;
  PTQ_ASSIGN_OR_RETURN(files,
                       ListDataFiles(options.source, options.source_kind,
                                     {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"}));
  for (const auto& p : files) {
    SF_INFO info;
    PTQ_ASSIGN_OR_RETURN(SndPtr f, Open(p, &info));
    FileInfo fi;
    fi.path = p;
    fi.frames = info.frames;
    fi.sample_rate = info.samplerate;
    fi.channels = info.channels;
    if (!options.mixdown && info.channels != 1) {
      return Status::Error(p.string() + ": has " + std::to_string(info.channels) +
                           " channels, expected 1 (enable mixdown to average them)");
    }
    if (info.samplerate != options.sample_rate && !options.resample) {
      return Status::Error(p.string() + ": sample rate is " + std::to_string(info.samplerate) +
                           " Hz, expected " + std::to_string(options.sample_rate) +
                           " Hz (enable resampling to convert)");
    }
    fi.out_frames = ResampledLength(info.frames, info.samplerate, options.sample_rate);
    fi.windows = AudioWindowCount(fi.out_frames, options.window, options.hop, options.pad_tail);
    fi.first_sample = d->total_windows_;
    d->total_windows_ += fi.windows;
    d->infos_.push_back(std::move(fi));
  }
  if (d->total_windows_ == 0) {
    return Status::Error(options.source + ": no audio windows (every file is shorter than " +
                         std::to_string(options.window) + " samples and pad_tail is off)");
  }
  PTQ_ASSIGN_OR_RETURN(d->annotations_, FileAnnotations::Load(options.annotations, files));
  return d;
}

Result<std::vector<float>> AudioDataset::LoadFile(const FileInfo& fi) const {
  SF_INFO info;
  PTQ_ASSIGN_OR_RETURN(SndPtr f, Open(fi.path, &info));
  if (info.channels != fi.channels || info.samplerate != fi.sample_rate) {
    return Status::Error(fi.path.string() + ": file changed since the dataset was listed");
  }
  if (!options_.mixdown && info.channels != 1) {
    return Status::Error(fi.path.string() + ": has " + std::to_string(info.channels) +
                         " channels, expected 1");
  }
  std::vector<float> inter(static_cast<size_t>(info.frames) * info.channels);
  const sf_count_t got = sf_readf_float(f.get(), inter.data(), info.frames);
  if (got != info.frames) {
    return Status::Error(fi.path.string() + ": cannot decode audio: read " + std::to_string(got) +
                         " of " + std::to_string(info.frames) + " frames (" + sf_strerror(f.get()) +
                         ")");
  }
  std::vector<float> mono(info.frames);
  for (sf_count_t t = 0; t < info.frames; ++t) {
    float acc = 0;
    for (int c = 0; c < info.channels; ++c) acc += inter[t * info.channels + c];
    mono[t] = acc / info.channels;
  }
  if (info.samplerate != options_.sample_rate) {
    mono = ResampleSinc(mono, info.samplerate, options_.sample_rate);
  }
  return mono;
}

Result<Sample> AudioDataset::Get(size_t i) const {
  if (i >= total_windows_) {
    return Status::Error("sample " + std::to_string(i) + " out of range (dataset " +
                         options_.source + " has " + std::to_string(total_windows_) + " windows)");
  }
  auto it = std::upper_bound(infos_.begin(), infos_.end(), i,
                             [](size_t v, const FileInfo& f) { return v < f.first_sample; });
  const FileInfo& fi = *std::prev(it);
  const int64_t w = static_cast<int64_t>(i - fi.first_sample);
  const std::string ctx = SampleContext(i, fi.path.string());
  const int64_t window = options_.window > 0 ? options_.window : fi.out_frames;
  const int64_t hop = options_.hop > 0 ? options_.hop : window;
  const int64_t start = w * hop;
  Tensor t = Tensor::Allocate(ElementType::kF32,
                              options_.batch_dim ? graph::Shape{1, window} : graph::Shape{window});
  float* dst = t.mutable_data<float>();
  if (fi.channels == 1 && fi.sample_rate == options_.sample_rate) {
    // Fast path: seek and read only this window.
    SF_INFO info;
    auto f = Open(fi.path, &info);
    if (!f.ok()) return f.status().WithContext(ctx);
    if (start > 0 && sf_seek(f->get(), start, SEEK_SET) != start) {
      return Status::Error(ctx + ": cannot seek to frame " + std::to_string(start));
    }
    const int64_t want = std::min<int64_t>(window, fi.frames - start);
    const sf_count_t got = sf_readf_float(f->get(), dst, want);
    if (got != want) {
      return Status::Error(ctx + ": cannot decode audio: read " + std::to_string(got) + " of " +
                           std::to_string(want) + " frames (" + sf_strerror(f->get()) + ")");
    }
  } else {
    auto mono = LoadFile(fi);
    if (!mono.ok()) return mono.status().WithContext(ctx);
    const int64_t n = std::min<int64_t>(window, static_cast<int64_t>(mono->size()) - start);
    if (n > 0) std::copy(mono->begin() + start, mono->begin() + start + n, dst);
  }
  Sample s;
  s.inputs.emplace(options_.input_name, std::move(t));
  s.annotation = annotations_.For(fi.path);
  s.source = fi.path.string() + "@" + std::to_string(start);
  return s;
}

}  // namespace ptqflow::io

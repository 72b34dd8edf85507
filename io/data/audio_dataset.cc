#include "io/data/audio_dataset.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numbers>
#include <numeric>

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

SincResampler::SincResampler(int rate_in, int rate_out) : rate_in_(rate_in), rate_out_(rate_out) {
  CHECK_GT(rate_in, 0);
  CHECK_GT(rate_out, 0);
  const int64_t g = std::gcd(rate_in_, rate_out_);
  up_ = rate_out_ / g;
  down_ = rate_in_ / g;
  constexpr int kZeroCrossings = 16;
  // Cutoff relative to the input Nyquist: 1 when upsampling, rate_out/rate_in when downsampling.
  cutoff_ = std::min(1.0, static_cast<double>(rate_out_) / rate_in_);
  half_width_ = kZeroCrossings / cutoff_;
  if (up_ <= 4096) {
    // Output k sits at t = k*down/up; its phase is (k*down mod up)/up and its taps are at inputs
    // j = floor(t) - H + 1 ... floor(t) + H, i.e. distances t - j = phase + H - 1 - m.
    const int64_t H = static_cast<int64_t>(std::ceil(half_width_));
    taps_ = static_cast<int>(2 * H);
    table_.resize(static_cast<size_t>(up_) * taps_);
    for (int64_t p = 0; p < up_; ++p) {
      const double phase = static_cast<double>(p) / up_;
      for (int m = 0; m < taps_; ++m) {
        table_[p * taps_ + m] = static_cast<float>(Tap(phase + H - 1 - m));
      }
    }
  }
}

double SincResampler::Tap(double d) const {
  if (std::abs(d) >= half_width_) return 0.0;
  const double pi = std::numbers::pi;
  const double x = d * cutoff_;
  const double sinc = x == 0.0 ? 1.0 : std::sin(pi * x) / (pi * x);
  const double w = 0.5 + 0.5 * std::cos(pi * d / half_width_);  // Hann
  return sinc * w * cutoff_;
}

int64_t SincResampler::OutputLength(int64_t n_in) const {
  if (n_in <= 0) return 0;
  return (n_in - 1) * up_ / down_ + 1;
}

void SincResampler::Process(const float* in, int64_t in_offset, int64_t n_in, int64_t out_begin,
                            int64_t out_count, float* out) const {
  auto sample = [&](int64_t j) -> float {
    const int64_t r = j - in_offset;
    return (r >= 0 && r < n_in) ? in[r] : 0.0f;
  };
  for (int64_t k = out_begin; k < out_begin + out_count; ++k) {
    const int64_t num = k * down_;  // t = num / up_
    const int64_t base = num / up_;
    double acc = 0.0;
    if (!table_.empty()) {
      const int64_t H = taps_ / 2;
      const float* taps = &table_[(num % up_) * taps_];
      const int64_t j0 = base - H + 1;
      const int64_t r0 = j0 - in_offset;
      if (r0 >= 0 && r0 + taps_ <= n_in) {
        const float* x = in + r0;
        for (int m = 0; m < taps_; ++m) acc += static_cast<double>(x[m]) * taps[m];
      } else {
        for (int m = 0; m < taps_; ++m) acc += static_cast<double>(sample(j0 + m)) * taps[m];
      }
    } else {
      const double t = static_cast<double>(num) / up_;
      const int64_t lo = static_cast<int64_t>(std::ceil(t - half_width_));
      const int64_t hi = static_cast<int64_t>(std::floor(t + half_width_));
      for (int64_t j = lo; j <= hi; ++j) acc += sample(j) * Tap(t - j);
    }
    out[k - out_begin] = static_cast<float>(acc);
  }
}

std::vector<float> ResampleSinc(const std::vector<float>& in, int rate_in, int rate_out) {
  if (rate_in == rate_out || in.empty()) return in;
  SincResampler r(rate_in, rate_out);
  const int64_t n = static_cast<int64_t>(in.size());
  std::vector<float> out(r.OutputLength(n));
  r.Process(in.data(), 0, n, 0, static_cast<int64_t>(out.size()), out.data());
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
    if (info.samplerate != options.sample_rate && !d->resamplers_.count(info.samplerate)) {
      d->resamplers_[info.samplerate] =
          std::make_shared<const SincResampler>(info.samplerate, options.sample_rate);
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
  const int64_t start = w * hop;  // in output samples
  const int64_t n_out = std::max<int64_t>(0, std::min(window, fi.out_frames - start));
  Tensor t = Tensor::Allocate(ElementType::kF32,
                              options_.batch_dim ? graph::Shape{1, window} : graph::Shape{window});
  float* dst = t.mutable_data<float>();
  if (n_out > 0) {
    // The input frames this window needs (plus the filter margin when resampling).
    const SincResampler* rs = nullptr;
    int64_t in_lo = start, in_hi = start + n_out;
    if (fi.sample_rate != options_.sample_rate) {
      rs = resamplers_.at(fi.sample_rate).get();
      const int64_t m = rs->InputMargin();
      in_lo = std::max<int64_t>(0, start * fi.sample_rate / options_.sample_rate - m);
      in_hi = std::min<int64_t>(
          fi.frames, (start + n_out - 1) * fi.sample_rate / options_.sample_rate + m + 2);
    }
    SF_INFO info;
    auto f = Open(fi.path, &info);
    if (!f.ok()) return f.status().WithContext(ctx);
    if (info.channels != fi.channels || info.samplerate != fi.sample_rate) {
      return Status::Error(ctx + ": file changed since the dataset was listed");
    }
    if (in_lo > 0 && sf_seek(f->get(), in_lo, SEEK_SET) != in_lo) {
      return Status::Error(ctx + ": cannot seek to frame " + std::to_string(in_lo));
    }
    const int64_t n_in = in_hi - in_lo;
    std::vector<float> buf(static_cast<size_t>(n_in) * fi.channels);
    const sf_count_t got = sf_readf_float(f->get(), buf.data(), n_in);
    if (got != n_in) {
      return Status::Error(ctx + ": cannot decode audio: read " + std::to_string(got) + " of " +
                           std::to_string(n_in) + " frames (" + sf_strerror(f->get()) + ")");
    }
    if (fi.channels > 1) {  // mix down in place: frame r -> buf[r]
      for (int64_t r = 0; r < n_in; ++r) {
        float acc = 0;
        for (int c = 0; c < fi.channels; ++c) acc += buf[r * fi.channels + c];
        buf[r] = acc / fi.channels;
      }
    }
    if (rs == nullptr) {
      std::copy(buf.begin(), buf.begin() + n_out, dst);
    } else {
      rs->Process(buf.data(), in_lo, n_in, start, n_out, dst);
    }
  }
  Sample s;
  s.inputs.emplace(options_.input_name, std::move(t));
  s.annotation = annotations_.For(fi.path);
  s.source = fi.path.string() + "@" + std::to_string(start);
  return s;
}

}  // namespace ptqflow::io

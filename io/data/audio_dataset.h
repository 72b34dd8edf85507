// Audio dataset (libsndfile: wav, flac, ogg/vorbis, ...): each file is cut into fixed-length
// windows; one window is one sample, a [1, window] (or [window]) f32 tensor in [-1, 1].
//
//   * channels: mixed down to mono by averaging (mixdown = true); with mixdown = false a file
//     with more than one channel is an error naming the file and its channel count;
//   * sample rate: a file whose rate differs from `sample_rate` is an error naming the file and
//     both rates, unless resample = true; then it is resampled with a windowed-sinc filter
//     (Hann-windowed sinc, 16 zero crossings on each side at the lower of the two rates, cutoff
//     at 0.5 * min(rate_in, rate_out) so downsampling does not alias; output length
//     floor((frames - 1) * rate_out / rate_in) + 1);
//   * windows: starts at 0, hop, 2*hop, ...; with pad_tail a file yields
//     max(1, 1 + ceil((frames - window) / hop)) windows, the last zero-padded; without it
//     1 + floor((frames - window) / hop) windows (none for a file shorter than a window).
//     window = 0 means one sample per file holding the whole file (no padding).
//
// Create() opens every file's header (sf_open) to count windows; Get() seeks and decodes only
// the frames its window needs (plus the filter margin when resampling).
// Thread-safety: immutable after Create; Get() opens its own SNDFILE and may run concurrently.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/data/annotations.h"
#include "io/data/dataset.h"
#include "io/data/file_util.h"

namespace ptqflow::io {

struct AudioDatasetOptions {
  std::string source;  // folder (.wav/.flac/.ogg/.oga/.aiff/.au), glob, list file or one file
  SourceKind source_kind = SourceKind::kAuto;
  std::string input_name;   // "" = the model's only input
  int sample_rate = 16000;  // expected (or target, with resample) rate in Hz
  bool resample = false;
  bool mixdown = true;
  int64_t window = 16000;  // samples per window (at sample_rate); 0 = whole file
  int64_t hop = 0;         // 0 = window (no overlap)
  bool pad_tail = true;
  bool batch_dim = true;  // [1, window] if true, [window] if false
  AnnotationOptions annotations;
};

// Windowed-sinc resampler (see the header comment for the filter). Output sample k sits at input
// position k * rate_in / rate_out. Taps are tabulated per fractional phase when the reduced ratio
// has at most 4096 phases, else computed directly. Immutable after construction; thread-safe.
class SincResampler {
 public:
  SincResampler(int rate_in, int rate_out);
  // floor((n_in - 1) * rate_out / rate_in) + 1 (0 for an empty input).
  int64_t OutputLength(int64_t n_in) const;
  // Half-width of the filter in input samples: output k reads inputs within
  // [k*rate_in/rate_out - half_width, k*rate_in/rate_out + half_width].
  int64_t InputMargin() const { return static_cast<int64_t>(half_width_) + 1; }
  // Computes outputs [out_begin, out_begin + out_count). `in` holds input samples
  // [in_offset, in_offset + n_in); inputs outside that span are taken as 0 (the caller passes a
  // span covering InputMargin() around the outputs, clipped only at the signal's ends).
  void Process(const float* in, int64_t in_offset, int64_t n_in, int64_t out_begin,
               int64_t out_count, float* out) const;

 private:
  double Tap(double d) const;  // filter value at distance d (input samples) from the centre
  int64_t rate_in_, rate_out_, up_, down_;  // up_/down_ = rate_out/rate_in reduced
  double cutoff_, half_width_;
  int taps_ = 0;              // per phase, when tabulated
  std::vector<float> table_;  // [up_][taps_], empty = compute directly
};

// Resamples a whole mono signal from rate_in to rate_out with SincResampler.
std::vector<float> ResampleSinc(const std::vector<float>& in, int rate_in, int rate_out);

// Number of windows for a signal of `frames` samples (see the header comment).
int64_t AudioWindowCount(int64_t frames, int64_t window, int64_t hop, bool pad_tail);

class AudioDataset : public Dataset {
 public:
  static Result<std::unique_ptr<AudioDataset>> Create(const AudioDatasetOptions& options);
  size_t size() const override { return total_windows_; }
  Result<Sample> Get(size_t i) const override;

  struct FileInfo {
    std::filesystem::path path;
    int64_t frames = 0;   // at the file's own rate
    int sample_rate = 0;  // the file's rate
    int channels = 0;
    int64_t out_frames = 0;  // after resampling (== frames when rates match)
    int64_t windows = 0;
    size_t first_sample = 0;  // dataset index of its first window
  };
  const std::vector<FileInfo>& files() const { return infos_; }
  // The whole file decoded as mono f32 at options.sample_rate (mixdown/resample applied).
  Result<std::vector<float>> LoadFile(const FileInfo& f) const;

 private:
  explicit AudioDataset(AudioDatasetOptions o) : options_(std::move(o)) {}
  AudioDatasetOptions options_;
  std::vector<FileInfo> infos_;
  size_t total_windows_ = 0;
  FileAnnotations annotations_;
  std::map<int, std::shared_ptr<const SincResampler>> resamplers_;  // by input rate
};

}  // namespace ptqflow::io

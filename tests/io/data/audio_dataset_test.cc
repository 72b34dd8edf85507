#include "io/data/audio_dataset.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numbers>
#include <thread>

#include "tests/io/data/data_test_util.h"
#include "tests/test_util.h"

namespace ptqflow::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteBytes;

std::vector<int16_t> Ramp(int n, int step) {
  std::vector<int16_t> v(n);
  for (int i = 0; i < n; ++i) v[i] = static_cast<int16_t>((i * step) % 30000 - 15000);
  return v;
}

TEST(AudioWindowCountTest, HandCounts) {
  EXPECT_EQ(AudioWindowCount(1100, 400, 200, true), 5);   // starts 0,200,400,600,800
  EXPECT_EQ(AudioWindowCount(1100, 400, 200, false), 4);  // last full one starts at 600
  EXPECT_EQ(AudioWindowCount(300, 400, 200, true), 1);
  EXPECT_EQ(AudioWindowCount(300, 400, 200, false), 0);
  EXPECT_EQ(AudioWindowCount(800, 400, 0, true), 2);  // hop 0 = window
  EXPECT_EQ(AudioWindowCount(12345, 0, 0, true), 1);  // whole file
}

TEST(AudioDatasetTest, WindowsWithHopAndTailPadding) {
  const fs::path dir = TempDir();
  const std::vector<int16_t> pcm = Ramp(1100, 7);
  WriteBytes(dir / "a.wav", testing::Wav16(16000, 1, pcm));
  AudioDatasetOptions o;
  o.source = dir.string();
  o.window = 400;
  o.hop = 200;
  auto d = AudioDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 5u);
  for (size_t w = 0; w < 5; ++w) {
    auto s = (*d)->Get(w);
    ASSERT_TRUE(s.ok()) << s.status().message();
    const graph::Tensor& t = s->inputs.at("");
    ASSERT_EQ(t.shape(), (graph::Shape{1, 400}));
    for (int k = 0; k < 400; ++k) {
      const size_t src = w * 200 + k;
      // libsndfile maps 16-bit PCM to float by dividing by 32768.
      const float want = src < pcm.size() ? pcm[src] / 32768.0f : 0.0f;
      ASSERT_EQ(t.data<float>()[k], want) << w << " " << k;
    }
  }
  o.pad_tail = false;
  o.batch_dim = false;
  auto nd = AudioDataset::Create(o);
  ASSERT_TRUE(nd.ok());
  EXPECT_EQ((*nd)->size(), 4u);
  EXPECT_EQ((*nd)->Get(3)->inputs.at("").shape(), (graph::Shape{400}));
}

TEST(AudioDatasetTest, StereoMixdownAndChannelError) {
  const fs::path dir = TempDir();
  std::vector<int16_t> st;
  for (int i = 0; i < 100; ++i) {
    st.push_back(static_cast<int16_t>(100 * i));
    st.push_back(static_cast<int16_t>(-50 * i));
  }
  WriteBytes(dir / "s.wav", testing::Wav16(16000, 2, st));
  AudioDatasetOptions o;
  o.source = (dir / "s.wav").string();
  o.window = 0;
  auto d = AudioDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->size(), 1u);
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, 100}));
  for (int i = 0; i < 100; ++i) {
    ASSERT_FLOAT_EQ(t.data<float>()[i], (100.0f * i / 32768.0f + -50.0f * i / 32768.0f) / 2);
  }
  o.mixdown = false;
  auto bad = AudioDataset::Create(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("2 channels"), std::string::npos);
  EXPECT_NE(bad.status().message().find("s.wav"), std::string::npos);
}

TEST(AudioDatasetTest, WrongRateIsAnErrorUnlessResampling) {
  const fs::path dir = TempDir();
  // 440 Hz sine at 48 kHz, 0.25 s.
  const int n = 12000;
  std::vector<float> x(n);
  const double pi = std::numbers::pi;
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(0.5 * std::sin(2 * pi * 440 * i / 48000));
  WriteBytes(dir / "sine48k.wav", testing::WavF32(48000, x));
  AudioDatasetOptions o;
  o.source = dir.string();
  o.window = 0;
  auto bad = AudioDataset::Create(o);
  ASSERT_FALSE(bad.ok());
  const std::string m = bad.status().message();
  EXPECT_NE(m.find("sine48k.wav"), std::string::npos) << m;
  EXPECT_NE(m.find("48000"), std::string::npos) << m;
  EXPECT_NE(m.find("16000"), std::string::npos) << m;

  o.resample = true;
  auto d = AudioDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  const graph::Tensor& t = s->inputs.at("");
  ASSERT_EQ(t.shape(), (graph::Shape{1, (n - 1) / 3 + 1}));
  // Away from the edges the output is the same sine sampled at 16 kHz.
  double max_err = 0;
  for (int k = 200; k < (n - 1) / 3 - 200; ++k) {
    const double want = 0.5 * std::sin(2 * pi * 440 * k / 16000.0);
    max_err = std::max(max_err, std::abs(t.data<float>()[k] - want));
  }
  EXPECT_LT(max_err, 2e-3);
}

TEST(ResampleTest, DownsamplingRemovesAboveNyquist) {
  // 7 kHz tone at 48 kHz resampled to 8 kHz (Nyquist 4 kHz) must be strongly attenuated.
  const int n = 9600;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i)
    x[i] = static_cast<float>(std::sin(2 * std::numbers::pi * 7000 * i / 48000));
  std::vector<float> y = ResampleSinc(x, 48000, 8000);
  double energy = 0;
  int cnt = 0;
  for (size_t k = 100; k + 100 < y.size(); ++k, ++cnt) energy += y[k] * y[k];
  EXPECT_LT(std::sqrt(energy / cnt), 0.05);  // a pass-through would give 0.707 RMS
}

TEST(AudioDatasetTest, CorruptFileNamesTheFile) {
  const fs::path dir = TempDir();
  WriteBytes(dir / "x.wav", "this is not audio at all");
  AudioDatasetOptions o;
  o.source = dir.string();
  auto d = AudioDataset::Create(o);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("x.wav"), std::string::npos) << d.status().message();
}

// Header facts parsed by hand from the RIFF chunks (independent of libsndfile).
struct WavFacts {
  int channels = 0, rate = 0, bits = 0;
  int64_t frames = 0;
};
WavFacts ParseRiff(const std::string& b) {
  WavFacts f;
  auto le = [&](size_t p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t(static_cast<uint8_t>(b[p + i])) << (8 * i);
    return v;
  };
  EXPECT_EQ(b.substr(0, 4), "RIFF");
  EXPECT_EQ(b.substr(8, 4), "WAVE");
  size_t p = 12;
  while (p + 8 <= b.size()) {
    const std::string id = b.substr(p, 4);
    const uint64_t size = le(p + 4, 4);
    if (id == "fmt ") {
      f.channels = static_cast<int>(le(p + 10, 2));
      f.rate = static_cast<int>(le(p + 12, 4));
      f.bits = static_cast<int>(le(p + 22, 2));
    } else if (id == "data") {
      f.frames = static_cast<int64_t>(size / (f.channels * f.bits / 8));
      break;
    }
    p += 8 + size + (size & 1);
  }
  return f;
}

TEST(AudioDatasetTest, PocketsphinxWavsMatchTheirHeaders) {
  const fs::path dir = "/usr/share/pocketsphinx/test/data/librivox";
  ASSERT_TRUE(fs::is_directory(dir))
      << dir << " missing: install the Debian package pocketsphinx-testdata";
  AudioDatasetOptions o;
  o.source = dir.string();
  o.window = 16000;
  o.hop = 8000;
  auto d = AudioDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ((*d)->files().size(), 5u);
  size_t expected_windows = 0;
  for (const auto& fi : (*d)->files()) {
    const WavFacts w = ParseRiff(testing::ReadAll(fi.path));
    EXPECT_EQ(fi.sample_rate, w.rate) << fi.path;
    EXPECT_EQ(w.rate, 16000);
    EXPECT_EQ(fi.channels, w.channels);
    EXPECT_EQ(fi.frames, w.frames) << fi.path;
    // Hand count: windows start every 8000 samples while start < frames - 16000 (+ the padded
    // tail); i.e. 1 + ceil((frames - 16000) / 8000) for frames > 16000.
    int64_t count = 1;
    for (int64_t start = 8000; start + 16000 - 8000 < w.frames; start += 8000) ++count;
    EXPECT_EQ(fi.windows, count) << fi.path;
    expected_windows += count;
  }
  EXPECT_EQ((*d)->size(), expected_windows);
  // The first window of the first file equals the hand-decoded PCM / 32768.
  const auto& f0 = (*d)->files()[0];
  const std::string bytes = testing::ReadAll(f0.path);
  const size_t data = bytes.find("data") + 8;
  auto s = (*d)->Get(0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  for (int k = 0; k < 16000; ++k) {
    const int16_t v = static_cast<int16_t>(static_cast<uint8_t>(bytes[data + 2 * k]) |
                                           static_cast<uint8_t>(bytes[data + 2 * k + 1]) << 8);
    ASSERT_EQ(s->inputs.at("").data<float>()[k], v / 32768.0f) << k;
  }
  // The last window of the dataset is zero-padded past the end of its file.
  auto last = (*d)->Get((*d)->size() - 1);
  ASSERT_TRUE(last.ok());
  const auto& fl = (*d)->files().back();
  const int64_t start = (fl.windows - 1) * 8000;
  const int64_t real = fl.frames - start;
  ASSERT_GT(real, 0);
  ASSERT_LE(real, 16000);
  for (int64_t k = real; k < 16000; ++k) ASSERT_EQ(last->inputs.at("").data<float>()[k], 0.0f);
}

}  // namespace
}  // namespace ptqflow::io

namespace ptqflow::io {
namespace {

// Windows read with resampling (each Get decodes only its span plus the filter margin) agree with
// resampling the whole signal and slicing it; concurrent reads agree with sequential ones.
TEST(AudioDatasetTest, ResampledWindowsMatchWholeSignalAndThreads) {
  const fs::path dir = TempDir();
  const int n = 9000;
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) {
    x[i] = static_cast<float>(0.3 * std::sin(0.01 * i) + 0.2 * std::cos(0.37 * i));
  }
  WriteBytes(dir / "a.wav", testing::WavF32(44100, x));
  AudioDatasetOptions o;
  o.source = dir.string();
  o.resample = true;
  o.window = 1000;
  o.hop = 700;
  auto d = AudioDataset::Create(o);
  ASSERT_TRUE(d.ok()) << d.status().message();
  const std::vector<float> whole = ResampleSinc(x, 44100, 16000);
  ASSERT_EQ(static_cast<int64_t>(whole.size()), (*d)->files()[0].out_frames);
  std::vector<graph::Tensor> seq;
  for (size_t w = 0; w < (*d)->size(); ++w) {
    auto s = (*d)->Get(w);
    ASSERT_TRUE(s.ok()) << s.status().message();
    const float* v = s->inputs.at("").data<float>();
    for (int k = 0; k < 1000; ++k) {
      const size_t src = w * 700 + k;
      ASSERT_NEAR(v[k], src < whole.size() ? whole[src] : 0.0f, 1e-6) << w << " " << k;
    }
    seq.push_back(s->inputs.at(""));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (size_t w = 0; w < seq.size(); ++w) {
        auto s = (*d)->Get(w);
        if (!s.ok() || !s->inputs.at("").BytesEqual(seq[w])) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace ptqflow::io

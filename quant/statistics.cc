#include "quant/statistics.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <glog/logging.h>
#include <sys/mman.h>
#include <unistd.h>

namespace ptqflow::quant {

namespace {

// Makes the pages under [p, p + bytes) present and writable in one system call, so that
// writing them later takes no page fault per fresh page (a trap that costs 10-30 us in a VM).
// Only page tables change, never the bytes. `p` must lie in one mapping (a heap allocation
// does); a kernel without MADV_POPULATE_WRITE (before 5.14) just declines, as for short ranges.
void PrefaultForWrite(const void* p, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  if (bytes < 2 * page) return;
  const auto begin = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = begin & ~(page - 1);
  const uintptr_t last = (begin + bytes + page - 1) & ~(page - 1);
  madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

float ReduceValues(std::vector<float>* vals, const ReductionSpec& spec) {
  std::vector<float>& v = *vals;
  switch (spec.type) {
    case StatType::kMin:
      return *std::min_element(v.begin(), v.end());
    case StatType::kMax:
      return *std::max_element(v.begin(), v.end());
    case StatType::kAbsMax: {
      float m = 0;
      for (float x : v) m = std::max(m, std::fabs(x));
      return m;
    }
    case StatType::kMean:
      return NumpyPairwiseSumF32(v) / static_cast<float>(v.size());
    case StatType::kQuantile:
    case StatType::kAbsQuantile: {
      std::vector<double> d(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        d[i] = spec.type == StatType::kAbsQuantile ? std::fabs(v[i]) : v[i];
      }
      return static_cast<float>(QuantileLinear(std::move(d), spec.quantile));
    }
  }
  return 0;
}

// The fast paths below return exactly what ReduceValues returns on the gathered values (runs
// in order): std::min_element / max_element keep the first element that no later one beats
// strictly, so NaN counts only in first place, and of -0 and +0 the first one seen wins. Lanes
// of independent accumulators let the compiler vectorize; ties at zero are then resolved by
// finding the first zero in order.
constexpr int kLanes = 16;

// lane = pick(x, lane) for 16 lanes: min: x < lane ? x : lane (MINPS), max: x > lane ? x : lane
// (MAXPS), abs_max: |x| > lane ? |x| : lane — NaN x never replaces a lane, as in the sequential
// definitions.
enum class Pick { kMin, kMax, kAbsMax };

template <Pick kPick>
inline float PickOne(float x, float lane) {
  if (kPick == Pick::kAbsMax) x = std::fabs(x);
  if (kPick == Pick::kMin) return x < lane ? x : lane;
  return x > lane ? x : lane;
}

template <Pick kPick>
void PickRun(const float* p, int64_t n, float* lane) {
  int64_t t = 0;
#if defined(__SSE2__)
  __m128 acc[kLanes / 4];
  for (int j = 0; j < kLanes / 4; ++j) acc[j] = _mm_loadu_ps(lane + 4 * j);
  const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
  for (; t + kLanes <= n; t += kLanes) {
    for (int j = 0; j < kLanes / 4; ++j) {
      __m128 x = _mm_loadu_ps(p + t + 4 * j);
      if (kPick == Pick::kAbsMax) x = _mm_and_ps(x, abs_mask);
      acc[j] = kPick == Pick::kMin ? _mm_min_ps(x, acc[j]) : _mm_max_ps(x, acc[j]);
    }
  }
  for (int j = 0; j < kLanes / 4; ++j) _mm_storeu_ps(lane + 4 * j, acc[j]);
#endif
  for (; t < n; ++t) lane[0] = PickOne<kPick>(p[t], lane[0]);
}

// min / max: the value std::min_element / max_element returns on the runs concatenated.
template <Pick kPick>
float ExtremeOfRuns(const float* base, int64_t outer, int64_t stride, int64_t inner) {
  const float first = base[0];
  if (std::isnan(first)) return first;
  float lane[kLanes];
  for (float& l : lane) l = first;
  for (int64_t o = 0; o < outer; ++o) PickRun<kPick>(base + o * stride, inner, lane);
  float m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = PickOne<kPick>(lane[j], m);
  if (m == 0.0f) {
    for (int64_t o = 0; o < outer; ++o) {
      const float* p = base + o * stride;
      for (int64_t t = 0; t < inner; ++t) {
        if (p[t] == 0.0f) return p[t];
      }
    }
  }
  return m;
}

float AbsMaxOfRuns(const float* base, int64_t outer, int64_t stride, int64_t inner) {
  float lane[kLanes] = {};
  for (int64_t o = 0; o < outer; ++o) PickRun<Pick::kAbsMax>(base + o * stride, inner, lane);
  float m = lane[0];
  for (int j = 1; j < kLanes; ++j) m = PickOne<Pick::kMax>(lane[j], m);
  return m;
}

// ReduceExtremes: lane accumulators of min and max (NaN skipped: MINPS/MAXPS return their
// second operand, the accumulator, when the new value is NaN) plus flags saying whether a NaN,
// a +0 or a -0 was seen. The flags make the result independent of the visiting order: with no
// NaN the extremes are unique bit patterns, except zero, whose sign is then known exactly
// unless both signs occur.
constexpr int kMaxLanes = 8;
struct LaneExtremes {
  float mn[kMaxLanes], mx[kMaxLanes];
  uint32_t nan[kMaxLanes], pos0[kMaxLanes], neg0[kMaxLanes];
  void Reset(int lanes) {
    for (int j = 0; j < lanes; ++j) {
      mn[j] = std::numeric_limits<float>::infinity();
      mx[j] = -std::numeric_limits<float>::infinity();
      nan[j] = pos0[j] = neg0[j] = 0;
    }
  }
};

inline void ExtremesOne(float x, LaneExtremes* a, int j) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  a->nan[j] |= std::isnan(x) ? 1u : 0u;
  a->pos0[j] |= bits == 0u ? 1u : 0u;
  a->neg0[j] |= bits == 0x80000000u ? 1u : 0u;
  a->mn[j] = x < a->mn[j] ? x : a->mn[j];
  a->mx[j] = x > a->mx[j] ? x : a->mx[j];
}

// Lane lane0 + j (j < kW) sees p[r * stride + j] for r in [0, rows). kW = 8 keeps the five
// accumulators of two SSE vectors each in registers.
template <int kW>
void FoldRows(const float* p, int64_t rows, int64_t stride, LaneExtremes* a, int lane0) {
  static_assert(kW % 4 == 0 && kW <= kMaxLanes);
#if defined(__SSE2__)
  constexpr int kV = kW / 4;
  __m128 mn[kV], mx[kV];
  __m128i nan[kV], pz[kV], nz[kV];
  auto iptr = [](uint32_t* q) { return reinterpret_cast<__m128i*>(q); };
  for (int v = 0; v < kV; ++v) {
    const int l = lane0 + 4 * v;
    mn[v] = _mm_loadu_ps(a->mn + l);
    mx[v] = _mm_loadu_ps(a->mx + l);
    nan[v] = _mm_loadu_si128(iptr(a->nan + l));
    pz[v] = _mm_loadu_si128(iptr(a->pos0 + l));
    nz[v] = _mm_loadu_si128(iptr(a->neg0 + l));
  }
  const __m128i zero = _mm_setzero_si128();
  const __m128i sign = _mm_set1_epi32(static_cast<int>(0x80000000u));
  for (int64_t r = 0; r < rows; ++r) {
    for (int v = 0; v < kV; ++v) {
      const __m128 x = _mm_loadu_ps(p + r * stride + 4 * v);
      const __m128i bits = _mm_castps_si128(x);
      mn[v] = _mm_min_ps(x, mn[v]);
      mx[v] = _mm_max_ps(x, mx[v]);
      nan[v] = _mm_or_si128(nan[v], _mm_castps_si128(_mm_cmpunord_ps(x, x)));
      pz[v] = _mm_or_si128(pz[v], _mm_cmpeq_epi32(bits, zero));
      nz[v] = _mm_or_si128(nz[v], _mm_cmpeq_epi32(bits, sign));
    }
  }
  for (int v = 0; v < kV; ++v) {
    const int l = lane0 + 4 * v;
    _mm_storeu_ps(a->mn + l, mn[v]);
    _mm_storeu_ps(a->mx + l, mx[v]);
    _mm_storeu_si128(iptr(a->nan + l), nan[v]);
    _mm_storeu_si128(iptr(a->pos0 + l), pz[v]);
    _mm_storeu_si128(iptr(a->neg0 + l), nz[v]);
  }
#else
  for (int64_t r = 0; r < rows; ++r) {
    for (int j = 0; j < kW; ++j) ExtremesOne(p[r * stride + j], a, lane0 + j);
  }
#endif
}

// One group's extremes, folded from lanes [0, lanes) of `a`.
struct GroupExtremes {
  float mn = std::numeric_limits<float>::infinity();
  float mx = -std::numeric_limits<float>::infinity();
  bool nan = false, pos0 = false, neg0 = false;
  void Add(const LaneExtremes& a, int lanes) {
    for (int j = 0; j < lanes; ++j) AddLane(a, j);
  }
  void AddLane(const LaneExtremes& a, int j) {
    mn = a.mn[j] < mn ? a.mn[j] : mn;
    mx = a.mx[j] > mx ? a.mx[j] : mx;
    nan = nan || a.nan[j];
    pos0 = pos0 || a.pos0[j];
    neg0 = neg0 || a.neg0[j];
  }
  void Add(const GroupExtremes& o) {
    mn = o.mn < mn ? o.mn : mn;
    mx = o.mx > mx ? o.mx : mx;
    nan = nan || o.nan;
    pos0 = pos0 || o.pos0;
    neg0 = neg0 || o.neg0;
  }
  // The order-independent answer, or false.
  bool Resolve(float* out_min, float* out_max) const {
    if (nan) return false;
    float a = mn, b = mx;
    if (a == 0.0f || b == 0.0f) {
      if (pos0 && neg0) return false;
      const float z = neg0 ? -0.0f : 0.0f;
      if (a == 0.0f) a = z;
      if (b == 0.0f) b = z;
    }
    *out_min = a;
    *out_max = b;
    return true;
  }
};

// Extremes of a contiguous run of n values, portable (SSE2) version.
GroupExtremes RunExtremesBaseline(const float* p, int64_t n) {
  constexpr int kW = 8;
  LaneExtremes a;
  a.Reset(kW);
  const int64_t rows = n / kW;
  FoldRows<kW>(p, rows, kW, &a, 0);
  for (int64_t t = rows * kW; t < n; ++t) ExtremesOne(p[t], &a, 0);
  GroupExtremes g;
  g.Add(a, kW);
  return g;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define PTQFLOW_WIDE_EXTREMES 1
// Wider versions for CPUs that have the instructions (chosen at run time). They track four
// integer extremes of the bit patterns only: signed and unsigned minimum and maximum. Among
// non-negative floats (sign bit 0, signed value >= 0) the bit order is the float order; among
// negative ones the unsigned order is the magnitude order and the signed one its reverse. So:
//   some value >= +0   <=> smax >= 0,  and then smax is the largest, umin the smallest of them;
//   some value <= -0   <=> smin < 0,   and then umax is the most, smin the least negative;
//   a NaN              <=> smax > +inf or umax > -inf (as unsigned);
//   +0 present         <=> some value >= +0 and umin == 0;  -0 present <=> smin == 0x80000000.
// Results are identical to the baseline.
struct BitExtremes {
  int32_t smin = std::numeric_limits<int32_t>::max();
  int32_t smax = std::numeric_limits<int32_t>::min();
  uint32_t umin = std::numeric_limits<uint32_t>::max();
  uint32_t umax = 0;
  void Add(float x) {
    uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    const int32_t i = static_cast<int32_t>(u);
    smin = std::min(smin, i);
    smax = std::max(smax, i);
    umin = std::min(umin, u);
    umax = std::max(umax, u);
  }
  // Folds `lanes` vector lanes of the four extremes in.
  void AddLanes(const int32_t* lo, const int32_t* hi, const uint32_t* ulo, const uint32_t* uhi,
                int lanes) {
    for (int j = 0; j < lanes; ++j) {
      smin = std::min(smin, lo[j]);
      smax = std::max(smax, hi[j]);
      umin = std::min(umin, ulo[j]);
      umax = std::max(umax, uhi[j]);
    }
  }
  GroupExtremes Get() const {
    constexpr uint32_t kPosInf = 0x7f800000u, kNegInf = 0xff800000u, kNegZero = 0x80000000u;
    GroupExtremes g;
    const bool nonneg = smax >= 0, neg = smin < 0;
    if (!nonneg && !neg) return g;  // nothing seen
    auto f = [](uint32_t b) {
      float x;
      std::memcpy(&x, &b, sizeof x);
      return x;
    };
    g.nan = static_cast<uint32_t>(smax) > kPosInf && nonneg;
    g.nan = g.nan || umax > kNegInf;
    g.mx = f(static_cast<uint32_t>(nonneg ? smax : smin));
    g.mn = neg ? f(umax) : f(umin);
    g.pos0 = nonneg && umin == 0;
    g.neg0 = neg && static_cast<uint32_t>(smin) == kNegZero;
    return g;
  }
};

// The loops keep U independent sets of the four extremes (U vectors a step): one set would
// chain every step on the previous one's results; measured on Zen 5, 4 sets of 512-bit lanes
// reduce L1/L2-resident data about 20 % faster than one.
template <int U>
__attribute__((target("avx2"))) GroupExtremes RunExtremesAvx2(const float* p, int64_t n) {
  __m256i smin[U], smax[U], umin[U], umax[U];
  for (int k = 0; k < U; ++k) {
    smin[k] = _mm256_set1_epi32(std::numeric_limits<int32_t>::max());
    smax[k] = _mm256_set1_epi32(std::numeric_limits<int32_t>::min());
    umin[k] = _mm256_set1_epi32(-1);
    umax[k] = _mm256_setzero_si256();
  }
  int64_t t = 0;
  for (; t + 8 * U <= n; t += 8 * U) {
#pragma GCC unroll 4
    for (int k = 0; k < U; ++k) {
      const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + t + 8 * k));
      smin[k] = _mm256_min_epi32(bits, smin[k]);
      smax[k] = _mm256_max_epi32(bits, smax[k]);
      umin[k] = _mm256_min_epu32(bits, umin[k]);
      umax[k] = _mm256_max_epu32(bits, umax[k]);
    }
  }
  for (; t + 8 <= n; t += 8) {
    const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + t));
    smin[0] = _mm256_min_epi32(bits, smin[0]);
    smax[0] = _mm256_max_epi32(bits, smax[0]);
    umin[0] = _mm256_min_epu32(bits, umin[0]);
    umax[0] = _mm256_max_epu32(bits, umax[0]);
  }
  BitExtremes b;
  for (int k = 0; k < U; ++k) {
    alignas(32) int32_t vsmin[8], vsmax[8];
    alignas(32) uint32_t vumin[8], vumax[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(vsmin), smin[k]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(vsmax), smax[k]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(vumin), umin[k]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(vumax), umax[k]);
    b.AddLanes(vsmin, vsmax, vumin, vumax, 8);
  }
  for (; t < n; ++t) b.Add(p[t]);
  return b.Get();
}

// GCC 12 warns that the "undefined" pass-through operand of its AVX-512 intrinsics is
// uninitialised (a known false positive of the unmasked forms).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <int U>
__attribute__((target("avx512f"))) GroupExtremes RunExtremesAvx512(const float* p, int64_t n) {
  __m512i smin[U], smax[U], umin[U], umax[U];
  for (int k = 0; k < U; ++k) {
    smin[k] = _mm512_set1_epi32(std::numeric_limits<int32_t>::max());
    smax[k] = _mm512_set1_epi32(std::numeric_limits<int32_t>::min());
    umin[k] = _mm512_set1_epi32(-1);
    umax[k] = _mm512_setzero_si512();
  }
  int64_t t = 0;
  for (; t + 16 * U <= n; t += 16 * U) {
#pragma GCC unroll 4
    for (int k = 0; k < U; ++k) {
      const __m512i bits = _mm512_loadu_si512(p + t + 16 * k);
      smin[k] = _mm512_min_epi32(bits, smin[k]);
      smax[k] = _mm512_max_epi32(bits, smax[k]);
      umin[k] = _mm512_min_epu32(bits, umin[k]);
      umax[k] = _mm512_max_epu32(bits, umax[k]);
    }
  }
  for (; t + 16 <= n; t += 16) {
    const __m512i bits = _mm512_loadu_si512(p + t);
    smin[0] = _mm512_min_epi32(bits, smin[0]);
    smax[0] = _mm512_max_epi32(bits, smax[0]);
    umin[0] = _mm512_min_epu32(bits, umin[0]);
    umax[0] = _mm512_max_epu32(bits, umax[0]);
  }
  BitExtremes b;
  for (int k = 0; k < U; ++k) {
    alignas(64) int32_t vsmin[16], vsmax[16];
    alignas(64) uint32_t vumin[16], vumax[16];
    _mm512_store_si512(vsmin, smin[k]);
    _mm512_store_si512(vsmax, smax[k]);
    _mm512_store_si512(vumin, umin[k]);
    _mm512_store_si512(vumax, umax[k]);
    b.AddLanes(vsmin, vsmax, vumin, vumax, 16);
  }
  for (; t < n; ++t) b.Add(p[t]);
  return b.Get();
}
#pragma GCC diagnostic pop
#endif

std::atomic<int> g_extremes_isa{-1};  // -1: not chosen yet; 0 baseline, 1 AVX2, 2 AVX-512

int ExtremesIsa() {
  int isa = g_extremes_isa.load(std::memory_order_relaxed);
  if (isa >= 0) return isa;
  isa = 0;
#if defined(PTQFLOW_WIDE_EXTREMES)
  if (__builtin_cpu_supports("avx512f")) {
    isa = 2;
  } else if (__builtin_cpu_supports("avx2")) {
    isa = 1;
  }
#endif
  g_extremes_isa.store(isa, std::memory_order_relaxed);
  return isa;
}

// Extremes of a contiguous run of n values.
GroupExtremes RunExtremes(const float* p, int64_t n) {
#if defined(PTQFLOW_WIDE_EXTREMES)
  switch (ExtremesIsa()) {
    case 2:
      return RunExtremesAvx512<4>(p, n);
    case 1:
      return RunExtremesAvx2<2>(p, n);
    default:
      break;
  }
#endif
  return RunExtremesBaseline(p, n);
}

// Median of float32 values as numpy computes it (mean of the two middle values in float32).
float MedianF32(std::vector<float> v) {
  CHECK(!v.empty());
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  if (n % 2 == 1) return v[n / 2];
  return (v[n / 2 - 1] + v[n / 2]) / 2.0f;
}

}  // namespace

const char* StatTypeName(StatType t) {
  switch (t) {
    case StatType::kMin:
      return "min";
    case StatType::kMax:
      return "max";
    case StatType::kAbsMax:
      return "abs_max";
    case StatType::kMean:
      return "mean";
    case StatType::kQuantile:
      return "quantile";
    case StatType::kAbsQuantile:
      return "abs_quantile";
  }
  return "?";
}

Result<StatType> ParseStatType(const std::string& s) {
  for (StatType t : {StatType::kMin, StatType::kMax, StatType::kAbsMax, StatType::kMean,
                     StatType::kQuantile, StatType::kAbsQuantile}) {
    if (s == StatTypeName(t)) return t;
  }
  return Status::Error("unknown statistic type \"" + s +
                       "\" (expected min, max, abs_max, mean, quantile or abs_quantile)");
}

float NumpyPairwiseSumF32(std::span<const float> a) {
  const size_t n = a.size();
  if (n < 8) {
    float res = 0.0f;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return NumpyPairwiseSumF32(a.subspan(0, n2)) + NumpyPairwiseSumF32(a.subspan(n2));
}

double QuantileLinear(std::vector<double> v, double q) {
  CHECK(!v.empty());
  std::sort(v.begin(), v.end());
  const double virtual_index = q * static_cast<double>(v.size() - 1);
  double prev = std::floor(virtual_index);
  prev = std::clamp(prev, 0.0, static_cast<double>(v.size() - 1));
  const size_t lo = static_cast<size_t>(prev);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  const double t = virtual_index - prev;
  const double a = v[lo], b = v[hi];
  const double diff = b - a;
  if (t >= 0.5) return b - diff * (1.0 - t);
  return a + diff * t;
}

Result<PerSampleValues> ReducePerSample(std::span<const float> data, const graph::Shape& shape,
                                        const ReductionSpec& spec) {
  graph::Shape s = shape.empty() ? graph::Shape{1} : shape;
  const int64_t count = graph::ElementCount(s);
  if (count != static_cast<int64_t>(data.size())) {
    return Status::Error("statistics: tensor of shape " + graph::ShapeToString(shape) + " has " +
                         std::to_string(data.size()) + " values, expected " +
                         std::to_string(count));
  }
  if ((spec.type == StatType::kQuantile || spec.type == StatType::kAbsQuantile) &&
      !(spec.quantile >= 0.0 && spec.quantile <= 1.0)) {
    return Status::Error("statistics: quantile " + std::to_string(spec.quantile) +
                         " is outside [0, 1]");
  }
  const int rank = static_cast<int>(s.size());
  int axis = spec.channel_axis < 0 ? spec.channel_axis + rank : spec.channel_axis;
  if (spec.per_channel && (axis <= 0 || axis >= rank)) {
    return Status::Error("statistics: channel axis " + std::to_string(spec.channel_axis) +
                         " is invalid for a tensor of shape " + graph::ShapeToString(shape) +
                         " (must be an axis other than 0)");
  }
  const int64_t rows = s[0];
  int64_t channels = 1, outer = 1, inner = 1;
  if (spec.per_channel) {
    channels = s[axis];
    for (int d = 1; d < axis; ++d) outer *= s[d];
    for (int d = axis + 1; d < rank; ++d) inner *= s[d];
  } else {
    for (int d = 1; d < rank; ++d) inner *= s[d];
  }
  if (rows == 0 || channels == 0 || outer * inner == 0) {
    return Status::Error("statistics: cannot reduce an empty tensor of shape " +
                         graph::ShapeToString(shape));
  }
  PerSampleValues out;
  out.rows = rows;
  out.cols = channels;
  out.data.resize(rows * channels);
  const bool extreme =
      spec.type == StatType::kMin || spec.type == StatType::kMax || spec.type == StatType::kAbsMax;
  if (extreme || (spec.type == StatType::kMean && outer == 1)) {
    // In place, without gathering the slice: `outer` runs of `inner` contiguous values.
    for (int64_t r = 0; r < rows; ++r) {
      const float* sample = data.data() + r * channels * outer * inner;
      for (int64_t c = 0; c < channels; ++c) {
        const float* base = sample + c * inner;
        const int64_t stride = channels * inner;
        float v = 0;
        switch (spec.type) {
          case StatType::kMin:
            v = ExtremeOfRuns<Pick::kMin>(base, outer, stride, inner);
            break;
          case StatType::kMax:
            v = ExtremeOfRuns<Pick::kMax>(base, outer, stride, inner);
            break;
          case StatType::kAbsMax:
            v = AbsMaxOfRuns(base, outer, stride, inner);
            break;
          default:
            v = NumpyPairwiseSumF32({base, static_cast<size_t>(inner)}) / static_cast<float>(inner);
            break;
        }
        out.data[r * channels + c] = v;
      }
    }
    return out;
  }
  std::vector<float> buf(outer * inner);
  for (int64_t r = 0; r < rows; ++r) {
    const float* sample = data.data() + r * channels * outer * inner;
    for (int64_t c = 0; c < channels; ++c) {
      // Gather this (sample, channel) slice in C order.
      size_t k = 0;
      for (int64_t o = 0; o < outer; ++o) {
        const float* p = sample + (o * channels + c) * inner;
        for (int64_t t = 0; t < inner; ++t) buf[k++] = p[t];
      }
      out.data[r * channels + c] = ReduceValues(&buf, spec);
    }
  }
  return out;
}

bool ReduceExtremes(const float* data, const graph::Shape& shape, int64_t channel_block,
                    Extremes* tensor, Extremes* channel) {
  static const graph::Shape kScalar{1};
  const graph::Shape& s = shape.empty() ? kScalar : shape;
  const int rank = static_cast<int>(s.size());
  if (graph::ElementCount(s) <= 0) return false;
  if ((channel != nullptr && rank < 2) || (channel_block > 0 && rank < 3)) return false;
  const int64_t rows = s[0];
  const int64_t channels = rank >= 2 ? s[1] : 1;
  const int64_t spatial = graph::ElementCount(s) / (rows * channels);
  const int64_t b = channel_block > 0 ? channel_block : channels;  // plain: one block
  const int64_t blocks = (channels + b - 1) / b;
  const int64_t sample_size = blocks * b * spatial;  // with padding lanes
  auto init = [&](Extremes* e, int64_t cols) {
    for (PerSampleValues* v : {&e->min, &e->max}) {
      v->rows = rows;
      v->cols = cols;
      v->data.resize(static_cast<size_t>(rows * cols));
    }
  };
  if (tensor) init(tensor, 1);
  if (channel) init(channel, channels);
  // Per tensor with no padding lane: each sample is one contiguous run, in any layout.
  const bool runs = channel == nullptr && channels % b == 0;
  std::vector<GroupExtremes> per_channel(runs ? 0 : static_cast<size_t>(channels));
  for (int64_t r = 0; r < rows; ++r) {
    const float* sample = data + r * sample_size;
    GroupExtremes whole;
    if (runs) {
      whole = RunExtremes(sample, sample_size);
    } else if (channel_block <= 0) {
      for (int64_t c = 0; c < channels; ++c) {
        per_channel[c] = RunExtremes(sample + c * spatial, spatial);
      }
    } else {
      // Lanes of 8 channels at a time, strided by the block (nChw8c, nChw16c, nhwc, ...).
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const float* p = sample + cb * spatial * b;
        const int64_t valid = std::min(b, channels - cb * b);
        for (int64_t l = 0; l < valid; l += 8) {
          const int w = static_cast<int>(std::min<int64_t>(8, valid - l));
          LaneExtremes a;
          a.Reset(8);
          if (w == 8) {
            FoldRows<8>(p + l, spatial, b, &a, 0);
          } else {
            for (int64_t t = 0; t < spatial; ++t) {
              for (int j = 0; j < w; ++j) ExtremesOne(p[t * b + l + j], &a, j);
            }
          }
          for (int j = 0; j < w; ++j) {
            per_channel[cb * b + l + j] = GroupExtremes();
            per_channel[cb * b + l + j].AddLane(a, j);
          }
        }
      }
    }
    if (!runs) {
      for (int64_t c = 0; c < channels; ++c) {
        if (channel && !per_channel[c].Resolve(&channel->min.data[r * channels + c],
                                               &channel->max.data[r * channels + c])) {
          return false;
        }
        whole.Add(per_channel[c]);
      }
    }
    if (tensor && !whole.Resolve(&tensor->min.data[r], &tensor->max.data[r])) return false;
  }
  return true;
}

namespace internal {
int UseExtremesKernels(int isa) {
  const int previous = ExtremesIsa();
  int best = 0;
#if defined(PTQFLOW_WIDE_EXTREMES)
  best = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
  g_extremes_isa.store(std::clamp(isa, 0, best));
  return previous;
}
}  // namespace internal

PerSampleValues AbsMaxOf(const Extremes& e) {
  PerSampleValues out = e.max;
  AbsMaxInto(e, out.data.data());
  return out;
}

void AbsMaxInto(const Extremes& e, float* out) {
  for (size_t i = 0; i < e.min.data.size(); ++i) {
    out[i] = std::max(std::fabs(e.min.data[i]), std::fabs(e.max.data[i]));
  }
}

Result<std::vector<float>> WeightStatsPerOutputChannel(std::span<const float> data,
                                                       const graph::Shape& shape, StatType type,
                                                       bool transposed, double quantile) {
  if (shape.empty()) {
    return Status::Error("weight statistics: a scalar weight has no output channel axis");
  }
  std::vector<float> swapped;
  graph::Shape s = shape;
  std::span<const float> src = data;
  if (transposed) {
    if (shape.size() < 2) {
      return Status::Error("weight statistics: transposed weights need rank >= 2, got " +
                           graph::ShapeToString(shape));
    }
    if (graph::ElementCount(shape) != static_cast<int64_t>(data.size())) {
      return Status::Error("weight statistics: size mismatch for shape " +
                           graph::ShapeToString(shape));
    }
    const int64_t a0 = shape[0], a1 = shape[1];
    const int64_t rest = graph::ElementCount(shape) / std::max<int64_t>(1, a0 * a1);
    swapped.resize(data.size());
    for (int64_t i = 0; i < a0; ++i)
      for (int64_t j = 0; j < a1; ++j)
        for (int64_t t = 0; t < rest; ++t)
          swapped[(j * a0 + i) * rest + t] = data[(i * a1 + j) * rest + t];
    std::swap(s[0], s[1]);
    src = swapped;
  }
  ReductionSpec spec;
  spec.type = type;
  spec.quantile = quantile;
  PTQ_ASSIGN_OR_RETURN(PerSampleValues v, ReducePerSample(src, s, spec));
  return std::move(v.data);
}

Result<float> WeightStatPerTensor(std::span<const float> data, StatType type, double quantile) {
  ReductionSpec spec;
  spec.type = type;
  spec.quantile = quantile;
  PTQ_ASSIGN_OR_RETURN(
      PerSampleValues v,
      ReducePerSample(data, graph::Shape{1, static_cast<int64_t>(data.size())}, spec));
  return v.data[0];
}

const char* AggregatorName(Aggregator a) {
  switch (a) {
    case Aggregator::kMean:
      return "mean";
    case Aggregator::kMax:
      return "max";
    case Aggregator::kMin:
      return "min";
    case Aggregator::kMedian:
      return "median";
    case Aggregator::kMeanNoOutliers:
      return "mean_no_outliers";
    case Aggregator::kMedianNoOutliers:
      return "median_no_outliers";
    case Aggregator::kHlEstimator:
      return "hl_estimator";
  }
  return "?";
}

Result<Aggregator> ParseAggregator(const std::string& s) {
  for (Aggregator a :
       {Aggregator::kMean, Aggregator::kMax, Aggregator::kMin, Aggregator::kMedian,
        Aggregator::kMeanNoOutliers, Aggregator::kMedianNoOutliers, Aggregator::kHlEstimator}) {
    if (s == AggregatorName(a)) return a;
  }
  return Status::Error("unknown aggregator \"" + s +
                       "\" (expected mean, max, min, median, mean_no_outliers, "
                       "median_no_outliers or hl_estimator)");
}

SampleAccumulator::SampleAccumulator(int64_t channels, bool per_channel)
    : channels_(channels), per_channel_(per_channel) {
  CHECK_GE(channels, 1);
}

int64_t SampleAccumulator::num_samples() const {
  return static_cast<int64_t>(values_.size()) / channels_;
}

Status SampleAccumulator::Add(const PerSampleValues& batch) {
  return Add(batch.rows, batch.cols, batch.data);
}

Status SampleAccumulator::CheckBatch(int64_t channels, int64_t rows, int64_t cols, size_t size) {
  if (cols != channels) {
    return Status::Error("statistics: a batch has " + std::to_string(cols) +
                         " channels, the accumulator " + std::to_string(channels));
  }
  if (rows <= 0 || cols <= 0 || static_cast<int64_t>(size) != rows * cols) {
    return Status::Error("statistics: malformed or empty batch of per-sample values");
  }
  return Status::Ok();
}

Status SampleAccumulator::Add(int64_t rows, int64_t cols, std::span<const float> values) {
  PTQ_RETURN_IF_ERROR(CheckBatch(channels_, rows, cols, values.size()));
  values_.insert(values_.end(), values.begin(), values.end());
  AppendBatches(rows, 1);
  return Status::Ok();
}

void SampleAccumulator::AppendBatches(int64_t rows, int64_t count) {
  if (count <= 0) return;
  if (!runs_.empty() && runs_.back().rows == rows) {
    runs_.back().count += count;
  } else {
    runs_.push_back(Run{rows, count});
  }
  num_batches_ += count;
}

std::vector<int64_t> SampleAccumulator::batch_sizes() const {
  std::vector<int64_t> sizes;
  sizes.reserve(static_cast<size_t>(num_batches_));
  for (const Run& r : runs_) sizes.insert(sizes.end(), static_cast<size_t>(r.count), r.rows);
  return sizes;
}

Status SampleAccumulator::AddStrided(int64_t rows, int64_t cols, const float* first, size_t stride,
                                     size_t count) {
  if (count == 0) return Status::Ok();
  PTQ_RETURN_IF_ERROR(CheckBatch(channels_, rows, cols, static_cast<size_t>(rows * cols)));
  const size_t n = static_cast<size_t>(rows * cols);
  CHECK_GE(stride, n);
  const size_t at = values_.size();
  values_.resize(at + count * n);
  float* out = values_.data() + at;
  if (n == 1) {
    for (size_t k = 0; k < count; ++k) out[k] = first[k * stride];
  } else {
    for (size_t k = 0; k < count; ++k) std::copy_n(first + k * stride, n, out + k * n);
  }
  AppendBatches(rows, static_cast<int64_t>(count));
  return Status::Ok();
}

void SampleAccumulator::Reserve(size_t samples) {
  values_.reserve(values_.size() + samples * static_cast<size_t>(channels_));
  // The pass appends to these pages: map them now (about 300 fresh pages in a 3000-sample pass
  // of MobileNetV2's 106 statistics).
  PrefaultForWrite(values_.data() + values_.size(),
                   (values_.capacity() - values_.size()) * sizeof(float));
}

Status SampleAccumulator::Merge(const SampleAccumulator& later) {
  if (later.channels_ != channels_ || later.per_channel_ != per_channel_) {
    return Status::Error("statistics: cannot merge accumulators of different layouts (" +
                         std::to_string(channels_) + " vs " + std::to_string(later.channels_) +
                         " channels)");
  }
  values_.insert(values_.end(), later.values_.begin(), later.values_.end());
  for (const Run& r : later.runs_) AppendBatches(r.rows, r.count);
  return Status::Ok();
}

Result<SampleAccumulator> SampleAccumulator::FromState(int64_t channels, bool per_channel,
                                                       std::vector<float> values,
                                                       std::vector<int64_t> batch_sizes) {
  if (channels < 1) return Status::Error("statistics state: channel count must be >= 1");
  int64_t total = 0;
  for (int64_t b : batch_sizes) {
    if (b <= 0) return Status::Error("statistics state: non-positive batch size");
    total += b;
  }
  if (total * channels != static_cast<int64_t>(values.size())) {
    return Status::Error("statistics state: " + std::to_string(values.size()) +
                         " values do not match " + std::to_string(total) + " samples x " +
                         std::to_string(channels) + " channels");
  }
  SampleAccumulator acc(channels, per_channel);
  acc.values_ = std::move(values);
  for (int64_t b : batch_sizes) acc.AppendBatches(b, 1);
  return acc;
}

Result<std::vector<float>> Aggregate(const SampleAccumulator& acc, Aggregator aggregator) {
  const int64_t n = acc.num_samples();
  const int64_t ch = acc.channels();
  if (n == 0) {
    return Status::Error(std::string("statistics: no samples to aggregate with '") +
                         AggregatorName(aggregator) + "'");
  }
  const std::vector<float>& v = acc.values();
  auto column = [&](int64_t c) {
    std::vector<float> col(n);
    for (int64_t r = 0; r < n; ++r) col[r] = v[r * ch + c];
    return col;
  };
  std::vector<float> out(ch);
  switch (aggregator) {
    case Aggregator::kMean: {
      // np.mean([np.mean(batch, axis=0) for batch in x], axis=0)
      const std::vector<int64_t> sizes = acc.batch_sizes();
      std::vector<float> batch_means(sizes.size() * ch);
      int64_t row = 0;
      for (size_t b = 0; b < sizes.size(); ++b) {
        for (int64_t c = 0; c < ch; ++c) {
          float sum;
          if (acc.per_channel()) {
            sum = 0.0f;
            for (int64_t r = 0; r < sizes[b]; ++r) sum += v[(row + r) * ch + c];
          } else {
            sum = NumpyPairwiseSumF32(std::span<const float>(v.data() + row, sizes[b]));
          }
          batch_means[b * ch + c] = sum / static_cast<float>(sizes[b]);
        }
        row += sizes[b];
      }
      const int64_t nb = static_cast<int64_t>(sizes.size());
      for (int64_t c = 0; c < ch; ++c) {
        float sum;
        if (acc.per_channel()) {
          sum = 0.0f;
          for (int64_t b = 0; b < nb; ++b) sum += batch_means[b * ch + c];
        } else {
          sum = NumpyPairwiseSumF32(batch_means);
        }
        out[c] = sum / static_cast<float>(nb);
      }
      return out;
    }
    case Aggregator::kMax:
    case Aggregator::kMin:
      for (int64_t c = 0; c < ch; ++c) {
        float m = v[c];
        for (int64_t r = 1; r < n; ++r) {
          float x = v[r * ch + c];
          m = aggregator == Aggregator::kMax ? std::max(m, x) : std::min(m, x);
        }
        out[c] = m;
      }
      return out;
    case Aggregator::kMedian:
      for (int64_t c = 0; c < ch; ++c) out[c] = MedianF32(column(c));
      return out;
    case Aggregator::kMeanNoOutliers:
    case Aggregator::kMedianNoOutliers: {
      constexpr double kAlpha = 0.01;
      for (int64_t c = 0; c < ch; ++c) {
        std::vector<float> col = column(c);
        std::vector<double> d(col.begin(), col.end());
        const double low = QuantileLinear(d, kAlpha);
        const double high = QuantileLinear(d, 1.0 - kAlpha);
        std::vector<float> kept;
        for (float x : col) {
          if (static_cast<double>(x) >= low && static_cast<double>(x) <= high) kept.push_back(x);
        }
        if (kept.empty()) kept = col;  // cannot happen for finite data; keeps NaN out
        if (aggregator == Aggregator::kMeanNoOutliers) {
          out[c] = NumpyPairwiseSumF32(kept) / static_cast<float>(kept.size());
        } else {
          out[c] = MedianF32(std::move(kept));
        }
      }
      return out;
    }
    case Aggregator::kHlEstimator:
      for (int64_t c = 0; c < ch; ++c) {
        std::vector<float> col = column(c);
        if (n == 1) {
          out[c] = col[0];
          continue;
        }
        // Walsh sums x_i + x_j for i > j (strictly lower triangle), median, times 0.5.
        std::vector<float> sums;
        sums.reserve(n * (n - 1) / 2);
        for (int64_t i = 1; i < n; ++i)
          for (int64_t j = 0; j < i; ++j) sums.push_back(col[i] + col[j]);
        out[c] = 0.5f * MedianF32(std::move(sums));
      }
      return out;
  }
  return out;
}

Result<std::vector<float>> BatchMean(std::span<const float> data, const graph::Shape& shape) {
  if (shape.empty() || shape[0] <= 0) {
    return Status::Error("batch_mean: need a tensor with a non-empty axis 0, got shape " +
                         graph::ShapeToString(shape));
  }
  if (graph::ElementCount(shape) != static_cast<int64_t>(data.size())) {
    return Status::Error("batch_mean: size mismatch for shape " + graph::ShapeToString(shape));
  }
  const int64_t n = shape[0];
  const int64_t inner = static_cast<int64_t>(data.size()) / n;
  std::vector<float> out(inner, 0.0f);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < inner; ++i) out[i] += data[r * inner + i];
  for (float& x : out) x /= static_cast<float>(n);
  return out;
}

Histogram::Histogram(float lo, float hi, int64_t bins) : lo_(lo), hi_(hi), counts_(bins, 0) {
  CHECK_LT(lo, hi);
  CHECK_GE(bins, 1);
}

void Histogram::Add(std::span<const float> values) {
  const int64_t bins = static_cast<int64_t>(counts_.size());
  const double lo = lo_, hi = hi_;
  const double scale = static_cast<double>(bins) / (hi - lo);
  for (float x : values) {
    if (std::isnan(x)) {
      ++nan_;
      continue;
    }
    if (x < lo_) {
      ++underflow_;
      continue;
    }
    if (x > hi_) {
      ++overflow_;
      continue;
    }
    int64_t b = static_cast<int64_t>((static_cast<double>(x) - lo) * scale);
    b = std::clamp<int64_t>(b, 0, bins - 1);
    ++counts_[b];
  }
}

Status Histogram::Merge(const Histogram& other) {
  if (other.lo_ != lo_ || other.hi_ != hi_ || other.counts_.size() != counts_.size()) {
    return Status::Error("histogram: cannot merge histograms with different ranges or bins");
  }
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  underflow_ += other.underflow_;
  overflow_ += other.overflow_;
  nan_ += other.nan_;
  return Status::Ok();
}

Result<Histogram> Histogram::FromState(float lo, float hi, std::vector<int64_t> counts,
                                       int64_t underflow, int64_t overflow, int64_t nan_count) {
  if (!(lo < hi) || counts.empty()) {
    return Status::Error("histogram state: need lo < hi and at least one bin");
  }
  Histogram h(lo, hi, static_cast<int64_t>(counts.size()));
  h.counts_ = std::move(counts);
  h.underflow_ = underflow;
  h.overflow_ = overflow;
  h.nan_ = nan_count;
  return h;
}

}  // namespace ptqflow::quant

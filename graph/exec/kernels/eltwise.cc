// Elementwise kernels: unary activations, binary arithmetic/comparison/logical ops with numpy
// broadcasting, Select, Convert, FakeQuantize, PRelu, HardSigmoid, Swish, Selu.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE4_1__)
#include <smmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "graph/exec/kernels/broadcast.h"
#include "graph/exec/kernels/kernels.h"
#include "graph/exec/kernels/type_dispatch.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;

// ---------------------------------------------------------------- unary (float types)

enum class UnaryOp {
  kAbs,
  kAcos,
  kAsin,
  kAtan,
  kCeiling,
  kClamp,
  kCos,
  kCosh,
  kElu,
  kErf,
  kExp,
  kFloor,
  kGeluErf,
  kGeluTanh,
  kHSigmoid,
  kHSwish,
  kLog,
  kLogicalNot,
  kMish,
  kNegative,
  kRelu,
  kSigmoid,
  kSign,
  kSin,
  kSinh,
  kSoftPlus,
  kSoftSign,
  kSqrt,
  kTan,
  kTanh,
};

template <typename T>
inline T Sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
inline T SoftPlus(T x) {
  // log(1 + e^x) without overflow for large x.
  return x > T(20) ? x : std::log1p(std::exp(x));
}

template <UnaryOp Op, typename T>
inline T Apply(T x, T p0, T p1) {
  if constexpr (Op == UnaryOp::kAbs) return std::abs(x);
  if constexpr (Op == UnaryOp::kAcos) return std::acos(x);
  if constexpr (Op == UnaryOp::kAsin) return std::asin(x);
  if constexpr (Op == UnaryOp::kAtan) return std::atan(x);
  if constexpr (Op == UnaryOp::kCeiling) return std::ceil(x);
  if constexpr (Op == UnaryOp::kClamp) return std::min(std::max(x, p0), p1);
  if constexpr (Op == UnaryOp::kCos) return std::cos(x);
  if constexpr (Op == UnaryOp::kCosh) return std::cosh(x);
  if constexpr (Op == UnaryOp::kElu) return x > T(0) ? x : p0 * (std::exp(x) - T(1));
  if constexpr (Op == UnaryOp::kErf) return std::erf(x);
  if constexpr (Op == UnaryOp::kExp) return std::exp(x);
  if constexpr (Op == UnaryOp::kFloor) return std::floor(x);
  if constexpr (Op == UnaryOp::kGeluErf) {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
  if constexpr (Op == UnaryOp::kGeluTanh) {
    return T(0.5) * x *
           (T(1) + std::tanh(T(0.79788456080286535588) * (x + T(0.044715) * x * x * x)));
  }
  if constexpr (Op == UnaryOp::kHSigmoid) return std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
  if constexpr (Op == UnaryOp::kHSwish) {
    return x * std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
  }
  if constexpr (Op == UnaryOp::kLog) return std::log(x);
  if constexpr (Op == UnaryOp::kLogicalNot) return x == T(0) ? T(1) : T(0);
  if constexpr (Op == UnaryOp::kMish) return x * std::tanh(SoftPlus(x));
  if constexpr (Op == UnaryOp::kNegative) return -x;
  if constexpr (Op == UnaryOp::kRelu) return x > T(0) ? x : T(0);
  if constexpr (Op == UnaryOp::kSigmoid) return Sigmoid(x);
  if constexpr (Op == UnaryOp::kSign) return T((x > T(0)) - (x < T(0)));
  if constexpr (Op == UnaryOp::kSin) return std::sin(x);
  if constexpr (Op == UnaryOp::kSinh) return std::sinh(x);
  if constexpr (Op == UnaryOp::kSoftPlus) return SoftPlus(x);
  if constexpr (Op == UnaryOp::kSoftSign) return x / (T(1) + std::abs(x));
  if constexpr (Op == UnaryOp::kSqrt) return std::sqrt(x);
  if constexpr (Op == UnaryOp::kTan) return std::tan(x);
  if constexpr (Op == UnaryOp::kTanh) return std::tanh(x);
  return x;
}

template <UnaryOp Op, typename T>
class UnaryKernel : public Kernel {
 public:
  UnaryKernel(double p0, double p1) : p0_(static_cast<T>(p0)), p1_(static_cast<T>(p1)) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    const T p0 = p0_, p1 = p1_;
    ParallelFor(ctx.out[0].size(), 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] = Apply<Op, T>(x[i], p0, p1);
    });
    return Status::Ok();
  }

 private:
  T p0_, p1_;
};

// Integer / boolean unary ops that make sense on them.
template <typename T>
class IntUnaryKernel : public Kernel {
 public:
  explicit IntUnaryKernel(UnaryOp op, double p0 = 0, double p1 = 0) : op_(op), p0_(p0), p1_(p1) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    const int64_t n = ctx.out[0].size();
    for (int64_t i = 0; i < n; ++i) {
      T v = x[i];
      switch (op_) {
        case UnaryOp::kAbs:
          if constexpr (std::is_signed_v<T>) v = v < 0 ? T(-v) : v;
          break;
        case UnaryOp::kNegative:
          v = T(-v);
          break;
        case UnaryOp::kSign:
          v = T((v > T(0)) - (v < T(0)));
          break;
        case UnaryOp::kRelu:
          v = v > T(0) ? v : T(0);
          break;
        case UnaryOp::kLogicalNot:
          v = !v;
          break;
        case UnaryOp::kClamp:
          v = static_cast<T>(std::min(std::max(static_cast<double>(v), p0_), p1_));
          break;
        default:
          break;  // ceil/floor of integers: identity
      }
      y[i] = v;
    }
    return Status::Ok();
  }

 private:
  UnaryOp op_;
  double p0_, p1_;
};

struct UnaryName {
  const char* name;
  UnaryOp op;
};
constexpr UnaryName kUnary[] = {
    {"Abs", UnaryOp::kAbs},
    {"Acos", UnaryOp::kAcos},
    {"Asin", UnaryOp::kAsin},
    {"Atan", UnaryOp::kAtan},
    {"Ceiling", UnaryOp::kCeiling},
    {"Clamp", UnaryOp::kClamp},
    {"Cos", UnaryOp::kCos},
    {"Cosh", UnaryOp::kCosh},
    {"Elu", UnaryOp::kElu},
    {"Erf", UnaryOp::kErf},
    {"Exp", UnaryOp::kExp},
    {"Floor", UnaryOp::kFloor},
    {"Gelu", UnaryOp::kGeluErf},
    {"HSigmoid", UnaryOp::kHSigmoid},
    {"HSwish", UnaryOp::kHSwish},
    {"Log", UnaryOp::kLog},
    {"LogicalNot", UnaryOp::kLogicalNot},
    {"Mish", UnaryOp::kMish},
    {"Negative", UnaryOp::kNegative},
    {"Relu", UnaryOp::kRelu},
    {"Sigmoid", UnaryOp::kSigmoid},
    {"Sign", UnaryOp::kSign},
    {"Sin", UnaryOp::kSin},
    {"Sinh", UnaryOp::kSinh},
    {"SoftPlus", UnaryOp::kSoftPlus},
    {"SoftSign", UnaryOp::kSoftSign},
    {"Sqrt", UnaryOp::kSqrt},
    {"Tan", UnaryOp::kTan},
    {"Tanh", UnaryOp::kTanh},
};

template <typename T>
std::unique_ptr<Kernel> MakeUnaryT(UnaryOp op, double p0, double p1) {
  switch (op) {
#define PTQ_U(X)   \
  case UnaryOp::X: \
    return std::make_unique<UnaryKernel<UnaryOp::X, T>>(p0, p1);
    PTQ_U(kAbs);
    PTQ_U(kAcos);
    PTQ_U(kAsin);
    PTQ_U(kAtan);
    PTQ_U(kCeiling);
    PTQ_U(kClamp);
    PTQ_U(kCos);
    PTQ_U(kCosh);
    PTQ_U(kElu);
    PTQ_U(kErf);
    PTQ_U(kExp);
    PTQ_U(kFloor);
    PTQ_U(kGeluErf);
    PTQ_U(kGeluTanh);
    PTQ_U(kHSigmoid);
    PTQ_U(kHSwish);
    PTQ_U(kLog);
    PTQ_U(kLogicalNot);
    PTQ_U(kMish);
    PTQ_U(kNegative);
    PTQ_U(kRelu);
    PTQ_U(kSigmoid);
    PTQ_U(kSign);
    PTQ_U(kSin);
    PTQ_U(kSinh);
    PTQ_U(kSoftPlus);
    PTQ_U(kSoftSign);
    PTQ_U(kSqrt);
    PTQ_U(kTan);
    PTQ_U(kTanh);
#undef PTQ_U
  }
  return nullptr;
}

// ---------------------------------------------------------------- binary

enum class BinOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kMax,
  kMin,
  kSqDiff,
  kFloorMod,
  kMod,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
  kXor,
};

struct BinName {
  const char* name;
  BinOp op;
};
constexpr BinName kBinary[] = {
    {"Add", BinOp::kAdd},           {"Subtract", BinOp::kSub},
    {"Multiply", BinOp::kMul},      {"Divide", BinOp::kDiv},
    {"Power", BinOp::kPow},         {"Maximum", BinOp::kMax},
    {"Minimum", BinOp::kMin},       {"SquaredDifference", BinOp::kSqDiff},
    {"FloorMod", BinOp::kFloorMod}, {"Mod", BinOp::kMod},
    {"Equal", BinOp::kEq},          {"NotEqual", BinOp::kNe},
    {"Less", BinOp::kLt},           {"LessEqual", BinOp::kLe},
    {"Greater", BinOp::kGt},        {"GreaterEqual", BinOp::kGe},
    {"LogicalAnd", BinOp::kAnd},    {"LogicalOr", BinOp::kOr},
    {"LogicalXor", BinOp::kXor},
};

bool IsCompare(BinOp op) { return op >= BinOp::kEq && op <= BinOp::kGe; }
bool IsLogical(BinOp op) { return op >= BinOp::kAnd; }

template <BinOp Op, typename T>
inline auto ApplyBin(T a, T b, bool kPyDiv) {
  if constexpr (Op == BinOp::kAdd) return T(a + b);
  if constexpr (Op == BinOp::kSub) return T(a - b);
  if constexpr (Op == BinOp::kMul) return T(a * b);
  if constexpr (Op == BinOp::kDiv) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(-static_cast<std::make_unsigned_t<T>>(a));  // no overflow trap
        T q = a / b;
        if (kPyDiv && (a % b != 0) && ((a < 0) != (b < 0))) q = T(q - 1);
        return q;
      } else {
        return T(a / b);
      }
    } else {
      return T(a / b);
    }
  }
  if constexpr (Op == BinOp::kPow) {
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
  if constexpr (Op == BinOp::kMax) return a > b ? a : b;
  if constexpr (Op == BinOp::kMin) return a < b ? a : b;
  if constexpr (Op == BinOp::kSqDiff) return T((a - b) * (a - b));
  if constexpr (Op == BinOp::kFloorMod || Op == BinOp::kMod) {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return T(0);
      if constexpr (std::is_signed_v<T>) {
        if (b == T(-1)) return T(0);
      }
      T r = T(a % b);
      if constexpr (Op == BinOp::kFloorMod && std::is_signed_v<T>) {
        if (r != 0 && ((r < 0) != (b < 0))) r = T(r + b);
      }
      return r;
    } else {
      T r = std::fmod(a, b);
      if constexpr (Op == BinOp::kFloorMod) {
        if (r != 0 && ((r < 0) != (b < 0))) r += b;
      }
      return r;
    }
  }
  if constexpr (Op == BinOp::kEq) return bool(a == b);
  if constexpr (Op == BinOp::kNe) return bool(a != b);
  if constexpr (Op == BinOp::kLt) return bool(a < b);
  if constexpr (Op == BinOp::kLe) return bool(a <= b);
  if constexpr (Op == BinOp::kGt) return bool(a > b);
  if constexpr (Op == BinOp::kGe) return bool(a >= b);
  if constexpr (Op == BinOp::kAnd) return bool(a && b);
  if constexpr (Op == BinOp::kOr) return bool(a || b);
  if constexpr (Op == BinOp::kXor) return bool(bool(a) != bool(b));
}

template <BinOp Op, typename T>
class BinaryKernel : public Kernel {
 public:
  using R = decltype(ApplyBin<Op, T>(T{}, T{}, false));
  BinaryKernel(Broadcaster b, bool pydiv) : b_(std::move(b)), pydiv_(pydiv) {}
  Status Run(const KernelContext& ctx) const override {
    const T* a = ctx.in[0].as<T>();
    const T* bb = ctx.in[1].as<T>();
    R* y = ctx.out[0].as<R>();
    const int64_t inner = b_.inner();
    const int64_t sa = b_.inner_stride(0), sb = b_.inner_stride(1);
    const bool kPyDiv = pydiv_;
    ParallelFor(b_.rows(), inner, [&](int64_t r0, int64_t r1) {
      int64_t off[2];
      for (int64_t r = r0; r < r1; ++r) {
        b_.RowOffsets(r, off);
        const T* pa = a + off[0];
        const T* pb = bb + off[1];
        R* py = y + r * inner;
        if (sa == 1 && sb == 1) {
          for (int64_t i = 0; i < inner; ++i) py[i] = ApplyBin<Op, T>(pa[i], pb[i], kPyDiv);
        } else if (sa == 1 && sb == 0) {
          const T vb = *pb;
          for (int64_t i = 0; i < inner; ++i) py[i] = ApplyBin<Op, T>(pa[i], vb, kPyDiv);
        } else if (sa == 0 && sb == 1) {
          const T va = *pa;
          for (int64_t i = 0; i < inner; ++i) py[i] = ApplyBin<Op, T>(va, pb[i], kPyDiv);
        } else {
          for (int64_t i = 0; i < inner; ++i) {
            py[i] = ApplyBin<Op, T>(pa[i * sa], pb[i * sb], kPyDiv);
          }
        }
      }
    });
    return Status::Ok();
  }

 private:
  Broadcaster b_;
  bool pydiv_;
};

template <typename T>
std::unique_ptr<Kernel> MakeBinaryT(BinOp op, Broadcaster b, bool pydiv) {
  switch (op) {
#define PTQ_B(X) \
  case BinOp::X: \
    return std::make_unique<BinaryKernel<BinOp::X, T>>(std::move(b), pydiv);
    PTQ_B(kAdd);
    PTQ_B(kSub);
    PTQ_B(kMul);
    PTQ_B(kDiv);
    PTQ_B(kPow);
    PTQ_B(kMax);
    PTQ_B(kMin);
    PTQ_B(kSqDiff);
    PTQ_B(kFloorMod);
    PTQ_B(kMod);
    PTQ_B(kEq);
    PTQ_B(kNe);
    PTQ_B(kLt);
    PTQ_B(kLe);
    PTQ_B(kGt);
    PTQ_B(kGe);
    PTQ_B(kAnd);
    PTQ_B(kOr);
    PTQ_B(kXor);
#undef PTQ_B
  }
  return nullptr;
}

// Power with a constant scalar exponent: x*x, sqrt(x), x and 1/x computed directly (what pow()
// rounds to, 1/x within 1 ulp), other exponents through std::pow.
class PowConstKernel : public Kernel {
 public:
  explicit PowConstKernel(double e) : e_(e) {}
  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[0].as<float>();
    float* y = ctx.out[0].as<float>();
    const double e = e_;
    ParallelFor(ctx.out[0].size(), e == 2 || e == 1 ? 1 : 8, [&](int64_t b, int64_t n) {
      if (e == 2) {
        for (int64_t i = b; i < n; ++i) y[i] = x[i] * x[i];
      } else if (e == 1) {
        for (int64_t i = b; i < n; ++i) y[i] = x[i];
      } else if (e == 0.5) {
        for (int64_t i = b; i < n; ++i) y[i] = std::sqrt(x[i]);
      } else if (e == -1) {
        for (int64_t i = b; i < n; ++i) y[i] = 1.f / x[i];
      } else {
        for (int64_t i = b; i < n; ++i) {
          y[i] = static_cast<float>(std::pow(static_cast<double>(x[i]), e));
        }
      }
    });
    return Status::Ok();
  }

 private:
  double e_;
};

// Element types binary arithmetic supports (fewer than DispatchArith to keep the build small).
template <typename F>
bool DispatchBinaryTypes(ElementType t, F&& f) {
  switch (t) {
    case ElementType::kF32:
      f(float{});
      return true;
    case ElementType::kF64:
      f(double{});
      return true;
    case ElementType::kI32:
      f(int32_t{});
      return true;
    case ElementType::kI64:
      f(int64_t{});
      return true;
    case ElementType::kU8:
      f(uint8_t{});
      return true;
    case ElementType::kI8:
      f(int8_t{});
      return true;
    default:
      return false;
  }
}

// Checks numpy broadcast (auto_broadcast numpy, or none with equal shapes).
Result<Broadcaster> BroadcastInputs(const KernelInit& init, const std::vector<size_t>& idx,
                                    graph::Shape* out) {
  std::vector<graph::Shape> shapes;
  for (size_t i : idx) shapes.push_back(init.inputs[i].shape);
  PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("auto_broadcast", "numpy"));
  if (mode == "none") {
    for (const auto& s : shapes) {
      if (s != shapes[0]) return init.Error("auto_broadcast=none but input shapes differ");
    }
  } else if (mode != "numpy") {
    return init.Error("auto_broadcast '" + mode + "' is not supported (only numpy, none)");
  }
  Result<Broadcaster> b = Broadcaster::Make(shapes, out);
  if (!b.ok()) return init.Error(b.status().message());
  return b;
}

// ---------------------------------------------------------------- Select

template <typename T>
class SelectKernel : public Kernel {
 public:
  explicit SelectKernel(Broadcaster b) : b_(std::move(b)) {}
  Status Run(const KernelContext& ctx) const override {
    const uint8_t* c = ctx.in[0].as<uint8_t>();
    const T* t = ctx.in[1].as<T>();
    const T* f = ctx.in[2].as<T>();
    T* y = ctx.out[0].as<T>();
    const int64_t inner = b_.inner();
    const int64_t s0 = b_.inner_stride(0), s1 = b_.inner_stride(1), s2 = b_.inner_stride(2);
    int64_t off[3];
    for (int64_t r = 0; r < b_.rows(); ++r) {
      b_.RowOffsets(r, off);
      T* py = y + r * inner;
      for (int64_t i = 0; i < inner; ++i) {
        py[i] = c[off[0] + i * s0] ? t[off[1] + i * s1] : f[off[2] + i * s2];
      }
    }
    return Status::Ok();
  }

 private:
  Broadcaster b_;
};

// ---------------------------------------------------------------- Convert

template <typename T>
inline double LoadD(const void* p, int64_t i) {
  if constexpr (std::is_same_v<T, F16>) {
    return graph::HalfToFloat(static_cast<const uint16_t*>(p)[i]);
  } else if constexpr (std::is_same_v<T, BF16>) {
    return graph::Bf16ToFloat(static_cast<const uint16_t*>(p)[i]);
  } else {
    return static_cast<double>(static_cast<const T*>(p)[i]);
  }
}

template <typename T>
inline void StoreD(void* p, int64_t i, double v) {
  if constexpr (std::is_same_v<T, F16>) {
    static_cast<uint16_t*>(p)[i] = graph::FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<T, BF16>) {
    float f = static_cast<float>(v);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u += 0x7fff + ((u >> 16) & 1);  // round to nearest even
    static_cast<uint16_t*>(p)[i] = static_cast<uint16_t>(u >> 16);
  } else if constexpr (std::is_same_v<T, bool>) {
    static_cast<T*>(p)[i] = v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    // Truncate toward zero, saturate to the destination range (NaN -> 0).
    if (std::isnan(v)) v = 0;
    double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    double hi = static_cast<double>(std::numeric_limits<T>::max());
    v = std::trunc(v);
    T out;
    if (v <= lo) {
      out = std::numeric_limits<T>::lowest();
    } else if (v >= hi) {
      out = std::numeric_limits<T>::max();
    } else {
      out = static_cast<T>(v);
    }
    static_cast<T*>(p)[i] = out;
  } else {
    static_cast<T*>(p)[i] = static_cast<T>(v);
  }
}

template <typename S, typename D>
void ConvertLoop(const void* src, void* dst, int64_t n) {
  if constexpr (std::is_integral_v<S> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    // Integer -> integer keeps 64-bit precision (wraps like a C cast).
    const S* s = static_cast<const S*>(src);
    D* d = static_cast<D*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<D>(s[i]);
  } else if constexpr (std::is_same_v<S, float> && std::is_same_v<D, float>) {
    std::memcpy(dst, src, n * sizeof(float));
  } else {
    ParallelFor(n, 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) StoreD<D>(dst, i, LoadD<S>(src, i));
    });
  }
}

class ConvertKernel : public Kernel {
 public:
  ConvertKernel(ElementType from, ElementType to) : from_(from), to_(to) {}
  Status Run(const KernelContext& ctx) const override {
    const void* src = ctx.in[0].data;
    void* dst = ctx.out[0].data;
    const int64_t n = ctx.out[0].size();
    if (from_ == ElementType::kI4 || from_ == ElementType::kU4 || from_ == ElementType::kU1) {
      const uint8_t* s = static_cast<const uint8_t*>(src);
      DispatchAll(to_, [&](auto d) {
        using D = decltype(d);
        for (int64_t i = 0; i < n; ++i) {
          int v;
          if (from_ == ElementType::kU1) {
            v = (s[i / 8] >> (7 - i % 8)) & 1;
          } else {
            v = (s[i / 2] >> ((i % 2) * 4)) & 0xF;  // low nibble first
            if (from_ == ElementType::kI4 && v >= 8) v -= 16;
          }
          StoreD<D>(dst, i, v);
        }
      });
      return Status::Ok();
    }
    DispatchAll(from_, [&](auto s) {
      DispatchAll(to_, [&](auto d) { ConvertLoop<decltype(s), decltype(d)>(src, dst, n); });
    });
    return Status::Ok();
  }

 private:
  ElementType from_, to_;
};

bool Convertible(ElementType t) {
  return DispatchAll(t, [](auto) {}) || t == ElementType::kI4 || t == ElementType::kU4 ||
         t == ElementType::kU1;
}

// ---------------------------------------------------------------- FakeQuantize

// y = ol                                    if x <= min(il, ih)
//     oh                                    if x >  max(il, ih)
//     nearbyint((x-il)/(ih-il)*(L-1))/(L-1)*(oh-ol)+ol   otherwise (round half to even)
// (OpenVINO FakeQuantize-1; ../shared/reference/pot-spec.md §1), computed in float as the
// OpenVINO reference kernel does.
inline float FakeQuantizeOne(float v, float lo, float hi, float olo, float ohi, float lm1) {
  if (v <= std::min(lo, hi)) return olo;
  if (v > std::max(lo, hi)) return ohi;
  return std::nearbyint((v - lo) / (hi - lo) * lm1) / lm1 * (ohi - olo) + olo;
}

// A contiguous run of n values with one set of limits: the same operations in the same order as
// FakeQuantizeOne, four lanes at a time (division, not a reciprocal; ROUNDPS in the current
// rounding mode like nearbyint), so the results are bit-identical.
#if defined(__x86_64__) && defined(__GNUC__)
#define PTQFLOW_WIDE_FQ 1
// Wider versions of the same operations for CPUs that have them (chosen at run time).
__attribute__((target("avx2"))) int64_t FakeQuantizeRunAvx2(const float* x, float* y, int64_t n,
                                                            float lo, float hi, float olo,
                                                            float ohi, float lm1) {
  const __m256 vmin = _mm256_set1_ps(std::min(lo, hi)), vmax = _mm256_set1_ps(std::max(lo, hi));
  const __m256 vlo = _mm256_set1_ps(lo), vrange = _mm256_set1_ps(hi - lo);
  const __m256 vl = _mm256_set1_ps(lm1), volo = _mm256_set1_ps(olo);
  const __m256 vohi = _mm256_set1_ps(ohi), vorange = _mm256_set1_ps(ohi - olo);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 q =
        _mm256_round_ps(_mm256_mul_ps(_mm256_div_ps(_mm256_sub_ps(v, vlo), vrange), vl),
                        _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
    __m256 out = _mm256_add_ps(_mm256_mul_ps(_mm256_div_ps(q, vl), vorange), volo);
    out = _mm256_blendv_ps(out, vohi, _mm256_cmp_ps(v, vmax, _CMP_GT_OQ));
    out = _mm256_blendv_ps(out, volo, _mm256_cmp_ps(v, vmin, _CMP_LE_OQ));
    _mm256_storeu_ps(y + i, out);
  }
  return i;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on AVX-512 intrinsics
__attribute__((target("avx512f"))) int64_t FakeQuantizeRunAvx512(const float* x, float* y,
                                                                 int64_t n, float lo, float hi,
                                                                 float olo, float ohi, float lm1) {
  const __m512 vmin = _mm512_set1_ps(std::min(lo, hi)), vmax = _mm512_set1_ps(std::max(lo, hi));
  const __m512 vlo = _mm512_set1_ps(lo), vrange = _mm512_set1_ps(hi - lo);
  const __m512 vl = _mm512_set1_ps(lm1), volo = _mm512_set1_ps(olo);
  const __m512 vohi = _mm512_set1_ps(ohi), vorange = _mm512_set1_ps(ohi - olo);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512 q =
        _mm512_roundscale_ps(_mm512_mul_ps(_mm512_div_ps(_mm512_sub_ps(v, vlo), vrange), vl),
                             _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
    __m512 out = _mm512_add_ps(_mm512_mul_ps(_mm512_div_ps(q, vl), vorange), volo);
    out = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, vmax, _CMP_GT_OQ), out, vohi);
    out = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, vmin, _CMP_LE_OQ), out, volo);
    _mm512_storeu_ps(y + i, out);
  }
  return i;
}
#pragma GCC diagnostic pop

int BestFakeQuantizeIsa() {
  return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
}
std::atomic<int> g_fq_isa{BestFakeQuantizeIsa()};
int FakeQuantizeIsa() { return g_fq_isa.load(std::memory_order_relaxed); }
#endif

void FakeQuantizeRun(const float* x, float* y, int64_t n, float lo, float hi, float olo, float ohi,
                     float lm1) {
  int64_t i = 0;
#if defined(PTQFLOW_WIDE_FQ)
  switch (FakeQuantizeIsa()) {
    case 2:
      i = FakeQuantizeRunAvx512(x, y, n, lo, hi, olo, ohi, lm1);
      break;
    case 1:
      i = FakeQuantizeRunAvx2(x, y, n, lo, hi, olo, ohi, lm1);
      break;
    default:
      break;
  }
#endif
#if defined(__SSE4_1__)
  x += i;
  y += i;
  n -= i;
  i = 0;
  const __m128 vmin = _mm_set1_ps(std::min(lo, hi)), vmax = _mm_set1_ps(std::max(lo, hi));
  const __m128 vlo = _mm_set1_ps(lo), vrange = _mm_set1_ps(hi - lo), vl = _mm_set1_ps(lm1);
  const __m128 volo = _mm_set1_ps(olo), vohi = _mm_set1_ps(ohi), vorange = _mm_set1_ps(ohi - olo);
  for (; i + 4 <= n; i += 4) {
    const __m128 v = _mm_loadu_ps(x + i);
    const __m128 q = _mm_round_ps(_mm_mul_ps(_mm_div_ps(_mm_sub_ps(v, vlo), vrange), vl),
                                  _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
    __m128 out = _mm_add_ps(_mm_mul_ps(_mm_div_ps(q, vl), vorange), volo);
    out = _mm_blendv_ps(out, vohi, _mm_cmpgt_ps(v, vmax));
    out = _mm_blendv_ps(out, volo, _mm_cmple_ps(v, vmin));
    _mm_storeu_ps(y + i, out);
  }
#endif
  for (; i < n; ++i) y[i] = FakeQuantizeOne(x[i], lo, hi, olo, ohi, lm1);
}

// A contiguous run whose limits are contiguous too (one set per element, e.g. per-channel limits
// on a [N, C] value): the same operations as FakeQuantizeOne, four lanes at a time.
void FakeQuantizeRunPerElement(const float* x, float* y, int64_t n, const float* lo,
                               const float* hi, const float* olo, const float* ohi, float lm1) {
  int64_t i = 0;
#if defined(__SSE4_1__)
  const __m128 vl = _mm_set1_ps(lm1);
  for (; i + 4 <= n; i += 4) {
    const __m128 v = _mm_loadu_ps(x + i);
    const __m128 l = _mm_loadu_ps(lo + i), h = _mm_loadu_ps(hi + i);
    const __m128 ol = _mm_loadu_ps(olo + i), oh = _mm_loadu_ps(ohi + i);
    const __m128 q = _mm_round_ps(_mm_mul_ps(_mm_div_ps(_mm_sub_ps(v, l), _mm_sub_ps(h, l)), vl),
                                  _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
    __m128 out = _mm_add_ps(_mm_mul_ps(_mm_div_ps(q, vl), _mm_sub_ps(oh, ol)), ol);
    // std::min(l, h) is (h < l ? h : l) and std::max(l, h) is (l < h ? h : l), also for NaN.
    const __m128 mn = _mm_blendv_ps(l, h, _mm_cmplt_ps(h, l));
    const __m128 mx = _mm_blendv_ps(l, h, _mm_cmplt_ps(l, h));
    out = _mm_blendv_ps(out, oh, _mm_cmpgt_ps(v, mx));
    out = _mm_blendv_ps(out, ol, _mm_cmple_ps(v, mn));
    _mm_storeu_ps(y + i, out);
  }
#endif
  for (; i < n; ++i) y[i] = FakeQuantizeOne(x[i], lo[i], hi[i], olo[i], ohi[i], lm1);
}

class FakeQuantizeKernel : public Kernel {
 public:
  FakeQuantizeKernel(Broadcaster b, int64_t levels) : b_(std::move(b)), levels_(levels) {}
  Status Run(const KernelContext& ctx) const override {
    const float* x = ctx.in[0].as<float>();
    const float* il = ctx.in[1].as<float>();
    const float* ih = ctx.in[2].as<float>();
    const float* ol = ctx.in[3].as<float>();
    const float* oh = ctx.in[4].as<float>();
    float* y = ctx.out[0].as<float>();
    const int64_t inner = b_.inner();
    int64_t s[5];
    for (int k = 0; k < 5; ++k) s[k] = b_.inner_stride(k);
    const float lm1 = static_cast<float>(levels_ - 1);
    if (s[0] == 1 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0) {
      // The usual case: limits per tensor, or per channel outside the inner dimension.
      ParallelFor(b_.rows(), inner * 4, [&](int64_t r0, int64_t r1) {
        int64_t off[5];
        for (int64_t r = r0; r < r1; ++r) {
          b_.RowOffsets(r, off);
          FakeQuantizeRun(x + off[0], y + r * inner, inner, il[off[1]], ih[off[2]], ol[off[3]],
                          oh[off[4]], lm1);
        }
      });
      return Status::Ok();
    }
    if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1 && s[4] == 1) {
      ParallelFor(b_.rows(), inner * 4, [&](int64_t r0, int64_t r1) {
        int64_t off[5];
        for (int64_t r = r0; r < r1; ++r) {
          b_.RowOffsets(r, off);
          FakeQuantizeRunPerElement(x + off[0], y + r * inner, inner, il + off[1], ih + off[2],
                                    ol + off[3], oh + off[4], lm1);
        }
      });
      return Status::Ok();
    }
    ParallelFor(b_.rows(), inner * 4, [&](int64_t r0, int64_t r1) {
      int64_t off[5];
      for (int64_t r = r0; r < r1; ++r) {
        b_.RowOffsets(r, off);
        float* py = y + r * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const float v = x[off[0] + i * s[0]];
          const float lo = il[off[1] + i * s[1]], hi = ih[off[2] + i * s[2]];
          const float olo = ol[off[3] + i * s[3]], ohi = oh[off[4] + i * s[4]];
          py[i] = FakeQuantizeOne(v, lo, hi, olo, ohi, lm1);
        }
      }
    });
    return Status::Ok();
  }

 private:
  Broadcaster b_;
  int64_t levels_;
};

// ---------------------------------------------------------------- PRelu etc.

template <typename T>
class PReluKernel : public Kernel {
 public:
  explicit PReluKernel(Broadcaster b) : b_(std::move(b)) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    const T* sl = ctx.in[1].as<T>();
    T* y = ctx.out[0].as<T>();
    const int64_t inner = b_.inner();
    const int64_t sx = b_.inner_stride(0), ss = b_.inner_stride(1);
    ParallelFor(b_.rows(), inner, [&](int64_t r0, int64_t r1) {
      int64_t off[2];
      for (int64_t r = r0; r < r1; ++r) {
        b_.RowOffsets(r, off);
        T* __restrict py = y + r * inner;
        const T* __restrict px = x + off[0];
        if (sx == 1 && ss == 0) {  // one slope per row (scalar or per channel)
          const T s = sl[off[1]];
          for (int64_t i = 0; i < inner; ++i) py[i] = px[i] < T(0) ? px[i] * s : px[i];
        } else if (sx == 1 && ss == 1) {
          const T* __restrict ps = sl + off[1];
          for (int64_t i = 0; i < inner; ++i) py[i] = px[i] < T(0) ? px[i] * ps[i] : px[i];
        } else {
          for (int64_t i = 0; i < inner; ++i) {
            T v = px[i * sx];
            py[i] = v < T(0) ? v * sl[off[1] + i * ss] : v;
          }
        }
      }
    });
    return Status::Ok();
  }

 private:
  Broadcaster b_;
};

// HardSigmoid y = max(0, min(1, alpha*x + beta)); Swish y = x*sigmoid(beta*x);
// Selu y = lambda * (x > 0 ? x : alpha*(e^x - 1)). Scalar parameters are constants.
enum class ParamOp { kHardSigmoid, kSwish, kSelu };

template <typename T>
class ParamUnaryKernel : public Kernel {
 public:
  ParamUnaryKernel(ParamOp op, T a, T b) : op_(op), a_(a), b_(b) {}
  Status Run(const KernelContext& ctx) const override {
    const T* x = ctx.in[0].as<T>();
    T* y = ctx.out[0].as<T>();
    const T a = a_, b = b_;
    const ParamOp op = op_;
    ParallelFor(ctx.out[0].size(), 8, [&](int64_t i0, int64_t i1) {
      if (op == ParamOp::kHardSigmoid) {
        for (int64_t i = i0; i < i1; ++i) y[i] = std::max(T(0), std::min(T(1), a * x[i] + b));
      } else if (op == ParamOp::kSwish) {
        for (int64_t i = i0; i < i1; ++i) y[i] = x[i] / (T(1) + std::exp(-a * x[i]));
      } else {
        for (int64_t i = i0; i < i1; ++i) {
          y[i] = b * (x[i] > T(0) ? x[i] : a * (std::exp(x[i]) - T(1)));
        }
      }
    });
    return Status::Ok();
  }

 private:
  ParamOp op_;
  T a_, b_;
};

Result<double> ConstScalar(const KernelInit& init, size_t i) {
  if (i >= init.inputs.size() || !init.inputs[i].constant) {
    return init.Error("input " + std::to_string(i) + " must be a constant scalar");
  }
  if (init.inputs[i].constant->size() != 1) {
    return init.Error("input " + std::to_string(i) + " must hold one value, has shape " +
                      graph::ShapeToString(init.inputs[i].shape));
  }
  return init.inputs[i].constant->ToDoubles()[0];
}

Status UnsupportedType(const KernelInit& init, ElementType t) {
  return init.Error("element type " + TypeName(t) + " is not supported by this kernel");
}

}  // namespace

Result<std::unique_ptr<Kernel>> MakeUnary(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
  const std::string& type = init.node.type;
  UnaryOp op{};
  bool found = false;
  for (const UnaryName& u : kUnary) {
    if (type == u.name) {
      op = u.op;
      found = true;
    }
  }
  CHECK(found) << type;
  double p0 = 0, p1 = 0;
  if (op == UnaryOp::kClamp) {
    PTQ_ASSIGN_OR_RETURN(p0, init.node.attrs.GetFloat("min"));
    PTQ_ASSIGN_OR_RETURN(p1, init.node.attrs.GetFloat("max"));
  } else if (op == UnaryOp::kElu) {
    PTQ_ASSIGN_OR_RETURN(p0, init.node.attrs.GetFloat("alpha"));
  } else if (op == UnaryOp::kGeluErf) {
    PTQ_ASSIGN_OR_RETURN(std::string mode, init.node.attrs.GetString("approximation_mode", "ERF"));
    for (char& c : mode) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (mode == "TANH") {
      op = UnaryOp::kGeluTanh;
    } else if (mode != "ERF") {
      return init.Error("unknown approximation_mode '" + mode + "'");
    }
  }
  const ValueInfo& in = init.inputs[0];
  outs->push_back({in.type, in.shape, nullptr});
  std::unique_ptr<Kernel> k;
  if (op == UnaryOp::kLogicalNot) {
    if (in.type != ElementType::kBoolean) return UnsupportedType(init, in.type);
    return std::unique_ptr<Kernel>(std::make_unique<IntUnaryKernel<uint8_t>>(op));
  }
  if (DispatchFloat(in.type, [&](auto t) { k = MakeUnaryT<decltype(t)>(op, p0, p1); })) {
    return k;
  }
  const bool int_ok = op == UnaryOp::kAbs || op == UnaryOp::kNegative || op == UnaryOp::kSign ||
                      op == UnaryOp::kRelu || op == UnaryOp::kClamp || op == UnaryOp::kCeiling ||
                      op == UnaryOp::kFloor;
  if (int_ok && graph::IsInteger(in.type)) {
    DispatchArith(in.type,
                  [&](auto t) { k = std::make_unique<IntUnaryKernel<decltype(t)>>(op, p0, p1); });
    return k;
  }
  return UnsupportedType(init, in.type);
}

Result<std::unique_ptr<Kernel>> MakeBinary(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  BinOp op{};
  bool found = false;
  for (const BinName& b : kBinary) {
    if (init.node.type == b.name) {
      op = b.op;
      found = true;
    }
  }
  CHECK(found) << init.node.type;
  const ElementType t = init.inputs[0].type;
  if (init.inputs[1].type != t) {
    return init.Error("input element types differ: " + TypeName(t) + " and " +
                      TypeName(init.inputs[1].type));
  }
  graph::Shape out;
  PTQ_ASSIGN_OR_RETURN(Broadcaster b, BroadcastInputs(init, {0, 1}, &out));
  const ElementType out_type = (IsCompare(op) || IsLogical(op)) ? ElementType::kBoolean : t;
  outs->push_back({out_type, out, nullptr});
  if (IsLogical(op)) {
    if (t != ElementType::kBoolean) return UnsupportedType(init, t);
    return MakeBinaryT<uint8_t>(op, std::move(b), false);
  }
  if (op == BinOp::kPow && t == ElementType::kF32 && init.inputs[1].constant &&
      init.inputs[1].constant->size() == 1 && out == init.inputs[0].shape) {
    return std::unique_ptr<Kernel>(
        std::make_unique<PowConstKernel>(init.inputs[1].constant->ToDoubles()[0]));
  }
  PTQ_ASSIGN_OR_RETURN(bool pydiv, init.node.attrs.GetBool("m_pythondiv", true));
  std::unique_ptr<Kernel> k;
  bool ok = DispatchBinaryTypes(
      t, [&](auto v) { k = MakeBinaryT<decltype(v)>(op, std::move(b), pydiv); });
  if (!ok && t == ElementType::kBoolean && (op == BinOp::kEq || op == BinOp::kNe)) {
    return MakeBinaryT<uint8_t>(op, std::move(b), false);
  }
  if (!ok) return UnsupportedType(init, t);
  return k;
}

Result<std::unique_ptr<Kernel>> MakeSelect(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 3));
  if (init.inputs[0].type != ElementType::kBoolean) {
    return init.Error("condition must be boolean, is " + TypeName(init.inputs[0].type));
  }
  const ElementType t = init.inputs[1].type;
  if (init.inputs[2].type != t) return init.Error("then/else element types differ");
  graph::Shape out;
  PTQ_ASSIGN_OR_RETURN(Broadcaster b, BroadcastInputs(init, {0, 1, 2}, &out));
  outs->push_back({t, out, nullptr});
  std::unique_ptr<Kernel> k;
  if (!DispatchBySize(
          t, [&](auto v) { k = std::make_unique<SelectKernel<decltype(v)>>(std::move(b)); })) {
    return UnsupportedType(init, t);
  }
  return k;
}

Result<std::unique_ptr<Kernel>> MakeConvert(const KernelInit& init, std::vector<ValueInfo>* outs) {
  ElementType to;
  if (init.node.type == "ConvertLike") {
    PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
    to = init.inputs[1].type;
  } else {
    PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 1));
    PTQ_ASSIGN_OR_RETURN(std::string name, init.node.attrs.GetString("destination_type"));
    Result<ElementType> parsed = graph::ParseElementType(name);
    if (!parsed.ok()) return init.Error(parsed.status().message());
    to = *parsed;
  }
  const ElementType from = init.inputs[0].type;
  if (!Convertible(from) || !DispatchAll(to, [](auto) {})) {
    return init.Error("conversion from " + TypeName(from) + " to " + TypeName(to) +
                      " is not supported");
  }
  outs->push_back({to, init.inputs[0].shape, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<ConvertKernel>(from, to));
}

Result<std::unique_ptr<Kernel>> MakeFakeQuantize(const KernelInit& init,
                                                 std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(5, 5));
  for (const ValueInfo& v : init.inputs) {
    if (v.type != ElementType::kF32) return UnsupportedType(init, v.type);
  }
  PTQ_ASSIGN_OR_RETURN(int64_t levels, init.node.attrs.GetInt("levels"));
  if (levels < 2) return init.Error("levels must be >= 2, is " + std::to_string(levels));
  graph::Shape out;
  PTQ_ASSIGN_OR_RETURN(Broadcaster b, BroadcastInputs(init, {0, 1, 2, 3, 4}, &out));
  if (out != init.inputs[0].shape) {
    return init.Error("range inputs must broadcast to the data shape " +
                      graph::ShapeToString(init.inputs[0].shape));
  }
  outs->push_back({ElementType::kF32, out, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<FakeQuantizeKernel>(std::move(b), levels));
}

Result<std::unique_ptr<Kernel>> MakePRelu(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(2, 2));
  const ValueInfo& x = init.inputs[0];
  graph::Shape slope = init.inputs[1].shape;
  if (init.inputs[1].type != x.type) return init.Error("slope element type differs from data");
  // A 1-D slope matching the channel dimension (axis 1) applies per channel.
  if (slope.size() == 1 && x.shape.size() >= 2 && slope[0] == x.shape[1] && slope[0] != 1) {
    graph::Shape s(x.shape.size() - 1, 1);
    s[0] = slope[0];
    slope = s;
  }
  graph::Shape out;
  Result<Broadcaster> b = Broadcaster::Make({x.shape, slope}, &out);
  if (!b.ok()) return init.Error(b.status().message());
  if (out != x.shape) return init.Error("slope does not broadcast to the data shape");
  outs->push_back({x.type, out, nullptr});
  std::unique_ptr<Kernel> k;
  if (!DispatchFloat(
          x.type, [&](auto t) { k = std::make_unique<PReluKernel<decltype(t)>>(std::move(*b)); })) {
    return UnsupportedType(init, x.type);
  }
  return k;
}

namespace {
Result<std::unique_ptr<Kernel>> MakeParam(const KernelInit& init, std::vector<ValueInfo>* outs,
                                          ParamOp op, double a, double b) {
  const ValueInfo& x = init.inputs[0];
  outs->push_back({x.type, x.shape, nullptr});
  std::unique_ptr<Kernel> k;
  if (!DispatchFloat(x.type, [&](auto t) {
        using T = decltype(t);
        k = std::make_unique<ParamUnaryKernel<T>>(op, static_cast<T>(a), static_cast<T>(b));
      })) {
    return UnsupportedType(init, x.type);
  }
  return k;
}
}  // namespace

Result<std::unique_ptr<Kernel>> MakeHardSigmoid(const KernelInit& init,
                                                std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 3));
  PTQ_ASSIGN_OR_RETURN(double alpha, ConstScalar(init, 1));
  PTQ_ASSIGN_OR_RETURN(double beta, ConstScalar(init, 2));
  return MakeParam(init, outs, ParamOp::kHardSigmoid, alpha, beta);
}

Result<std::unique_ptr<Kernel>> MakeSwish(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(1, 2));
  double beta = 1.0;
  if (init.inputs.size() == 2) {
    PTQ_ASSIGN_OR_RETURN(beta, ConstScalar(init, 1));
  }
  return MakeParam(init, outs, ParamOp::kSwish, beta, 0);
}

Result<std::unique_ptr<Kernel>> MakeSelu(const KernelInit& init, std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(3, 3));
  PTQ_ASSIGN_OR_RETURN(double alpha, ConstScalar(init, 1));
  PTQ_ASSIGN_OR_RETURN(double lambda, ConstScalar(init, 2));
  return MakeParam(init, outs, ParamOp::kSelu, alpha, lambda);
}

namespace internal {
int UseFakeQuantizeKernels(int isa) {
#if defined(PTQFLOW_WIDE_FQ)
  return g_fq_isa.exchange(std::clamp(isa, 0, BestFakeQuantizeIsa()));
#else
  (void)isa;
  return 0;
#endif
}
}  // namespace internal

}  // namespace ptqflow::exec::kernels

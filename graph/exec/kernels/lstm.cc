// LSTMSequence (opset5): X [B,T,I], H0/C0 [B,D,H], seq_lengths [B], W [D,4H,I], R [D,4H,H],
// B [D,4H]; gate order f, i, c, o (OpenVINO). Outputs Y [B,D,T,H], Ho/Co [B,D,H].
//   g = X_t W^T + H R^T + B; f,i,o = sigmoid; c~ = tanh; C = f*C + i*c~; H = o*tanh(C).
// Steps at t >= seq_length[b] leave the state unchanged and write zeros to Y.
#include <cmath>
#include <vector>

#include "graph/exec/kernels/kernels.h"

namespace ptqflow::exec::kernels {
namespace {

using graph::ElementType;

class LstmKernel : public Kernel {
 public:
  LstmKernel(int64_t b, int64_t t, int64_t in, int64_t h, int64_t dirs, bool reverse, float clip)
      : B_(b), T_(t), I_(in), H_(h), D_(dirs), reverse_(reverse), clip_(clip) {}
  size_t scratch_bytes() const override { return (4 * H_ + 2 * H_) * sizeof(float); }
  Status Run(const KernelContext& ctx) const override {
    const float* X = ctx.in[0].as<float>();
    const float* H0 = ctx.in[1].as<float>();
    const float* C0 = ctx.in[2].as<float>();
    const TensorView& lv = ctx.in[3];
    const float* W = ctx.in[4].as<float>();
    const float* R = ctx.in[5].as<float>();
    const float* Bi = ctx.in[6].as<float>();
    float* Y = ctx.out[0].as<float>();
    float* Ho = ctx.out[1].as<float>();
    float* Co = ctx.out[2].as<float>();
    float* g = static_cast<float*>(ctx.scratch);
    float* hprev = g + 4 * H_;
    float* c = hprev + H_;
    const int64_t H = H_;
    auto sig = [](float v) { return 1.f / (1.f + std::exp(-v)); };
    for (int64_t d = 0; d < D_; ++d) {
      const bool rev = reverse_ || d == 1;
      const float* w = W + d * 4 * H * I_;
      const float* r = R + d * 4 * H * H;
      const float* bias = Bi + d * 4 * H;
      for (int64_t b = 0; b < B_; ++b) {
        int64_t len = T_;
        if (lv.type == ElementType::kI64)
          len = lv.as<int64_t>()[b];
        else if (lv.type == ElementType::kI32)
          len = lv.as<int32_t>()[b];
        else if (lv.type == ElementType::kF32)
          len = static_cast<int64_t>(lv.as<float>()[b]);
        len = std::clamp<int64_t>(len, 0, T_);
        for (int64_t k = 0; k < H; ++k) {
          hprev[k] = H0[(b * D_ + d) * H + k];
          c[k] = C0[(b * D_ + d) * H + k];
        }
        for (int64_t s = 0; s < T_; ++s) {
          float* y = Y + ((b * D_ + d) * T_ + (rev ? T_ - 1 - s : s)) * H;
          if (s >= len) {
            for (int64_t k = 0; k < H; ++k) y[k] = 0;
            continue;
          }
          const int64_t t = rev ? len - 1 - s : s;
          y = Y + ((b * D_ + d) * T_ + t) * H;
          const float* x = X + (b * T_ + t) * I_;
          for (int64_t j = 0; j < 4 * H; ++j) {
            float acc = bias[j];
            const float* wj = w + j * I_;
            for (int64_t i = 0; i < I_; ++i) acc += wj[i] * x[i];
            const float* rj = r + j * H;
            for (int64_t i = 0; i < H; ++i) acc += rj[i] * hprev[i];
            if (clip_ > 0) acc = std::clamp(acc, -clip_, clip_);
            g[j] = acc;
          }
          for (int64_t k = 0; k < H; ++k) {
            const float f = sig(g[k]), in = sig(g[H + k]), cc = std::tanh(g[2 * H + k]),
                        o = sig(g[3 * H + k]);
            c[k] = f * c[k] + in * cc;
            hprev[k] = o * std::tanh(c[k]);
            y[k] = hprev[k];
          }
        }
        for (int64_t k = 0; k < H; ++k) {
          Ho[(b * D_ + d) * H + k] = hprev[k];
          Co[(b * D_ + d) * H + k] = c[k];
        }
      }
    }
    return Status::Ok();
  }

 private:
  int64_t B_, T_, I_, H_, D_;
  bool reverse_;
  float clip_;
};

}  // namespace

Result<std::unique_ptr<Kernel>> MakeLstmSequence(const KernelInit& init,
                                                 std::vector<ValueInfo>* outs) {
  PTQ_RETURN_IF_ERROR(init.ExpectInputs(7, 7));
  for (size_t i : {0, 1, 2, 4, 5, 6}) {
    if (init.inputs[i].type != ElementType::kF32) return init.Error("only f32 is supported");
  }
  const auto& a = init.node.attrs;
  PTQ_ASSIGN_OR_RETURN(int64_t h, a.GetInt("hidden_size"));
  PTQ_ASSIGN_OR_RETURN(std::string dir, a.GetString("direction", "forward"));
  PTQ_ASSIGN_OR_RETURN(double clip, a.GetFloat("clip", 0.0));
  PTQ_ASSIGN_OR_RETURN(std::string acts, a.GetString("activations", "sigmoid,tanh,tanh"));
  if (acts != "sigmoid,tanh,tanh") return init.Error("only sigmoid,tanh,tanh activations");
  const graph::Shape& xs = init.inputs[0].shape;
  if (xs.size() != 3) return init.Error("X must be [batch, seq, input]");
  const int64_t d = dir == "bidirectional" ? 2 : 1;
  const graph::Shape ws = {d, 4 * h, xs[2]}, rs = {d, 4 * h, h}, bs = {d, 4 * h},
                     hs = {xs[0], d, h};
  if (init.inputs[4].shape != ws || init.inputs[5].shape != rs || init.inputs[6].shape != bs ||
      init.inputs[1].shape != hs || init.inputs[2].shape != hs) {
    return init.Error("W/R/B/initial state shapes do not match hidden_size " + std::to_string(h));
  }
  outs->push_back({ElementType::kF32, {xs[0], d, xs[1], h}, nullptr});
  outs->push_back({ElementType::kF32, hs, nullptr});
  outs->push_back({ElementType::kF32, hs, nullptr});
  return std::unique_ptr<Kernel>(std::make_unique<LstmKernel>(
      xs[0], xs[1], xs[2], h, d, dir == "reverse", static_cast<float>(clip)));
}

}  // namespace ptqflow::exec::kernels

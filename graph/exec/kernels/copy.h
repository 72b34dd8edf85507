// Strided N-d copy used by the data-movement kernels (Transpose, Slice, Concat, Tile, ...).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "graph/exec/kernel.h"

namespace ptqflow::exec::kernels {

// Copies dims-shaped elements of T: dst[sum i_k*ds_k] = src[sum i_k*ss_k] (strides in
// elements). Parallel over the outer dimension for big copies.
template <typename T>
void CopyStrided(T* dst, const std::vector<int64_t>& ds, const T* src,
                 const std::vector<int64_t>& ss, const std::vector<int64_t>& dims) {
  const size_t r = dims.size();
  if (r == 0) {
    *dst = *src;
    return;
  }
  int64_t total = 1;
  for (int64_t d : dims) total *= d;
  if (total == 0) return;
  const int64_t inner = dims[r - 1];
  const int64_t dsi = ds[r - 1], ssi = ss[r - 1];
  const int64_t rows = total / inner;
  ParallelFor(rows, inner, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t so = 0, dof = 0, rem = row;
      for (int k = static_cast<int>(r) - 2; k >= 0 && rem > 0; --k) {
        int64_t idx = rem % dims[k];
        rem /= dims[k];
        so += idx * ss[k];
        dof += idx * ds[k];
      }
      T* d = dst + dof;
      const T* s = src + so;
      if (dsi == 1 && ssi == 1) {
        std::memcpy(d, s, inner * sizeof(T));
      } else {
        for (int64_t i = 0; i < inner; ++i) d[i * dsi] = s[i * ssi];
      }
    }
  });
}

}  // namespace ptqflow::exec::kernels

// What rounding x to int8 per 32-column block (the dot-product GEMV, INT_DOT in
// matmul_q4_gemv_rows.comp) can cost one output w . x: half a step of each block (its
// largest |x| / 127) times the block's sum of |w|. The tests of that form allow this on
// top of their fp32 tolerance.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "int4_layout.h"

namespace glowq::test {

// x: the K inputs of one token; w_abs(k): |w| of the row's column k.
template <class X, class WAbs> double int8_rounding_bound(const X* x, uint32_t K, const WAbs& w_abs) {
    double bound = 0;
    for (uint32_t k0 = 0; k0 < K; k0 += GQ_BLOCK_COLS) {
        double amax = 0, wsum = 0;
        for (uint32_t k = k0; k < std::min(K, k0 + GQ_BLOCK_COLS); ++k) {
            amax = std::max(amax, double(std::fabs(x[k])));
            wsum += w_abs(k);
        }
        bound += amax / 127.0 * 0.5 * wsum;
    }
    return bound;
}

}  // namespace glowq::test

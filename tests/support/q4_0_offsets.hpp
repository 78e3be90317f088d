// An int4 matrix made symmetric the way llama.cpp's Q4_0 is (every offset -8 times its
// scale), so the device holds it in the scale-only form (int4_layout.h).
#pragma once
#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"

namespace glowq::test {

inline Int4Matrix with_q4_0_offsets(Int4Matrix m) {
    for (uint32_t n = 0; n < m.rows; ++n)
        for (uint32_t j = 0; j < m.groups(); ++j) {
            const uint16_t s = uint16_t(m.scale_offset[size_t(n) * m.groups() + j] & 0xffffu);
            m.set_scale_offset(n, j, s, float_to_half(-float(GQ_SYMMETRIC_ZERO) * half_to_float(s)));
        }
    return m;
}

}  // namespace glowq::test

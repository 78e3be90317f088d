// A host-side int4 matrix in the runtime layout of shaders/include/int4_layout.h, with the
// packing helpers every producer uses: the RTN quantizer (GLOWQ.md section 3), the GGUF
// Q4_0/Q4_1 importers (loader/) and the tests' CPU references.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include "glowq/error.hpp"
#include <string>
#include <vector>

#include "glowq/fp16.hpp"
#include "int4_layout.h"

namespace glowq {

struct Int4Matrix {
    uint32_t rows = 0;        // N: outputs
    uint32_t cols = 0;        // K: inputs
    uint32_t group_size = 0;  // g: 32, 64 or 128
    std::vector<uint32_t> codes;         // rows * row_words()
    std::vector<uint32_t> scale_offset;  // rows * groups(): packHalf2x16(s, m)

    uint32_t row_words() const { return GQ_ROW_WORDS(cols); }
    uint32_t groups() const { return GQ_GROUPS(cols, group_size); }

    static Int4Matrix zeros(uint32_t rows, uint32_t cols, uint32_t group_size) {
        if (group_size != 32 && group_size != 64 && group_size != 128)
            throw Error(ErrorKind::InvalidArgument, "int4 group size must be 32, 64 or 128, got " +
                                        std::to_string(group_size));
        Int4Matrix m;
        m.rows = rows;
        m.cols = cols;
        m.group_size = group_size;
        m.codes.assign(size_t(rows) * m.row_words(), 0u);
        m.scale_offset.assign(size_t(rows) * m.groups(), 0u);
        return m;
    }

    uint32_t code(uint32_t n, uint32_t k) const {
        return (codes[size_t(n) * row_words() + k / 8] >> (4 * (k % 8))) & 0xfu;
    }
    void set_code(uint32_t n, uint32_t k, uint32_t q) {
        uint32_t& w = codes[size_t(n) * row_words() + k / 8];
        const uint32_t shift = 4 * (k % 8);
        w = (w & ~(0xfu << shift)) | ((q & 0xfu) << shift);
    }
    void set_scale_offset(uint32_t n, uint32_t group, uint16_t s_half, uint16_t m_half) {
        scale_offset[size_t(n) * groups() + group] = uint32_t(s_half) | (uint32_t(m_half) << 16);
    }
    float scale(uint32_t n, uint32_t group) const {
        return half_to_float(uint16_t(scale_offset[size_t(n) * groups() + group] & 0xffffu));
    }
    float offset(uint32_t n, uint32_t group) const {
        return half_to_float(uint16_t(scale_offset[size_t(n) * groups() + group] >> 16));
    }
    float weight(uint32_t n, uint32_t k) const {
        const uint32_t j = k / group_size;
        return float(code(n, k)) * scale(n, j) + offset(n, j);
    }
    std::vector<float> dequantize() const {
        if (codes.size() != size_t(rows) * row_words() || scale_offset.size() != size_t(rows) * groups())
            throw Error(ErrorKind::InvalidArgument, "an int4 matrix of " + std::to_string(rows) + "x" +
                                                        std::to_string(cols) + " without its codes (parked on disk?)");
        std::vector<float> w(size_t(rows) * cols);
        for (uint32_t n = 0; n < rows; ++n)
            for (uint32_t k = 0; k < cols; ++k) w[size_t(n) * cols + k] = weight(n, k);
        return w;
    }
    size_t bytes() const { return (codes.size() + scale_offset.size()) * sizeof(uint32_t); }
    // Whether every group's offset is -8 times its scale (llama.cpp's Q4_0): the device then
    // holds the scales alone (int4_layout.h, the scale-only form).
    bool offsets_are_minus_8_scales() const {
        for (uint32_t n = 0; n < rows; ++n)
            for (uint32_t j = 0; j < groups(); ++j)
                if (!(offset(n, j) == -float(GQ_SYMMETRIC_ZERO) * scale(n, j))) return false;
        return rows > 0;
    }
};

// One group's asymmetric grid (GLOWQ.md section 3) from its values' range: the zero point z
// is an integer code and m = -z*s, both rounded to fp16 as stored, so that codes chosen
// against s and z dequantize to what the kernels compute.
struct Int4Grid {
    uint16_t s_half = 0, m_half = 0;
    float s = 0.0f, z = 0.0f;

    static Int4Grid of_range(float mn, float mx) {
        Int4Grid g;
        g.s_half = float_to_half(std::max((mx - mn) / 15.0f, 1e-8f));
        g.s = half_to_float(g.s_half);
        if (g.s == 0.0f) g.s = half_to_float(0x0001);  // 1e-8 underflows fp16: smallest subnormal
        g.s_half = float_to_half(g.s);
        g.z = std::clamp(std::nearbyint(-mn / g.s), 0.0f, 15.0f);
        g.m_half = float_to_half(-g.z * g.s);
        return g;
    }
    uint32_t code(float w) const { return uint32_t(std::clamp(std::nearbyint(w / s) + z, 0.0f, 15.0f)); }
    float dequantize(uint32_t q) const { return float(q) * s + half_to_float(m_half); }
};

// Round-to-nearest asymmetric int4 quantization per row and group (GLOWQ.md section 3).
inline Int4Matrix quantize_rtn(const float* w, uint32_t rows, uint32_t cols, uint32_t group_size) {
    Int4Matrix m = Int4Matrix::zeros(rows, cols, group_size);
    for (uint32_t n = 0; n < rows; ++n) {
        const float* row = w + size_t(n) * cols;
        for (uint32_t j = 0; j < m.groups(); ++j) {
            const uint32_t k0 = j * group_size, k1 = std::min(cols, k0 + group_size);
            float mn = row[k0], mx = row[k0];
            for (uint32_t k = k0; k < k1; ++k) { mn = std::min(mn, row[k]); mx = std::max(mx, row[k]); }
            const Int4Grid g = Int4Grid::of_range(mn, mx);
            m.set_scale_offset(n, j, g.s_half, g.m_half);
            for (uint32_t k = k0; k < k1; ++k) m.set_code(n, k, g.code(row[k]));
        }
    }
    return m;
}

}  // namespace glowq

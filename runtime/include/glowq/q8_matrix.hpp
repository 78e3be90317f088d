// A host-side Q8 matrix in the runtime layout of shaders/include/int4_layout.h (GQ_Q8_*):
// llama.cpp's Q8_0 blocks, reordered into code words and scale words. The output
// projection of many GGUF files is Q8_0; keeping it so reads 8.5 bits per weight per
// token instead of fp16's 16.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "glowq/fp16.hpp"
#include "int4_layout.h"

namespace glowq {

struct Q8Matrix {
    uint32_t rows = 0, cols = 0;
    std::vector<uint32_t> codes;   // rows * row_words()
    std::vector<uint32_t> scales;  // rows * scale_words(): fp16 pairs

    uint32_t row_words() const { return GQ_Q8_ROW_WORDS(cols); }
    uint32_t scale_words() const { return GQ_Q8_SCALE_WORDS(cols); }
    uint32_t blocks() const { return GQ_ROW_BLOCKS(cols); }

    static Q8Matrix zeros(uint32_t rows, uint32_t cols) {
        Q8Matrix m;
        m.rows = rows;
        m.cols = cols;
        m.codes.assign(size_t(rows) * m.row_words(), 0u);
        m.scales.assign(size_t(rows) * m.scale_words(), 0u);
        return m;
    }
    void set_code(uint32_t r, uint32_t k, int8_t q) {
        uint32_t& w = codes[size_t(r) * row_words() + k / 4];
        const uint32_t shift = 8 * (k % 4);
        w = (w & ~(0xFFu << shift)) | (uint32_t(uint8_t(q)) << shift);
    }
    int8_t code(uint32_t r, uint32_t k) const {
        return int8_t(uint8_t(codes[size_t(r) * row_words() + k / 4] >> (8 * (k % 4))));
    }
    void set_scale(uint32_t r, uint32_t b, uint16_t half) {
        uint32_t& w = scales[size_t(r) * scale_words() + b / 2];
        const uint32_t shift = 16 * (b % 2);
        w = (w & ~(0xFFFFu << shift)) | (uint32_t(half) << shift);
    }
    uint16_t scale(uint32_t r, uint32_t b) const {
        return uint16_t(scales[size_t(r) * scale_words() + b / 2] >> (16 * (b % 2)));
    }
    std::vector<float> dequantize() const {
        std::vector<float> w(size_t(rows) * cols);
        for (uint32_t r = 0; r < rows; ++r)
            for (uint32_t k = 0; k < cols; ++k)
                w[size_t(r) * cols + k] = float(code(r, k)) * half_to_float(scale(r, k / 32));
        return w;
    }
};

// Q8_0 as llama.cpp quantizes it (d = max|w| / 127, q = round(w / d)): for tests.
inline Q8Matrix quantize_q8(const float* w, uint32_t rows, uint32_t cols) {
    Q8Matrix m = Q8Matrix::zeros(rows, cols);
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t b = 0; b < m.blocks(); ++b) {
            float amax = 0.0f;
            for (uint32_t k = b * 32; k < std::min(cols, b * 32 + 32); ++k) amax = std::max(amax, std::fabs(w[size_t(r) * cols + k]));
            const float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
            m.set_scale(r, b, float_to_half(d));
            for (uint32_t k = b * 32; k < std::min(cols, b * 32 + 32); ++k)
                m.set_code(r, k, int8_t(std::lround(w[size_t(r) * cols + k] * id)));
        }
    return m;
}

}  // namespace glowq

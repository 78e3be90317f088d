// GGUF Q4_0/Q4_1 blocks -> runtime int4 words. A block's 16 bytes hold element j in the
// low nibble of byte j and element j+16 in the high nibble; the runtime wants elements
// 8w..8w+7 in word w, nibble i at bits 4i. So word 0/1 come from the low nibbles of bytes
// 0..7 / 8..15 and words 2/3 from their high nibbles.
#include <cstring>
#include <limits>

#include "glowq/loader/dequant.hpp"
#include "glowq/loader/int4_import.hpp"

namespace glowq {

namespace {

std::string where(const std::string& file, const GgufTensor& t) {
    return (file.empty() ? std::string() : file + ": ") + "tensor '" + std::string(t.name) + "'";
}

void matrix_shape(const GgufTensor& t, const std::string& file, uint32_t* rows, uint32_t* cols) {
    const uint64_t r = t.rows(), c = t.cols();
    if (c == 0 || r == 0 || r > std::numeric_limits<uint32_t>::max() || c > std::numeric_limits<uint32_t>::max())
        throw LoadError(where(file, t) + " has a shape (" + std::to_string(c) + " x " + std::to_string(r) +
                        ") that is not a loadable matrix");
    *rows = uint32_t(r);
    *cols = uint32_t(c);
}

void pack_block(const uint8_t* qs, uint32_t* words) {
    for (int w = 0; w < 2; ++w) {
        uint32_t lo = 0, hi = 0;
        for (int i = 0; i < 8; ++i) {
            lo |= uint32_t(qs[8 * w + i] & 0x0F) << (4 * i);
            hi |= uint32_t(qs[8 * w + i] >> 4) << (4 * i);
        }
        words[w] = lo;
        words[w + 2] = hi;
    }
}

}  // namespace

Q8Matrix q8_from_gguf(const GgufTensor& t, const std::string& file) {
    if (t.type != GgmlType::Q8_0)
        throw LoadError(where(file, t) + " has type " + ggml_type_name(t.type) + "; a Q8 import needs Q8_0");
    uint32_t rows = 0, cols = 0;
    matrix_shape(t, file, &rows, &cols);
    if (cols % 32)  // the reader checks that whole blocks fill the tensor; a row must too
        throw LoadError(where(file, t) + ": rows of " + std::to_string(cols) + " are not whole Q8_0 blocks");
    Q8Matrix m = Q8Matrix::zeros(rows, cols);
    const uint8_t* b = t.data;  // blocks of 34 bytes: fp16 d, then 32 int8
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t blk = 0; blk < m.blocks(); ++blk, b += 34) {
            uint16_t d;
            std::memcpy(&d, b, 2);
            m.set_scale(r, blk, d);
            std::memcpy(m.codes.data() + size_t(r) * m.row_words() + blk * 8, b + 2, 32);  // little-endian words
        }
    return m;
}

Int4Matrix int4_from_gguf(const GgufTensor& t, const std::string& file) {
    if (t.type != GgmlType::Q4_0 && t.type != GgmlType::Q4_1)
        throw LoadError(where(file, t) + " has type " + ggml_type_name(t.type) +
                        "; only Q4_0 and Q4_1 import into int4 exactly");
    uint32_t rows, cols;
    matrix_shape(t, file, &rows, &cols);
    Int4Matrix m = Int4Matrix::zeros(rows, cols, 32);
    const bool q4_1 = t.type == GgmlType::Q4_1;
    const size_t block_bytes = q4_1 ? 20 : 18;
    const uint32_t blocks = cols / 32;
    const uint8_t* b = t.data;
    for (uint32_t n = 0; n < rows; ++n) {
        uint32_t* row_words = m.codes.data() + size_t(n) * m.row_words();
        for (uint32_t j = 0; j < blocks; ++j, b += block_bytes) {
            uint16_t d, off;
            std::memcpy(&d, b, 2);
            if (q4_1) {
                std::memcpy(&off, b + 2, 2);
            } else {
                // -8d is exact in fp16 (a power-of-two multiple) unless it overflows; with
                // m = -8d, q*d + m equals ggml's (q - 8)*d exactly in fp32.
                const float df = half_to_float(d);
                off = float_to_half(-float(GQ_SYMMETRIC_ZERO) * df);
                if (std::isfinite(df) && !std::isfinite(half_to_float(off)))
                    throw LoadError(where(file, t) + ": Q4_0 scale " + std::to_string(df) + " in row " +
                                    std::to_string(n) + " is too large for an exact fp16 offset");
            }
            m.set_scale_offset(n, j, d, off);
            pack_block(b + (q4_1 ? 4 : 2), row_words + 4 * j);
        }
    }
    return m;
}

ImportedMatrix import_matrix(const GgufTensor& t, NonInt4Policy policy, uint32_t group_size,
                             const std::string& file) {
    ImportedMatrix out;
    matrix_shape(t, file, &out.rows, &out.cols);
    if (t.type == GgmlType::Q4_0 || t.type == GgmlType::Q4_1) {
        out.int4 = int4_from_gguf(t, file);
        out.is_int4 = out.exact = true;
        return out;
    }
    if (policy == NonInt4Policy::KeepFp16 && t.type == GgmlType::F16) {
        out.fp16.resize(size_t(t.n_elements));
        std::memcpy(out.fp16.data(), t.data, size_t(t.n_bytes));
        out.exact = true;
        return out;
    }
    if (!can_dequantize(t.type))
        throw LoadError(where(file, t) + " has type " + ggml_type_name(t.type) + ", which this loader cannot decode");
    const std::vector<float> w = dequantize(t, file);
    if (policy == NonInt4Policy::Requantize) {
        out.int4 = quantize_rtn(w.data(), out.rows, out.cols, group_size);
        out.is_int4 = true;
    } else {
        out.fp16.resize(w.size());
        bool exact = true;
        for (size_t i = 0; i < w.size(); ++i) {
            out.fp16[i] = float_to_half(w[i]);
            exact = exact && half_to_float(out.fp16[i]) == w[i];
        }
        out.exact = exact;
    }
    return out;
}

}  // namespace glowq

// Plain types and ggml's 32-element block quantizations (Q4_0 .. Q8_0), plus the dispatch.
// Each decoder follows ggml's dequantize_row_* reference so results match it exactly:
// the arithmetic order below is part of the contract, not a style choice.
#include <cstring>

#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"

namespace glowq {

namespace {

uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
float load_half(const uint8_t* p) { return half_to_float(load_u16(p)); }

void dq_q4_0(const uint8_t* b, float* y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; ++i, b += 18, y += 32) {
        const float d = load_half(b);
        const uint8_t* qs = b + 2;
        for (int j = 0; j < 16; ++j) {  // low nibbles are elements 0..15, high 16..31
            y[j] = float((qs[j] & 0x0F) - 8) * d;
            y[j + 16] = float((qs[j] >> 4) - 8) * d;
        }
    }
}

void dq_q4_1(const uint8_t* b, float* y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; ++i, b += 20, y += 32) {
        const float d = load_half(b), m = load_half(b + 2);
        const uint8_t* qs = b + 4;
        for (int j = 0; j < 16; ++j) {
            y[j] = float(qs[j] & 0x0F) * d + m;
            y[j + 16] = float(qs[j] >> 4) * d + m;
        }
    }
}

void dq_q5_0(const uint8_t* b, float* y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; ++i, b += 22, y += 32) {
        const float d = load_half(b);
        uint32_t qh;
        std::memcpy(&qh, b + 2, 4);  // bit j: 5th bit of element j
        const uint8_t* qs = b + 6;
        for (int j = 0; j < 16; ++j) {
            const int x0 = int((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
            const int x1 = int((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
            y[j] = float(x0) * d;
            y[j + 16] = float(x1) * d;
        }
    }
}

void dq_q5_1(const uint8_t* b, float* y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; ++i, b += 24, y += 32) {
        const float d = load_half(b), m = load_half(b + 2);
        uint32_t qh;
        std::memcpy(&qh, b + 4, 4);
        const uint8_t* qs = b + 8;
        for (int j = 0; j < 16; ++j) {
            const uint32_t x0 = (qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10);
            const uint32_t x1 = (qs[j] >> 4) | ((qh >> (j + 12)) & 0x10);
            y[j] = float(x0) * d + m;
            y[j + 16] = float(x1) * d + m;
        }
    }
}

void dq_q8_0(const uint8_t* b, float* y, uint64_t nb) {
    for (uint64_t i = 0; i < nb; ++i, b += 34, y += 32) {
        const float d = load_half(b);
        for (int j = 0; j < 32; ++j) y[j] = float(int8_t(b[2 + j])) * d;
    }
}

}  // namespace

bool can_dequantize(GgmlType t) {
    const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(t));
    return tr && tr->can_dequantize;
}

void dequantize_row(GgmlType t, const void* src, float* y, uint64_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(src);
    const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(t));
    if (!tr || !tr->can_dequantize)
        throw LoadError("no fp32 decoder for tensor type " + ggml_type_name(t));
    if (n % tr->block_size != 0)
        throw LoadError("dequantize: " + std::to_string(n) + " elements is not a whole number of " +
                        tr->name + " blocks");
    if (n == 0) return;  // an empty tensor has no buffer: memcpy(nullptr, ...) is undefined
    const uint64_t nb = n / tr->block_size;
    switch (t) {
        case GgmlType::F32: std::memcpy(y, b, n * 4); return;
        case GgmlType::F16:
            for (uint64_t i = 0; i < n; ++i) y[i] = load_half(b + 2 * i);
            return;
        case GgmlType::BF16:  // the top half of an fp32
            for (uint64_t i = 0; i < n; ++i) {
                const uint32_t bits = uint32_t(load_u16(b + 2 * i)) << 16;
                std::memcpy(&y[i], &bits, 4);
            }
            return;
        case GgmlType::F64:
            for (uint64_t i = 0; i < n; ++i) {
                double v;
                std::memcpy(&v, b + 8 * i, 8);
                y[i] = float(v);
            }
            return;
        case GgmlType::I8:
            for (uint64_t i = 0; i < n; ++i) y[i] = float(int8_t(b[i]));
            return;
        case GgmlType::I16:
            for (uint64_t i = 0; i < n; ++i) y[i] = float(int16_t(load_u16(b + 2 * i)));
            return;
        case GgmlType::I32:
            for (uint64_t i = 0; i < n; ++i) {
                int32_t v;
                std::memcpy(&v, b + 4 * i, 4);
                y[i] = float(v);
            }
            return;
        case GgmlType::Q4_0: dq_q4_0(b, y, nb); return;
        case GgmlType::Q4_1: dq_q4_1(b, y, nb); return;
        case GgmlType::Q5_0: dq_q5_0(b, y, nb); return;
        case GgmlType::Q5_1: dq_q5_1(b, y, nb); return;
        case GgmlType::Q8_0: dq_q8_0(b, y, nb); return;
        case GgmlType::Q2_K: detail::dequantize_q2_k(b, y, n); return;
        case GgmlType::Q3_K: detail::dequantize_q3_k(b, y, n); return;
        case GgmlType::Q4_K: detail::dequantize_q4_k(b, y, n); return;
        case GgmlType::Q5_K: detail::dequantize_q5_k(b, y, n); return;
        case GgmlType::Q6_K: detail::dequantize_q6_k(b, y, n); return;
        default: break;
    }
    throw LoadError("no fp32 decoder for tensor type " + ggml_type_name(t));
}

void check_dequantizable(const GgufTensor& t, const std::string& file_name) {
    if (!can_dequantize(t.type))
        throw LoadError((file_name.empty() ? std::string() : file_name + ": ") + "tensor '" +
                        std::string(t.name) + "' has type " + ggml_type_name(t.type) +
                        ", which this loader cannot decode");
}

std::vector<float> dequantize(const GgufTensor& t, const std::string& file_name) {
    check_dequantizable(t, file_name);
    std::vector<float> out(size_t(t.n_elements));
    dequantize_row(t.type, t.data, out.data(), t.n_elements);
    return out;
}

}  // namespace glowq

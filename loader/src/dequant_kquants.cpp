// ggml's K-quantizations: 256-element super-blocks whose 16- or 32-element sub-blocks carry
// small integer scales (and mins) relative to one or two fp16 super-block factors. Each
// decoder mirrors ggml's dequantize_row_*_K reference, including its multiplication order,
// so that results are identical to ggml's.
#include <cstring>

#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"

namespace glowq::detail {

namespace {
constexpr int QK_K = 256;

float load_half(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return half_to_float(v);
}

// Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit mins into 12 bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = uint8_t((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
    }
}

// Sub-block j's scale and min in a Q4_K/Q5_K super-block, multiplied out as ggml does.
void sub_block_factors(int j, const uint8_t* scales, float d, float min, float& dl, float& ml) {
    uint8_t sc, m;
    scale_min_k4(j, scales, &sc, &m);
    dl = d * float(sc);
    ml = min * float(m);
}
}  // namespace

// block_q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin.
void dequantize_q2_k(const uint8_t* b, float* y, uint64_t n) {
    for (uint64_t i = 0; i < n / QK_K; ++i, b += 84) {
        const uint8_t* scales = b;
        const uint8_t* q = b + 16;
        const float d = load_half(b + 80), min = load_half(b + 82);
        int is = 0;
        for (int blk = 0; blk < QK_K; blk += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                uint8_t sc = scales[is++];
                float dl = d * float(sc & 0xF), ml = min * float(sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * float(int8_t((q[l] >> shift) & 3)) - ml;
                sc = scales[is++];
                dl = d * float(sc & 0xF);
                ml = min * float(sc >> 4);
                for (int l = 0; l < 16; ++l) *y++ = dl * float(int8_t((q[l + 16] >> shift) & 3)) - ml;
                shift += 2;
            }
            q += 32;
        }
    }
}

// block_q3_K: hmask[32] (3rd bit), qs[64] (low 2 bits), scales[12] (16 six-bit), d.
void dequantize_q3_k(const uint8_t* b, float* y, uint64_t n) {
    constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    for (uint64_t i = 0; i < n / QK_K; ++i, b += 110) {
        const uint8_t* hm = b;
        const uint8_t* q = b + 32;
        const float d_all = load_half(b + 108);
        uint32_t aux[4];
        std::memcpy(aux, b + 96, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        int8_t scales[16];
        std::memcpy(scales, aux, 16);
        int is = 0;
        uint8_t m = 1;
        for (int blk = 0; blk < QK_K; blk += 128) {
            int shift = 0;
            for (int j = 0; j < 4; ++j) {
                float dl = d_all * float(scales[is++] - 32);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * float(int8_t((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                dl = d_all * float(scales[is++] - 32);
                for (int l = 0; l < 16; ++l)
                    *y++ = dl * float(int8_t((q[l + 16] >> shift) & 3) - ((hm[l + 16] & m) ? 0 : 4));
                shift += 2;
                m <<= 1;
            }
            q += 32;
        }
    }
}

// block_q4_K: d, dmin, scales[12], qs[128].
void dequantize_q4_k(const uint8_t* b, float* y, uint64_t n) {
    for (uint64_t i = 0; i < n / QK_K; ++i, b += 144) {
        const float d = load_half(b), min = load_half(b + 2);
        const uint8_t* scales = b + 4;
        const uint8_t* q = b + 16;
        int is = 0;
        for (int j = 0; j < QK_K; j += 64) {
            float d1, m1, d2, m2;
            sub_block_factors(is + 0, scales, d, min, d1, m1);
            sub_block_factors(is + 1, scales, d, min, d2, m2);
            for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
            q += 32;
            is += 2;
        }
    }
}

// block_q5_K: d, dmin, scales[12], qh[32] (5th bits), qs[128].
void dequantize_q5_k(const uint8_t* b, float* y, uint64_t n) {
    for (uint64_t i = 0; i < n / QK_K; ++i, b += 176) {
        const float d = load_half(b), min = load_half(b + 2);
        const uint8_t* scales = b + 4;
        const uint8_t* qh = b + 16;
        const uint8_t* ql = b + 48;
        int is = 0;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < QK_K; j += 64) {
            float d1, m1, d2, m2;
            sub_block_factors(is + 0, scales, d, min, d1, m1);
            sub_block_factors(is + 1, scales, d, min, d2, m2);
            for (int l = 0; l < 32; ++l) *y++ = d1 * float((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * float((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            ql += 32;
            is += 2;
            u1 = uint8_t(u1 << 2);
            u2 = uint8_t(u2 << 2);
        }
    }
}

// block_q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d.
void dequantize_q6_k(const uint8_t* b, float* y, uint64_t n) {
    for (uint64_t i = 0; i < n / QK_K; ++i, b += 210) {
        const uint8_t* ql = b;
        const uint8_t* qh = b + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
        const float d = load_half(b + 208);
        for (int blk = 0; blk < QK_K; blk += 128) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = int((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * float(sc[is + 0]) * float(q1);
                y[l + 32] = d * float(sc[is + 2]) * float(q2);
                y[l + 64] = d * float(sc[is + 4]) * float(q3);
                y[l + 96] = d * float(sc[is + 6]) * float(q4);
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

}  // namespace glowq::detail

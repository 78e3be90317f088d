// Decoders against blocks built by hand. Expected values are computed per element from the
// format description (which byte, which bits, which sub-block scale), written independently
// of the decoders' loop structure; scales are powers of two so every product is exact.
#include <catch2/catch.hpp>

#include <cstring>

#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"

using namespace glowq;

namespace {

void put_half(std::vector<uint8_t>& b, size_t at, float v) {
    const uint16_t h = float_to_half(v);
    std::memcpy(&b[at], &h, 2);
}

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed;
    for (auto& c : v) {
        x = x * 1664525u + 1013904223u;
        c = uint8_t(x >> 24);
    }
    return v;
}

std::vector<float> decode(GgmlType t, const std::vector<uint8_t>& block, uint64_t n) {
    std::vector<float> y(n);
    dequantize_row(t, block.data(), y.data(), n);
    return y;
}

// 6-bit scale/min pairs of Q4_K/Q5_K sub-block sb, from the 12-byte packing.
void k4_scale(const uint8_t* s, int sb, int* sc, int* mn) {
    if (sb < 4) {
        *sc = s[sb] & 63;
        *mn = s[sb + 4] & 63;
    } else {
        *sc = (s[sb + 4] & 15) | ((s[sb - 4] >> 6) << 4);
        *mn = (s[sb + 4] >> 4) | ((s[sb] >> 6) << 4);
    }
}

}  // namespace

TEST_CASE("dequant F32, F16, BF16", "[dequant]") {
    const float f[2] = {1.5f, -2.25f};
    std::vector<uint8_t> b(8);
    std::memcpy(b.data(), f, 8);
    CHECK(decode(GgmlType::F32, b, 2) == std::vector<float>{1.5f, -2.25f});
    const uint16_t h[3] = {0x3c00, 0xc000, 0x0001};  // 1, -2, smallest subnormal
    b.assign(6, 0);
    std::memcpy(b.data(), h, 6);
    CHECK(decode(GgmlType::F16, b, 3) == std::vector<float>{1.0f, -2.0f, 5.9604644775390625e-8f});
    const uint16_t bf[2] = {0x3fc0, 0xc010};  // 1.5, -2.25
    std::memcpy(b.data(), bf, 4);
    CHECK(decode(GgmlType::BF16, b, 2) == std::vector<float>{1.5f, -2.25f});
}

TEST_CASE("dequant Q4_0 and Q4_1: low nibbles first", "[dequant]") {
    std::vector<uint8_t> b(18);
    put_half(b, 0, 0.5f);
    for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> y = decode(GgmlType::Q4_0, b, 32);
    for (int j = 0; j < 16; ++j) {
        CHECK(y[j] == (j - 8) * 0.5f);
        CHECK(y[j + 16] == (7 - j) * 0.5f);
    }
    std::vector<uint8_t> c(20);
    put_half(c, 0, 0.25f);
    put_half(c, 2, -1.0f);
    for (int j = 0; j < 16; ++j) c[4 + j] = uint8_t(j | ((15 - j) << 4));
    const std::vector<float> z = decode(GgmlType::Q4_1, c, 32);
    CHECK(z[0] == -1.0f);
    CHECK(z[15] == 15 * 0.25f - 1.0f);
    CHECK(z[16] == 15 * 0.25f - 1.0f);
    CHECK(z[31] == -1.0f);
}

TEST_CASE("dequant Q5_0, Q5_1, Q8_0", "[dequant]") {
    std::vector<uint8_t> b(22);
    put_half(b, 0, 2.0f);
    const uint32_t qh = 0xA5A5F00Fu;
    std::memcpy(&b[2], &qh, 4);
    for (int j = 0; j < 16; ++j) b[6 + j] = uint8_t(j | ((15 - j) << 4));
    std::vector<float> y = decode(GgmlType::Q5_0, b, 32);
    for (int e = 0; e < 32; ++e) {
        const int lo = e < 16 ? (b[6 + e] & 15) : (b[6 + e - 16] >> 4);
        const int q = lo | (((qh >> e) & 1) << 4);
        CHECK(y[e] == float(q - 16) * 2.0f);
    }
    std::vector<uint8_t> c(24);
    put_half(c, 0, 0.5f);
    put_half(c, 2, -3.0f);
    std::memcpy(&c[4], &qh, 4);
    for (int j = 0; j < 16; ++j) c[8 + j] = uint8_t(j * 17);
    y = decode(GgmlType::Q5_1, c, 32);
    for (int e = 0; e < 32; ++e) {
        const int lo = e < 16 ? (c[8 + e] & 15) : (c[8 + e - 16] >> 4);
        const int q = lo | (((qh >> e) & 1) << 4);
        CHECK(y[e] == float(q) * 0.5f - 3.0f);
    }
    std::vector<uint8_t> d(34);
    put_half(d, 0, 0.125f);
    for (int j = 0; j < 32; ++j) d[2 + j] = uint8_t(int8_t(j * 8 - 128));
    y = decode(GgmlType::Q8_0, d, 32);
    for (int j = 0; j < 32; ++j) CHECK(y[j] == float(j * 8 - 128) * 0.125f);
}

TEST_CASE("dequant Q2_K", "[dequant]") {
    std::vector<uint8_t> b = pattern(84, 1);
    put_half(b, 80, 0.5f);
    put_half(b, 82, 0.25f);
    const std::vector<float> y = decode(GgmlType::Q2_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int half = e / 128, j = (e % 128) / 32, l = e % 32;
        const int q = (b[16 + half * 32 + l] >> (2 * j)) & 3;
        const uint8_t sc = b[half * 8 + j * 2 + (l >= 16)];
        CHECK(y[e] == 0.5f * float(sc & 15) * float(q) - 0.25f * float(sc >> 4));
    }
}

TEST_CASE("dequant Q3_K", "[dequant]") {
    std::vector<uint8_t> b = pattern(110, 2);
    put_half(b, 108, 0.5f);
    const uint8_t* hm = b.data();
    const uint8_t* qs = b.data() + 32;
    const uint8_t* s = b.data() + 96;
    const std::vector<float> y = decode(GgmlType::Q3_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int half = e / 128, j = (e % 128) / 32, l = e % 32;
        const int q = (qs[half * 32 + l] >> (2 * j)) & 3;
        const bool high = hm[l] & (1 << (half * 4 + j));
        const int is = half * 8 + 2 * j + (l >= 16);
        const int lo = is < 8 ? (s[is] & 15) : (s[is - 8] >> 4);
        const int hi = (s[8 + is % 4] >> (2 * (is / 4))) & 3;
        const int sc = (lo | (hi << 4)) - 32;
        CHECK(y[e] == 0.5f * float(sc) * float(q - (high ? 0 : 4)));
    }
}

TEST_CASE("dequant Q4_K and Q5_K", "[dequant]") {
    std::vector<uint8_t> b = pattern(176, 3);
    put_half(b, 0, 0.5f);
    put_half(b, 2, 0.25f);
    std::vector<uint8_t> b4(b.begin(), b.begin() + 16);  // Q4_K: same header, qs after
    b4.insert(b4.end(), b.begin() + 48, b.end());
    const std::vector<float> y4 = decode(GgmlType::Q4_K, b4, 256);
    const std::vector<float> y5 = decode(GgmlType::Q5_K, b, 256);
    const uint8_t* s = b.data() + 4;
    const uint8_t* qh = b.data() + 16;
    const uint8_t* qs = b.data() + 48;
    for (int e = 0; e < 256; ++e) {
        const int sb = e / 32, l = e % 32;
        const uint8_t byte = qs[(sb / 2) * 32 + l];
        const int q = (sb % 2) ? (byte >> 4) : (byte & 15);
        int sc, mn;
        k4_scale(s, sb, &sc, &mn);
        CHECK(y4[e] == 0.5f * float(sc) * float(q) - 0.25f * float(mn));
        const int q5 = q + (((qh[l] >> sb) & 1) << 4);
        CHECK(y5[e] == 0.5f * float(sc) * float(q5) - 0.25f * float(mn));
    }
}

TEST_CASE("dequant Q6_K", "[dequant]") {
    std::vector<uint8_t> b = pattern(210, 4);
    put_half(b, 208, 0.5f);
    const uint8_t* ql = b.data();
    const uint8_t* qh = b.data() + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(b.data() + 192);
    const std::vector<float> y = decode(GgmlType::Q6_K, b, 256);
    for (int e = 0; e < 256; ++e) {
        const int half = e / 128, quad = (e % 128) / 32, l = e % 32;
        const uint8_t lbyte = ql[half * 64 + l + (quad % 2) * 32];
        const int lo = quad < 2 ? (lbyte & 15) : (lbyte >> 4);
        const int hi = (qh[half * 32 + l] >> (2 * quad)) & 3;
        const int s = sc[half * 8 + l / 16 + 2 * quad];
        CHECK(y[e] == 0.5f * float(s) * float((lo | (hi << 4)) - 32));
    }
}

TEST_CASE("dequant rejects unsupported types and partial blocks", "[dequant]") {
    std::vector<uint8_t> b(64);
    float y[32];
    CHECK_FALSE(can_dequantize(GgmlType::IQ2_XXS));
    CHECK(can_dequantize(GgmlType::Q6_K));
    CHECK_THROWS_WITH(dequantize_row(GgmlType::IQ2_XXS, b.data(), y, 256), Catch::Contains("IQ2_XXS"));
    CHECK_THROWS_AS(dequantize_row(GgmlType::Q4_0, b.data(), y, 16), LoadError);
    GgufTensor t;
    t.name = "blk.0.x";
    t.type = GgmlType::IQ4_XS;
    CHECK_THROWS_WITH(dequantize(t, "m.gguf"), Catch::Contains("m.gguf") && Catch::Contains("blk.0.x") &&
                                                   Catch::Contains("IQ4_XS"));
}

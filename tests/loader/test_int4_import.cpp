// Q4_0/Q4_1 -> runtime int4 layout without loss; other types through the chosen policy.
#include <catch2/catch.hpp>

#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "glowq/loader/int4_import.hpp"
#include "gguf_test_support.hpp"

using namespace glowq;

namespace {

// Random blocks with scales spanning fp16's range, subnormals included.
std::vector<uint8_t> random_q4(GgmlType t, size_t n_blocks, uint64_t seed) {
    const size_t bb = t == GgmlType::Q4_1 ? 20 : 18;
    std::vector<uint8_t> b(n_blocks * bb);
    uint64_t x = seed;
    for (auto& c : b) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        c = uint8_t(x >> 56);
    }
    for (size_t i = 0; i < n_blocks; ++i) {
        const float scales[] = {0.0123f, -0.5f, 3e-6f, 1e-7f, 100.0f, 0.0f, 7.0f};
        const uint16_t d = float_to_half(scales[i % 7]);
        std::memcpy(&b[i * bb], &d, 2);
        if (t == GgmlType::Q4_1) {
            const uint16_t m = float_to_half(-0.37f * float(i % 5) + 1e-6f);
            std::memcpy(&b[i * bb + 2], &m, 2);
        }
    }
    return b;
}

GgufFile one_tensor_file(GgmlType t, uint64_t cols, uint64_t rows, std::vector<uint8_t> data) {
    GgufWriter w;
    w.add_tensor("w", t, {cols, rows}, std::move(data));
    return GgufFile::from_bytes(w.to_bytes(), "int4.gguf");
}

// Exact equality of every value. Bits may differ only in the sign of zero: with d = 0,
// ggml's (q - 8) * d gives -0 for q < 8 where q * d + m gives +0.
bool bit_equal(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        uint32_t x, y;
        std::memcpy(&x, &a[i], 4);
        std::memcpy(&y, &b[i], 4);
        if (x != y && !(a[i] == 0.0f && b[i] == 0.0f)) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("Q4_0 and Q4_1 import into Int4Matrix bit-exactly", "[int4]") {
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1}) {
        INFO(ggml_type_name(t));
        const uint64_t cols = 160, rows = 7;  // 5 blocks per row
        const GgufFile f = one_tensor_file(t, cols, rows, random_q4(t, cols / 32 * rows, 42));
        const GgufTensor& tensor = f.tensor("w");
        const Int4Matrix m = int4_from_gguf(tensor);
        CHECK(m.rows == rows);
        CHECK(m.cols == cols);
        CHECK(m.group_size == 32);
        CHECK(bit_equal(m.dequantize(), dequantize(tensor)));
        const ImportedMatrix im = import_matrix(tensor, NonInt4Policy::KeepFp16);
        CHECK(im.is_int4);
        CHECK(im.exact);
    }
}

TEST_CASE("Q4 import places nibbles as the runtime layout says", "[int4]") {
    std::vector<uint8_t> b(18);
    const uint16_t d = float_to_half(1.0f);
    std::memcpy(b.data(), &d, 2);
    for (int j = 0; j < 16; ++j) b[2 + j] = uint8_t(j | ((15 - j) << 4));
    const GgufFile f = one_tensor_file(GgmlType::Q4_0, 32, 1, b);
    const Int4Matrix m = int4_from_gguf(f.tensor("w"));
    for (uint32_t k = 0; k < 16; ++k) {
        CHECK(m.code(0, k) == k);
        CHECK(m.code(0, k + 16) == 15 - k);
    }
    CHECK(m.codes[0] == 0x76543210u);
    CHECK(m.scale(0, 0) == 1.0f);
    CHECK(m.offset(0, 0) == -8.0f);
}

TEST_CASE("Q4_0 scale too large for an exact offset is an error", "[int4]") {
    std::vector<uint8_t> b(18, 0);
    const uint16_t d = float_to_half(10000.0f);
    std::memcpy(b.data(), &d, 2);
    const GgufFile f = one_tensor_file(GgmlType::Q4_0, 32, 1, b);
    CHECK_THROWS_WITH(int4_from_gguf(f.tensor("w"), "x.gguf"), Catch::Contains("x.gguf") && Catch::Contains("'w'"));
}

TEST_CASE("other types import by policy", "[int4]") {
    std::vector<float> v(64 * 3);
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(float(i) * 0.37f);
    GgufWriter w;
    w.add_tensor_f32("f32", {64, 3}, v);
    std::vector<uint8_t> h(v.size() * 2);
    for (size_t i = 0; i < v.size(); ++i) {
        const uint16_t x = float_to_half(v[i]);
        std::memcpy(&h[2 * i], &x, 2);
    }
    w.add_tensor("f16", GgmlType::F16, {64, 3}, h);
    const GgufFile f = GgufFile::from_bytes(w.to_bytes());

    const ImportedMatrix rq = import_matrix(f.tensor("f32"), NonInt4Policy::Requantize, 64);
    CHECK(rq.is_int4);
    CHECK_FALSE(rq.exact);
    CHECK(rq.int4.group_size == 64);
    const std::vector<float> back = rq.int4.dequantize();
    for (size_t i = 0; i < v.size(); ++i) CHECK(std::fabs(back[i] - v[i]) <= 2.0f / 15.0f * 0.6f);
    CHECK(bit_equal(back, quantize_rtn(v.data(), 3, 64, 64).dequantize()));

    const ImportedMatrix keep = import_matrix(f.tensor("f16"), NonInt4Policy::KeepFp16);
    CHECK_FALSE(keep.is_int4);
    CHECK(keep.exact);
    CHECK(std::memcmp(keep.fp16.data(), h.data(), h.size()) == 0);
    const ImportedMatrix keep32 = import_matrix(f.tensor("f32"), NonInt4Policy::KeepFp16);
    CHECK_FALSE(keep32.exact);
    CHECK(keep32.fp16.size() == v.size());
    CHECK_THROWS_AS(int4_from_gguf(f.tensor("f16")), LoadError);
}

TEST_CASE("Q8_0 imports into the Q8 layout bit-exactly", "[int4]") {
    const uint64_t cols = 96, rows = 5;  // 3 blocks per row: an odd count of scales
    std::vector<uint8_t> b(rows * cols / 32 * 34);
    uint64_t x = 99;
    for (auto& c : b) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        c = uint8_t(x >> 56);
    }
    const float scales[] = {0.0123f, -0.5f, 3e-6f, 1e-7f, 100.0f, 0.0f, 7.0f};
    for (size_t i = 0; i < b.size() / 34; ++i) {
        const uint16_t d = float_to_half(scales[i % 7]);
        std::memcpy(&b[i * 34], &d, 2);
    }
    const GgufFile f = one_tensor_file(GgmlType::Q8_0, cols, rows, b);
    const GgufTensor& t = f.tensor("w");
    const Q8Matrix m = q8_from_gguf(t);
    REQUIRE(m.rows == rows);
    REQUIRE(m.cols == cols);
    const std::vector<float> want = dequantize(t);
    const std::vector<float> got = m.dequantize();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(std::memcmp(&got[i], &want[i], 4) == 0);
    // Other types are refused by name.
    const GgufFile q4 = one_tensor_file(GgmlType::Q4_0, 32, 1, random_q4(GgmlType::Q4_0, 1, 1));
    CHECK_THROWS_WITH(q8_from_gguf(q4.tensor("w"), "x.gguf"), Catch::Contains("Q8_0"));
}

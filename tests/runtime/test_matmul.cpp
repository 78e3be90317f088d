// int4 and dense matmul kernels against a CPU loop (double accumulation) over awkward
// shapes: odd N, K not a multiple of the group size (and not of 32 or 8), 1 to 300 tokens;
// int4 in both forms of its scale/offset words (the scale-only one: Q4_0's offsets).
#include <cmath>

#include "glowq/int4_matrix.hpp"
#include "glowq/q8_matrix.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/vk/graph.hpp"
#include "support/int8_rounding.hpp"
#include "support/q4_0_offsets.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

struct Shape {
    uint32_t N, K, g, T;
};

// y_ref[t][n] = sum_k w[n][k] x[t][k] in double; also the scale the tolerance needs.
void reference(const std::vector<float>& w, const std::vector<float>& x, uint32_t N, uint32_t K, uint32_t T,
               std::vector<double>& y, std::vector<double>& mag) {
    y.assign(size_t(T) * N, 0.0);
    mag.assign(size_t(T) * N, 0.0);
    for (uint32_t t = 0; t < T; ++t)
        for (uint32_t n = 0; n < N; ++n) {
            double s = 0, m = 0;
            for (uint32_t k = 0; k < K; ++k) {
                const double p = double(w[size_t(n) * K + k]) * x[size_t(t) * K + k];
                s += p;
                m += std::fabs(p);
            }
            y[size_t(t) * N + n] = s;
            mag[size_t(t) * N + n] = m;
        }
}

// fp32 accumulation over K products: the error bound grows with K and the magnitude sum.
void check_close(const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& mag,
                 uint32_t K) {
    REQUIRE(got.size() == want.size());
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double tol = 1e-6 + 4.0 * std::sqrt(double(K)) * 6e-8 * mag[i] + 1e-6 * mag[i];
        const double err = std::fabs(got[i] - want[i]);
        worst = std::max(worst, err / (tol));
        if (!(err <= tol)) ++bad;
    }
    INFO("worst error / tolerance = " << worst);
    CHECK(bad == 0);
}

std::vector<float> run(test::VkFixture& f, const ops::DeviceMatrix& dm, const std::vector<float>& x, uint32_t T,
                       const ops::MatmulOptions& opt) {
    vk::Buffer xb = f.alloc.upload(x.data(), x.size() * 4);
    vk::Buffer yb = f.alloc.allocate(uint64_t(T) * dm.rows * 4);
    vk::Graph g(f.ctx, f.alloc);
    for (auto& d : ops::matmul(f.ctx, dm, xb, yb, T, opt)) g.add(std::move(d));
    g.run();
    return f.alloc.read_all<float>(yb);
}

const Shape kShapes[] = {
    {1, 32, 32, 1},     {7, 100, 32, 3},   {63, 576, 128, 8},  {129, 200, 64, 1},  {33, 1000, 128, 64},
    {65, 576, 128, 300}, {17, 13, 32, 5},  {250, 96, 32, 9},   {5, 4100, 128, 2},  {130, 161, 64, 33},
    {257, 80, 32, 70},
};

}  // namespace

TEST_CASE("RTN quantizer: codes in range, error at most half a step", "[int4]") {
    const uint32_t N = 9, K = 200;
    for (uint32_t g : {32u, 64u, 128u}) {
        auto w = test::random_floats(size_t(N) * K, g, -2.0f, 3.0f);
        const Int4Matrix m = quantize_rtn(w.data(), N, K, g);
        CHECK(m.groups() == (K + g - 1) / g);
        for (uint32_t n = 0; n < N; ++n)
            for (uint32_t k = 0; k < K; ++k) {
                const float s = m.scale(n, k / g);
                CHECK(std::fabs(m.weight(n, k) - w[size_t(n) * K + k]) <= 0.5f * s * 1.01f + 1e-3f);
            }
        // padded columns of the last word hold zero codes
        for (uint32_t n = 0; n < N; ++n)
            for (uint32_t k = K; k < GQ_ROW_WORDS(K) * 8; ++k) CHECK(m.code(n, k) == 0);
    }
}

TEST_CASE_METHOD(test::VkFixture, "int4 GEMV and GEMM match the CPU reference", "[int4][matmul]") {
    for (const Shape& s : kShapes) for (bool q4_0 : {false, true}) {
        for (auto path : {ops::MatmulPath::Gemv, ops::MatmulPath::Gemm}) {
            // GEMV lanes per row: the device's choice, one, and a reduction over 16 lanes
            // with and without subgroup arithmetic; then the Rows kernel with 1 and 3 rows
            // per subgroup (2 subgroups per workgroup). GEMM: its choice of tile, then tiles
            // of 16, 32 and 64 tokens.
            const bool gemm = path == ops::MatmulPath::Gemm;
            for (uint32_t variant = 0; variant < (gemm ? 4u : 6u); ++variant) {
                const bool subgroup = variant != 3 || gemm;
                const uint32_t tpr = gemm || variant == 0 ? 0 : variant == 1 ? 1 : variant < 4 ? 16 : 0;
                ops::MatmulOptions opt{path, subgroup, tpr};
                if (gemm) {
                    opt.gemm_tile_tokens = variant ? 8u << variant : 0u;
                } else if (variant >= 4) {
                    if (!ops::gemv_rows_supported(ctx.caps())) continue;
                    opt.gemv_kernel = ops::GemvKernel::Rows;
                    opt.rows_per_subgroup = variant == 4 ? 1 : 3;
                    opt.gemv_workgroup = 2 * ctx.caps().subgroup_size;
                    opt.k_split = variant == 4 ? 1 : 2;  // variant 5: one team of two subgroups
                }
                DYNAMIC_SECTION("N=" << s.N << " K=" << s.K << " g=" << s.g << " T=" << s.T << " path="
                                     << int(path) << " tpr=" << tpr << " subgroup=" << subgroup << " rows kernel nr="
                                     << opt.rows_per_subgroup << " gemm tile=" << opt.gemm_tile_tokens
                                     << " q4_0 offsets=" << q4_0) {
                    auto w = test::random_floats(size_t(s.N) * s.K, s.N * 7 + s.K);
                    auto x = test::random_floats(size_t(s.T) * s.K, s.T * 13 + s.K);
                    const Int4Matrix rtn = quantize_rtn(w.data(), s.N, s.K, s.g);
                    const Int4Matrix m = q4_0 ? test::with_q4_0_offsets(rtn) : rtn;
                    const auto wq = m.dequantize();  // the reference uses the stored weights
                    std::vector<double> want, mag;
                    reference(wq, x, s.N, s.K, s.T, want, mag);
                    const auto dm = ops::DeviceMatrix::upload_int4(alloc, m);
                    // RTN's offsets are -8 s only by chance (N=1 K=32: one group).
                    CHECK(dm.scale_only == (q4_0 || s.N * m.groups() == 1));
                    // The scale-only form holds half the scale/offset words (rounded up).
                    const uint64_t so_words = uint64_t(s.N) * (dm.scale_only ? (m.groups() + 1) / 2 : m.groups());
                    CHECK(dm.parts[0].weights.size() == (uint64_t(dm.parts[0].so_word) + so_words) * 4);
                    check_close(run(*this, dm, x, s.T, opt), want, mag, s.K);
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "int4 matrices split by rows give the same product", "[int4][matmul]") {
    const uint32_t N = 37, K = 300, T = 4;
    auto w = test::random_floats(size_t(N) * K, 1);
    auto x = test::random_floats(size_t(T) * K, 2);
    for (bool q4_0 : {false, true}) {
        const Int4Matrix rtn = quantize_rtn(w.data(), N, K, 64);
        const Int4Matrix m = q4_0 ? test::with_q4_0_offsets(rtn) : rtn;
        std::vector<double> want, mag;
        reference(m.dequantize(), x, N, K, T, want, mag);
        // 10 rows per part: four parts, the last one short.
        const auto dm = ops::DeviceMatrix::upload_int4(alloc, m, ops::DeviceMatrix::int4_row_bytes(m) * 10);
        REQUIRE(dm.parts.size() == 4);
        CHECK(dm.scale_only == q4_0);
        for (auto path : {ops::MatmulPath::Gemv, ops::MatmulPath::Gemm})
            check_close(run(*this, dm, x, T, {path, true, 0}), want, mag, K);
    }
}

TEST_CASE_METHOD(test::VkFixture, "dense fp32 and fp16 matmul match the CPU reference", "[dense][matmul]") {
    const Shape shapes[] = {{1, 1, 0, 1}, {7, 33, 0, 3}, {64, 576, 0, 8}, {129, 101, 0, 20}, {3, 2000, 0, 1}};
    for (const Shape& s : shapes) {
        for (bool f16 : {false, true}) {
            // The device's choice, 32 lanes per row with and without subgroup arithmetic, and
            // the wide shape GPUs use for few long rows (256 lanes on one row).
            for (uint32_t variant = 0; variant < 4; ++variant) {
                const bool subgroup = variant != 2;
                const uint32_t tpr = variant == 0 ? 0 : variant == 3 ? 256 : 32;
                DYNAMIC_SECTION("N=" << s.N << " K=" << s.K << " T=" << s.T << " f16=" << f16 << " tpr=" << tpr
                                     << " subgroup=" << subgroup << " variant=" << variant) {
                    auto w = test::random_floats(size_t(s.N) * s.K, s.N + s.K);
                    auto x = test::random_floats(size_t(s.T) * s.K, s.T + 3 * s.K);
                    std::vector<float> wr = w;
                    if (f16)
                        for (float& v : wr) v = round_to_half(v);
                    std::vector<double> want, mag;
                    reference(wr, x, s.N, s.K, s.T, want, mag);
                    const auto dm = ops::DeviceMatrix::upload_dense(alloc, w.data(), s.N, s.K, f16, 4096);
                    ops::MatmulOptions opt{ops::MatmulPath::Auto, subgroup, tpr};
                    if (variant == 3) {  // as wide as the device allows (128 in Android's baseline)
                        opt.gemv_workgroup = std::min(256u, ctx.caps().max_workgroup_invocations);
                        opt.threads_per_row = opt.gemv_workgroup;
                    }
                    check_close(run(*this, dm, x, s.T, opt), want, mag, s.K);
                }
            }
        }
    }
}

TEST_CASE("fp16 conversion matches IEEE binary16", "[fp16]") {
    CHECK(float_to_half(1.0f) == 0x3c00);
    CHECK(float_to_half(-2.0f) == 0xc000);
    CHECK(float_to_half(65504.0f) == 0x7bff);
    CHECK(float_to_half(65520.0f) == 0x7c00);           // rounds to infinity
    CHECK(float_to_half(5.9604645e-08f) == 0x0001);     // smallest subnormal
    CHECK(float_to_half(2.98e-08f) == 0x0000);          // below half of it
    CHECK(float_to_half(1.0009765625f) == 0x3c01);      // exact
    CHECK(float_to_half(1.00048828125f) == 0x3c00);     // tie rounds to even
    CHECK(float_to_half(1.00146484375f) == 0x3c02);     // tie rounds to even (up)
    for (uint32_t h = 0; h < 0x7c00; ++h) CHECK(float_to_half(half_to_float(uint16_t(h))) == h);
}

// fp16 accumulation overflows at 65504 (OpenVINO #34704, LiteRT #9249): every product and
// reduction here is accumulated in fp32. Weights up to +-1000 and activations up to +-300
// The Rows GEMV with its products as int8 dot products (IntDot::On, where the device has
// the feature; lavapipe has it, unaccelerated). Two references: x built so that rounding it
// to int8 per 32-column block is exact (each block's values are whole multiples of its
// largest / 127, one of them the largest) must match the fp32 loop to fp32 accuracy (a
// wrong byte order or block scale cannot); random x must stay within the rounding's bound,
// half a step of each block times the sum of |w| over the block.
TEST_CASE_METHOD(test::VkFixture, "int8 dot-product Rows GEMV matches the CPU reference", "[int4][matmul][intdot]") {
    if (!ops::gemv_rows_supported(ctx.caps()) || !ctx.caps().integer_dot_product) {
        WARN("no Rows GEMV or integer dot product on this device: skipped");
        return;
    }
    for (const Shape& s : kShapes) {
        if (s.T > 64) continue;  // (the GEMM takes longer prompts)
        for (uint32_t variant = 0; variant < 2; ++variant) {
            ops::MatmulOptions opt{ops::MatmulPath::Gemv};
            opt.gemv_kernel = ops::GemvKernel::Rows;
            opt.int_dot = ops::IntDot::On;
            opt.rows_per_subgroup = variant == 0 ? 1 : 3;
            opt.gemv_workgroup = 2 * ctx.caps().subgroup_size;
            opt.k_split = variant == 0 ? 1 : 2;
            DYNAMIC_SECTION("N=" << s.N << " K=" << s.K << " g=" << s.g << " T=" << s.T << " nr=" << opt.rows_per_subgroup) {
                auto w = test::random_floats(size_t(s.N) * s.K, s.N * 5 + s.K);
                const Int4Matrix m = quantize_rtn(w.data(), s.N, s.K, s.g);
                const auto wq = m.dequantize();
                const auto dm = ops::DeviceMatrix::upload_int4(alloc, m);
                auto levels = test::random_floats(size_t(s.T) * s.K, s.T * 3 + s.K, -127.0f, 127.0f);
                const auto block_scales = test::random_floats(size_t(s.T) * GQ_ROW_BLOCKS(s.K), s.K, 0.01f, 4.0f);
                std::vector<float> exact(levels.size());
                for (uint32_t t = 0; t < s.T; ++t)
                    for (uint32_t k = 0; k < s.K; ++k) {
                        const float step = block_scales[t * GQ_ROW_BLOCKS(s.K) + k / 32] / 127.0f;
                        const float level = k % 32 == 0 ? 127.0f : std::round(levels[t * s.K + k]);
                        exact[t * s.K + k] = level * step;
                    }
                std::vector<double> want, mag;
                reference(wq, exact, s.N, s.K, s.T, want, mag);
                check_close(run(*this, dm, exact, s.T, opt), want, mag, s.K);

                const auto x = test::random_floats(size_t(s.T) * s.K, s.T * 11 + s.K, -2.0f, 3.0f);
                reference(wq, x, s.N, s.K, s.T, want, mag);
                const auto got = run(*this, dm, x, s.T, opt);
                double worst = 0;
                for (uint32_t t = 0; t < s.T; ++t)
                    for (uint32_t n = 0; n < s.N; ++n) {
                        const double bound = test::int8_rounding_bound(
                            &x[size_t(t) * s.K], s.K, [&](uint32_t k) { return std::fabs(wq[size_t(n) * s.K + k]); });
                        const size_t i = size_t(t) * s.N + n;
                        const double tol = 1.001 * bound + 1e-6 + 4.0 * std::sqrt(double(s.K)) * 6e-8 * mag[i];
                        worst = std::max(worst, std::fabs(got[i] - want[i]) / tol);
                    }
                INFO("worst error / bound = " << worst);
                CHECK(worst <= 1.0);
            }
        }
    }
}

// over K = 4096 make group sums and row sums far beyond fp16's range; the result must still
// match the double-precision loop to fp32 accuracy, on every kernel the device chooses.
TEST_CASE_METHOD(test::VkFixture, "large-magnitude weights and activations accumulate in fp32", "[int4][matmul]") {
    const uint32_t N = 9, K = 4096, T = 3;
    auto w = test::random_floats(size_t(N) * K, 11, -1000.0f, 1000.0f);
    auto x = test::random_floats(size_t(T) * K, 12, -300.0f, 300.0f);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = 300.0f;  // a biased sum: no cancellation to hide behind
    const Int4Matrix m = quantize_rtn(w.data(), N, K, 128);
    std::vector<double> want, mag;
    reference(m.dequantize(), x, N, K, T, want, mag);
    double largest = 0;
    for (double v : mag) largest = std::max(largest, v);
    REQUIRE(largest > 1e8);  // far past fp16's 65504
    const auto dm = ops::DeviceMatrix::upload_int4(alloc, m);
    for (auto path : {ops::MatmulPath::Gemv, ops::MatmulPath::Gemm}) {
        const auto got = run(*this, dm, x, T, {path, true, 0});
        for (float v : got) REQUIRE(std::isfinite(v));
        check_close(got, want, mag, K);
    }
    // The dense kernels too (fp16 weights hold +-1000 exactly enough; products are fp32).
    const auto dense = ops::DeviceMatrix::upload_dense(alloc, w.data(), N, K, true);
    std::vector<float> wr = w;
    for (float& v : wr) v = round_to_half(v);
    reference(wr, x, N, K, T, want, mag);
    check_close(run(*this, dense, x, T, {}), want, mag, K);
}

// Q8 (llama.cpp's Q8_0 kept as it is) against the CPU loop over its dequantized weights:
// K not a multiple of 32 (a short last block) or of 4 (a short last word), 1 to 20 tokens,
// the device's kernel, 32 lanes per row with and without subgroup arithmetic, and split rows.
TEST_CASE_METHOD(test::VkFixture, "Q8 matmul matches the CPU reference", "[q8][matmul]") {
    const Shape shapes[] = {{1, 32, 0, 1}, {7, 33, 0, 3}, {64, 576, 0, 8}, {129, 101, 0, 20}, {3, 2000, 0, 1}, {50, 94, 0, 5}};
    for (const Shape& s : shapes) {
        for (uint32_t variant = 0; variant < 3; ++variant) {
            const bool subgroup = variant != 2;
            const uint32_t tpr = variant == 0 ? 0 : 32;
            DYNAMIC_SECTION("N=" << s.N << " K=" << s.K << " T=" << s.T << " tpr=" << tpr << " subgroup=" << subgroup) {
                auto w = test::random_floats(size_t(s.N) * s.K, 7 * s.N + s.K, -2.0f, 2.0f);
                auto x = test::random_floats(size_t(s.T) * s.K, s.T + 5 * s.K);
                const Q8Matrix q = quantize_q8(w.data(), s.N, s.K);
                std::vector<double> want, mag;
                reference(q.dequantize(), x, s.N, s.K, s.T, want, mag);
                // A part limit of about 10 rows: several parts, each its own binding.
                const uint64_t part = (uint64_t(q.row_words()) + q.scale_words()) * 4 * 10;
                for (uint64_t limit : {uint64_t(0), part}) {
                    const auto dm = ops::DeviceMatrix::upload_q8(alloc, q, limit);
                    CHECK(dm.type == ops::WeightType::Q8);
                    check_close(run(*this, dm, x, s.T, {ops::MatmulPath::Auto, subgroup, tpr}), want, mag, s.K);
                }
            }
        }
    }
}

// The decode GEMV's fused variants against CPU loops: the input's RMSNorm folded into the
// product (y = Wq norm(x)), and GlowQ's B projection computed by the same dispatch as extra
// rows (R = B norm(x), written after Y). Odd shapes, K not a multiple of the group size
// (and odd, so x rows are not 16-byte aligned), ranks 8 to 64, 1, 5 and 64 tokens, and
// every GEMV form this device has: its own choice (one row per lane with x shared over the
// subgroup on CPU drivers), one lane per row without subgroups, lanes reducing a row
// through shared memory or subgroup sums, and the Rows GEMV GPUs use.
#include <cmath>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/ops/matmul.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

struct Shape {
    uint32_t N, K, g;
};

std::vector<double> rms_normed(const std::vector<float>& x, const std::vector<float>& w, uint32_t T, uint32_t K, float eps) {
    std::vector<double> xn(size_t(T) * K);
    for (uint32_t t = 0; t < T; ++t) {
        double ss = 0;
        for (uint32_t k = 0; k < K; ++k) ss += double(x[t * K + k]) * x[t * K + k];
        const double inv = 1.0 / std::sqrt(ss / K + eps);
        for (uint32_t k = 0; k < K; ++k) xn[t * K + k] = x[t * K + k] * inv * w[k];
    }
    return xn;
}

// Worst |got - want| over a tolerance scaled by the sum of |terms| (fp32 accumulation).
double worst_ratio(const float* got, const std::vector<double>& want, const std::vector<double>& mag) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::fabs(got[i] - want[i]) / (1e-6 + 2e-5 * mag[i]));
    return worst;
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "GEMV with the input RMSNorm and B rows folded in matches the CPU loop",
                 "[matmul][fused]") {
    const Shape shapes[] = {{37, 200, 64}, {96, 576, 128}, {17, 101, 32}, {5, 64, 32}};
    const float eps = 1e-5f;
    for (const Shape& s : shapes) {
        for (uint32_t rank : {0u, 8u, 24u, 64u}) {
            for (uint32_t T : {1u, 5u, 64u}) {
                // 0: the device's GEMV; 1: one lane per row without subgroups; 4: lanes
                // reduced through shared memory; 32: subgroup sums where the device has them;
                // 99: the Rows GEMV (a GPU's), 3 rows per subgroup, two subgroups per row.
                for (uint32_t tpr : {0u, 1u, 4u, 32u, 99u}) {
                    if (tpr != 99 && tpr > ctx.caps().max_workgroup_invocations / 2) continue;
                    if (tpr == 99 && !ops::gemv_rows_supported(ctx.caps())) continue;
                    if ((rank == 24 || rank == 8) && s.N != 37) continue;  // ranks: one shape is enough
                    DYNAMIC_SECTION("N " << s.N << " K " << s.K << " g " << s.g << " rank " << rank << " T " << T
                                         << " tpr " << tpr) {
                        const uint32_t seed = s.N * 1000 + s.K + rank * 7 + T;
                        auto w = test::random_floats(size_t(s.N) * s.K, seed);
                        const Int4Matrix q = quantize_rtn(w.data(), s.N, s.K, s.g);
                        const auto norm_w = test::random_floats(s.K, seed + 1, 0.5f, 2.0f);
                        // Activations of a residual stream: a few large, most small.
                        auto x = test::random_floats(size_t(T) * s.K, seed + 2, -3.0f, 3.0f);
                        auto bf = test::random_floats(size_t(rank) * s.K, seed + 3, -0.2f, 0.2f);
                        std::vector<uint16_t> b(bf.size());
                        for (size_t i = 0; i < b.size(); ++i) b[i] = float_to_half(bf[i]);

                        ops::DeviceMatrix dm = ops::DeviceMatrix::upload_int4(alloc, q);
                        REQUIRE(dm.attach_input_norm(alloc, norm_w));
                        ops::DeviceMatrix bm;
                        ops::MatmulOptions mo;
                        mo.norm_input = true;
                        mo.norm_eps = eps;
                        mo.threads_per_row = tpr == 99 ? 0 : tpr;
                        mo.subgroup_ops = tpr != 1;
                        if (tpr == 99) {
                            mo.gemv_kernel = ops::GemvKernel::Rows;
                            mo.rows_per_subgroup = 3;
                            mo.k_split = 2;
                        }
                        // Every GEMV has the variants; a GPU takes its GEMM past 64 tokens.
                        if (!ops::fused_gemv_supported(ctx, dm, T, mo)) {
                            CHECK(ctx.caps().type != "cpu");
                            CHECK(T == 64);
                            continue;
                        }
                        const uint32_t r_word = T * s.N + 3;  // anywhere after Y
                        if (rank) {
                            bm = ops::DeviceMatrix::upload_f16(alloc, b.data(), rank, s.K);
                            // A for the consumer (unused by the GEMV, which must not add it)
                            std::vector<uint16_t> a(size_t(s.N) * rank, float_to_half(1.0f));
                            dm.attach_lowrank(alloc, a, rank, {0});
                            mo.b_rows = &bm;
                            mo.r_word = r_word;
                        }
                        vk::Buffer xb = alloc.upload(x.data(), x.size() * 4);
                        vk::Buffer yb = alloc.allocate((uint64_t(r_word) + uint64_t(T) * rank) * 4);
                        vk::Graph graph(ctx, alloc);
                        for (auto& d : ops::matmul(ctx, dm, xb, yb, T, mo)) graph.add(std::move(d));
                        graph.run();
                        const auto got = alloc.read_all<float>(yb);

                        const auto xn = rms_normed(x, norm_w, T, s.K, eps);
                        std::vector<double> want(size_t(T) * s.N), mag(want.size());
                        std::vector<double> r_want(size_t(T) * rank), r_mag(r_want.size());
                        for (uint32_t t = 0; t < T; ++t) {
                            for (uint32_t n = 0; n < s.N; ++n)
                                for (uint32_t k = 0; k < s.K; ++k) {
                                    const double p = double(q.weight(n, k)) * xn[t * s.K + k];
                                    want[t * s.N + n] += p;
                                    mag[t * s.N + n] += std::fabs(p);
                                }
                            for (uint32_t j = 0; j < rank; ++j)
                                for (uint32_t k = 0; k < s.K; ++k) {
                                    const double p = double(half_to_float(b[size_t(j) * s.K + k])) * xn[t * s.K + k];
                                    r_want[t * rank + j] += p;
                                    r_mag[t * rank + j] += std::fabs(p);
                                }
                        }
                        const double wy = worst_ratio(got.data(), want, mag);
                        const double wr = rank ? worst_ratio(got.data() + r_word, r_want, r_mag) : 0.0;
                        INFO("worst error / tolerance: Y " << wy << ", R " << wr);
                        CHECK(wy <= 1.0);
                        CHECK(wr <= 1.0);
                    }
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "fused GEMV misuse is refused", "[matmul][fused]") {
    auto w = test::random_floats(64 * 64, 1);
    ops::DeviceMatrix dm = ops::DeviceMatrix::upload_int4(alloc, quantize_rtn(w.data(), 64, 64, 32));
    vk::Buffer xb = alloc.allocate(64 * 4), yb = alloc.allocate(64 * 4);
    ops::MatmulOptions mo;
    mo.norm_input = true;
    // No norm weights attached.
    CHECK_FALSE(ops::fused_gemv_supported(ctx, dm, 1, mo));
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, 1, mo), Error);
    CHECK_THROWS_AS(dm.attach_input_norm(alloc, std::vector<float>(63, 1.0f)), Error);
    REQUIRE(dm.attach_input_norm(alloc, std::vector<float>(64, 1.0f)));
    if (!ops::fused_gemv_supported(ctx, dm, 1, mo)) return;  // a GPU's Rows GEMV: nothing to misuse
    // B rows whose R would overlap Y, or would not fit in Y's buffer.
    std::vector<uint16_t> b(8 * 64, float_to_half(0.5f));
    ops::DeviceMatrix bm = ops::DeviceMatrix::upload_f16(alloc, b.data(), 8, 64);
    mo.b_rows = &bm;
    mo.r_word = 10;
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, 1, mo), Error);
    mo.r_word = 64;
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, 1, mo), Error);
    vk::Buffer big = alloc.allocate((64 + 8) * 4);
    CHECK_NOTHROW(ops::matmul(ctx, dm, xb, big, 1, mo));
    // B rows without the norm: no such kernel.
    mo.norm_input = false;
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, big, 1, mo), Error);
}

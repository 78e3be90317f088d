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
#include "support/int8_rounding.hpp"
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

// Worst |got - want| over a tolerance scaled by the sum of |terms| (fp32 accumulation),
// plus `rounding` where x was rounded to int8 (the dot-product form).
double worst_ratio(const float* got, const std::vector<double>& want, const std::vector<double>& mag,
                   const std::vector<double>& rounding = {}) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::fabs(got[i] - want[i]) /
                                    (1e-6 + 2e-5 * mag[i] + (rounding.empty() ? 0.0 : 1.001 * rounding[i])));
    return worst;
}

// The int8 rounding's bound (support/int8_rounding.hpp) for every output of W x.
std::vector<double> int8_rounding_bound(const Int4Matrix& q, const std::vector<double>& x, uint32_t T) {
    std::vector<double> bound(size_t(T) * q.rows);
    for (uint32_t t = 0; t < T; ++t)
        for (uint32_t n = 0; n < q.rows; ++n)
            bound[size_t(t) * q.rows + n] = test::int8_rounding_bound(
                &x[size_t(t) * q.cols], q.cols, [&](uint32_t k) { return std::fabs(q.weight(n, k)); });
    return bound;
}

// The GEMV forms the tests sweep, by tpr: 0 the device's own choice (one row per lane with
// x shared over the subgroup on CPU drivers); 1 one lane per row without subgroups; 4 lanes
// reducing a row through shared memory; 32 subgroup sums where the device has them; 99 the
// Rows GEMV (a GPU's), 3 rows per subgroup, two subgroups per row; 98 the same with its
// products as int8 dot products. False where this device has no such form.
const uint32_t kForms[] = {0, 1, 4, 32, 99, 98};
bool gemv_form(const vk::Context& ctx, uint32_t tpr, ops::MatmulOptions& o) {
    if (tpr >= 98) {
        o.gemv_kernel = ops::GemvKernel::Rows;
        o.rows_per_subgroup = 3;
        o.k_split = 2;
        o.int_dot = tpr == 98 ? ops::IntDot::On : ops::IntDot::Off;
        return ops::gemv_rows_supported(ctx.caps()) && (tpr == 99 || ctx.caps().integer_dot_product);
    }
    o.threads_per_row = tpr;
    o.subgroup_ops = tpr != 1;
    return tpr <= ctx.caps().max_workgroup_invocations / 2;
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "GEMV with the input RMSNorm and B rows folded in matches the CPU loop",
                 "[matmul][fused][sweep]") {
    const Shape shapes[] = {{37, 200, 64}, {96, 576, 128}, {17, 101, 32}, {5, 64, 32}};
    const float eps = 1e-5f;
    for (const Shape& s : shapes) {
        for (uint32_t rank : {0u, 8u, 24u, 64u}) {
            for (uint32_t T : {1u, 5u, 64u}) {
                for (uint32_t tpr : kForms) {
                    ops::MatmulOptions mo;
                    if (!gemv_form(ctx, tpr, mo)) continue;
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
                        mo.norm_input = true;
                        mo.norm_eps = eps;
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
                        const double wy = worst_ratio(got.data(), want, mag,
                                                      tpr == 98 ? int8_rounding_bound(q, xn, T) : std::vector<double>());
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

// The products that finish the residual stream (o, down) write x times the next norm's
// weights and their workgroups' sums of x^2, and the next GEMV folds the norm in from those
// (no load of the norm's weights): checked as a pair against the CPU loop of
// x += Wo xo (+ A R), then Wq norm(x) and B norm(x).
TEST_CASE_METHOD(test::VkFixture, "a residual product prepares the next norm and the next GEMV folds it",
                 "[matmul][fused][sweep]") {
    const float eps = 1e-6f;
    for (uint32_t d : {96u, 101u}) {
        for (uint32_t rank : {0u, 16u}) {
            for (uint32_t T : {1u, 5u, 64u}) {
                for (uint32_t tpr : kForms) {
                    ops::MatmulOptions form;
                    if (!gemv_form(ctx, tpr, form)) continue;
                    DYNAMIC_SECTION("d " << d << " rank " << rank << " T " << T << " tpr " << tpr) {
                        const uint32_t Ko = 72, Nc = 45, g = 32, seed = d * 100 + rank + T + tpr;
                        auto wo = test::random_floats(size_t(d) * Ko, seed);
                        auto wc = test::random_floats(size_t(Nc) * d, seed + 1);
                        const Int4Matrix qo = quantize_rtn(wo.data(), d, Ko, g), qc = quantize_rtn(wc.data(), Nc, d, g);
                        const auto norm_w = test::random_floats(d, seed + 2, 0.5f, 2.0f);
                        const auto xo = test::random_floats(size_t(T) * Ko, seed + 3);
                        const auto resid = test::random_floats(size_t(T) * d, seed + 4, -2.0f, 2.0f);
                        auto af = test::random_floats(size_t(d) * std::max(rank, 1u), seed + 5, -0.5f, 0.5f);
                        auto rf = test::random_floats(size_t(T) * std::max(rank, 1u), seed + 6);
                        auto bf = test::random_floats(size_t(rank) * d, seed + 7, -0.2f, 0.2f);
                        std::vector<uint16_t> a(size_t(d) * rank), b(size_t(rank) * d);
                        for (size_t i = 0; i < a.size(); ++i) a[i] = float_to_half(af[i]);
                        for (size_t i = 0; i < b.size(); ++i) b[i] = float_to_half(bf[i]);

                        ops::DeviceMatrix mo = ops::DeviceMatrix::upload_int4(alloc, qo);
                        ops::DeviceMatrix mc = ops::DeviceMatrix::upload_int4(alloc, qc);
                        REQUIRE(mo.attach_output_norm(alloc, norm_w));
                        REQUIRE(mc.attach_input_norm(alloc, norm_w));
                        if (!ops::resid_out_supported(ctx, mo, T, form)) {
                            CHECK(ctx.caps().type != "cpu");  // a GPU's GEMM past 64 tokens
                            continue;
                        }
                        const uint32_t xg_word = uint32_t(GQ_ALIGN_WORDS(T * d)) + 4, ss_word = xg_word + T * d + 1;
                        std::vector<float> x_init(size_t(ss_word) + size_t(T) * d, 0.0f);
                        std::copy(resid.begin(), resid.end(), x_init.begin());
                        vk::Buffer xb = alloc.upload(x_init.data(), x_init.size() * 4);
                        vk::Buffer xob = alloc.upload(xo.data(), xo.size() * 4);
                        vk::Buffer rb = alloc.upload(rf.data(), rf.size() * 4);
                        ops::MatmulOptions po = form;
                        po.accumulate = true;
                        po.resid_out = true;
                        po.xg_word = xg_word;
                        po.ss_word = ss_word;
                        if (rank) {
                            mo.attach_lowrank(alloc, a, rank, {0});
                            po.lowrank_r = &rb;
                            po.r_stride = rank;
                        }
                        ops::DeviceMatrix bm;
                        ops::MatmulOptions co = form;
                        co.norm_input = true;
                        co.norm_pre = true;
                        co.norm_eps = eps;
                        co.x_word = xg_word;
                        co.ss_word = ss_word;
                        const uint32_t r_word = T * Nc;
                        if (rank) {
                            bm = ops::DeviceMatrix::upload_f16(alloc, b.data(), rank, d);
                            mc.attach_lowrank(alloc, std::vector<uint16_t>(size_t(Nc) * rank, 0), rank, {0});
                            co.b_rows = &bm;
                            co.r_word = r_word;
                        }
                        vk::Buffer yb = alloc.allocate((uint64_t(r_word) + uint64_t(T) * rank) * 4);
                        vk::Graph graph(ctx, alloc);
                        auto producer = ops::matmul(ctx, mo, xob, xb, T, po);
                        REQUIRE(producer.size() == 1);
                        co.n_partials = producer[0].groups[0];
                        graph.add(std::move(producer[0]));
                        for (auto& disp : ops::matmul(ctx, mc, xb, yb, T, co)) graph.add(std::move(disp));
                        graph.run();
                        const auto xgot = alloc.read_all<float>(xb);
                        const auto got = alloc.read_all<float>(yb);

                        std::vector<float> xnew(size_t(T) * d);
                        std::vector<double> xwant(xnew.size()), xmag(xnew.size());
                        for (uint32_t t = 0; t < T; ++t)
                            for (uint32_t n = 0; n < d; ++n) {
                                double v = resid[t * d + n], m = std::fabs(v);
                                for (uint32_t k = 0; k < Ko; ++k) {
                                    const double p = double(qo.weight(n, k)) * xo[t * Ko + k];
                                    v += p;
                                    m += std::fabs(p);
                                }
                                for (uint32_t j = 0; j < rank; ++j) {
                                    const double p = double(half_to_float(a[size_t(n) * rank + j])) * rf[t * rank + j];
                                    v += p;
                                    m += std::fabs(p);
                                }
                                xwant[t * d + n] = v;
                                xmag[t * d + n] = m;
                                xnew[t * d + n] = float(v);
                            }
                        // The dot-product form's residual differs from the loop's by its own
                        // rounding (checked above): the next product is checked on its input.
                        if (tpr == 98) std::copy(xgot.begin(), xgot.begin() + long(xnew.size()), xnew.begin());
                        const auto xn = rms_normed(xnew, norm_w, T, d, eps);
                        std::vector<double> want(size_t(T) * Nc), mag(want.size());
                        std::vector<double> r_want(size_t(T) * rank), r_mag(r_want.size());
                        for (uint32_t t = 0; t < T; ++t) {
                            for (uint32_t n = 0; n < Nc; ++n)
                                for (uint32_t k = 0; k < d; ++k) {
                                    const double p = double(qc.weight(n, k)) * xn[t * d + k];
                                    want[t * Nc + n] += p;
                                    mag[t * Nc + n] += std::fabs(p);
                                }
                            for (uint32_t j = 0; j < rank; ++j)
                                for (uint32_t k = 0; k < d; ++k) {
                                    const double p = double(half_to_float(b[size_t(j) * d + k])) * xn[t * d + k];
                                    r_want[t * rank + j] += p;
                                    r_mag[t * rank + j] += std::fabs(p);
                                }
                        }
                        const bool dot = tpr == 98;
                        const double wx = worst_ratio(
                            xgot.data(), xwant, xmag,
                            dot ? int8_rounding_bound(qo, std::vector<double>(xo.begin(), xo.end()), T) : std::vector<double>());
                        const double wy =
                            worst_ratio(got.data(), want, mag, dot ? int8_rounding_bound(qc, xn, T) : std::vector<double>());
                        const double wr = rank ? worst_ratio(got.data() + r_word, r_want, r_mag) : 0.0;
                        INFO("worst error / tolerance: residual " << wx << ", Y " << wy << ", R " << wr);
                        CHECK(wx <= 1.0);
                        CHECK(wy <= 1.0);
                        CHECK(wr <= 1.0);
                    }
                }
            }
        }
    }
}

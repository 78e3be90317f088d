// GlowQ's correction pass: R = X B^T once per group (dense fp16 kernel), then the int4
// GEMV/GEMM epilogue adds A R. Checked against a CPU loop of Wq x + A (B x) for ranks 8 to
// 64, 1 to 64 tokens, shared B (GlowQ: one B, A_cat over fused members) and per-module B
// (each member its own B, reading its slice of R).
#include <cmath>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/ops/matmul.hpp"
#include "support/int8_rounding.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

std::vector<uint16_t> random_half(size_t n, uint32_t seed, float scale) {
    auto f = test::random_floats(n, seed, -scale, scale);
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_half(f[i]);
    return h;
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "low-rank epilogue matches Wq x + A (B x)", "[lowrank][matmul]") {
    const uint32_t K = 200, g = 64;
    const std::vector<uint32_t> member_rows = {33, 17, 17};
    uint32_t N = 0;
    for (uint32_t r : member_rows) N += r;
    for (uint32_t rank : {8u, 16u, 32u, 64u}) {
        for (uint32_t T : {1u, 5u, 64u}) {
            for (bool shared_b : {true, false}) {
                for (auto path : {ops::MatmulPath::Gemv, ops::MatmulPath::Gemm}) {
                    // tpr 0: the device's GEMV, 16: the Lanes kernel reducing over 16 lanes,
                    // 99: the Rows kernel with 3 rows per subgroup, 98: the same with int8 dot
                    // products. GEMM: its choice of tile (0) and 64-token tiles (16).
                    for (uint32_t tpr : {0u, 16u, 99u, 98u}) {
                        const bool gemm = path == ops::MatmulPath::Gemm, rows = tpr >= 98;
                        if (gemm && rows) continue;
                        if (rows && !ops::gemv_rows_supported(ctx.caps())) continue;
                        if (tpr == 98 && !ctx.caps().integer_dot_product) continue;
                        DYNAMIC_SECTION("rank " << rank << " T " << T << (shared_b ? " shared B" : " per-module B")
                                                << " path " << int(path) << " tpr " << tpr) {
                            const uint32_t seed = rank * 100 + T;
                            std::vector<Int4Matrix> members;
                            for (size_t i = 0; i < member_rows.size(); ++i) {
                                auto w = test::random_floats(size_t(member_rows[i]) * K, seed + uint32_t(i));
                                members.push_back(quantize_rtn(w.data(), member_rows[i], K, g));
                            }
                            const uint32_t n_b = shared_b ? 1 : uint32_t(members.size());
                            const uint32_t r_total = rank * n_b;
                            const auto a = random_half(size_t(N) * rank, seed + 10, 0.5f);
                            const auto b = random_half(size_t(r_total) * K, seed + 11, 0.1f);
                            const auto x = test::random_floats(size_t(T) * K, seed + 12);

                            ops::DeviceMatrix dm;
                            std::vector<uint32_t> offsets;
                            if (shared_b) {
                                Int4Matrix fused = Int4Matrix::zeros(N, K, g);
                                size_t c = 0, so = 0;
                                for (const auto& m : members) {
                                    std::copy(m.codes.begin(), m.codes.end(), fused.codes.begin() + long(c));
                                    std::copy(m.scale_offset.begin(), m.scale_offset.end(),
                                              fused.scale_offset.begin() + long(so));
                                    c += m.codes.size();
                                    so += m.scale_offset.size();
                                }
                                dm = ops::DeviceMatrix::upload_int4(alloc, fused);
                                offsets = {0};
                            } else {
                                dm = ops::DeviceMatrix::upload_int4_members(alloc, members);
                                for (uint32_t i = 0; i < n_b; ++i) offsets.push_back(i * rank);
                            }
                            dm.attach_lowrank(alloc, a, rank, offsets);
                            const auto bm = ops::DeviceMatrix::upload_f16(alloc, b.data(), r_total, K);

                            vk::Buffer xb = alloc.upload(x.data(), x.size() * 4);
                            vk::Buffer rb = alloc.allocate(uint64_t(T) * r_total * 4);
                            vk::Buffer yb = alloc.allocate(uint64_t(T) * N * 4);
                            vk::Graph graph(ctx, alloc);
                            for (auto& d : ops::matmul(ctx, bm, xb, rb, T)) graph.add(std::move(d));
                            ops::MatmulOptions mo;
                            mo.path = path;
                            mo.threads_per_row = rows || gemm ? 0 : tpr;
                            mo.gemm_tile_tokens = gemm && tpr == 16 ? 64 : 0;
                            if (rows) {
                                mo.gemv_kernel = ops::GemvKernel::Rows;
                                mo.rows_per_subgroup = 3;
                                mo.k_split = 2;
                                mo.int_dot = tpr == 98 ? ops::IntDot::On : ops::IntDot::Off;
                            }
                            mo.lowrank_r = &rb;
                            mo.r_stride = r_total;
                            for (auto& d : ops::matmul(ctx, dm, xb, yb, T, mo)) graph.add(std::move(d));
                            graph.run();
                            const auto got = alloc.read_all<float>(yb);

                            // CPU: member i of row n; its B rows start at i*rank (per-module) or 0.
                            double worst = 0;
                            for (uint32_t t = 0; t < T; ++t) {
                                uint32_t n = 0;
                                for (size_t i = 0; i < members.size(); ++i) {
                                    const uint32_t boff = shared_b ? 0 : uint32_t(i) * rank;
                                    std::vector<double> r(rank);
                                    for (uint32_t j = 0; j < rank; ++j)
                                        for (uint32_t k = 0; k < K; ++k)
                                            r[j] += double(half_to_float(b[size_t(boff + j) * K + k])) * x[t * K + k];
                                    for (uint32_t m = 0; m < member_rows[i]; ++m, ++n) {
                                        double y = 0, mag = 0;
                                        for (uint32_t k = 0; k < K; ++k) {
                                            const double p = double(members[i].weight(m, k)) * x[t * K + k];
                                            y += p;
                                            mag += std::fabs(p);
                                        }
                                        const auto w_abs = [&](uint32_t k) { return std::fabs(members[i].weight(m, k)); };
                                        const double rounding =
                                            tpr == 98 ? test::int8_rounding_bound(&x[size_t(t) * K], K, w_abs) : 0.0;
                                        for (uint32_t j = 0; j < rank; ++j) {
                                            const double p = double(half_to_float(a[size_t(n) * rank + j])) * r[j];
                                            y += p;
                                            mag += std::fabs(p);
                                        }
                                        worst = std::max(worst, std::fabs(got[t * N + n] - y) /
                                                                    (1e-6 + 1e-5 * mag + 1.001 * rounding));
                                    }
                                }
                            }
                            INFO("worst error / tolerance " << worst);
                            CHECK(worst <= 1.0);
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "low-rank epilogue sums R from parts (silu_mul's PartialR)", "[lowrank][matmul]") {
    const uint32_t K = 200, N = 37, g = 64;
    for (uint32_t rank : {8u, 30u, 64u}) {
        for (uint32_t T : {1u, 5u}) {
            for (uint32_t parts : {1u, 3u, 24u}) {
                for (uint32_t tpr : {0u, 16u}) {  // the device's Lanes GEMV; 16 lanes reducing a row
                    DYNAMIC_SECTION("rank " << rank << " T " << T << " parts " << parts << " tpr " << tpr) {
                        const uint32_t seed = rank * 1000 + T * 100 + parts;
                        auto w = test::random_floats(size_t(N) * K, seed);
                        const Int4Matrix q = quantize_rtn(w.data(), N, K, g);
                        ops::DeviceMatrix dm = ops::DeviceMatrix::upload_int4(alloc, q);
                        const auto a = random_half(size_t(N) * rank, seed + 1, 0.5f);
                        dm.attach_lowrank(alloc, a, rank, {0});
                        const auto x = test::random_floats(size_t(T) * K, seed + 2);
                        // Parts at an odd base, 3 words apart beyond their T x rank.
                        const ops::MatmulOptions::RParts rp{parts, T * rank + 3, 7};
                        const auto rbuf = test::random_floats(rp.base + size_t(parts) * rp.stride, seed + 3);
                        vk::Buffer xb = alloc.upload(x.data(), x.size() * 4), rb = alloc.upload(rbuf.data(), rbuf.size() * 4);
                        vk::Buffer yb = alloc.allocate(uint64_t(T) * N * 4);
                        ops::MatmulOptions mo;
                        mo.path = ops::MatmulPath::Gemv;
                        mo.gemv_kernel = ops::GemvKernel::Lanes;
                        mo.threads_per_row = tpr;
                        mo.lowrank_r = &rb;
                        mo.r_stride = rank;
                        mo.r_parts = rp;
                        vk::Graph graph(ctx, alloc);
                        for (auto& d : ops::matmul(ctx, dm, xb, yb, T, mo)) graph.add(std::move(d));
                        graph.run();
                        const auto got = alloc.read_all<float>(yb);
                        double worst = 0;
                        for (uint32_t t = 0; t < T; ++t)
                            for (uint32_t n = 0; n < N; ++n) {
                                double y = 0, mag = 0;
                                for (uint32_t k = 0; k < K; ++k) {
                                    const double p = double(q.weight(n, k)) * x[t * K + k];
                                    y += p;
                                    mag += std::fabs(p);
                                }
                                for (uint32_t j = 0; j < rank; ++j) {
                                    double r = 0;
                                    for (uint32_t part = 0; part < parts; ++part)
                                        r += rbuf[rp.base + size_t(part) * rp.stride + t * rank + j];
                                    const double p = double(half_to_float(a[size_t(n) * rank + j])) * r;
                                    y += p;
                                    mag += std::fabs(p);
                                }
                                worst = std::max(worst, std::fabs(got[t * N + n] - y) / (1e-6 + 1e-5 * mag));
                            }
                        INFO("worst error / tolerance " << worst);
                        CHECK(worst <= 1.0);
                    }
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "R in parts is refused where no kernel sums them", "[lowrank][matmul]") {
    const uint32_t K = 128, N = 16, rank = 8, T = 2;
    auto w = test::random_floats(size_t(N) * K, 5);
    ops::DeviceMatrix dm = ops::DeviceMatrix::upload_int4(alloc, quantize_rtn(w.data(), N, K, 64));
    dm.attach_lowrank(alloc, random_half(size_t(N) * rank, 6, 0.5f), rank, {0});
    vk::Buffer xb = alloc.allocate(T * K * 4), yb = alloc.allocate(T * N * 4), rb = alloc.allocate(4 * T * rank * 4);
    ops::MatmulOptions mo;
    mo.lowrank_r = &rb;
    mo.r_stride = rank;
    mo.r_parts = {4, T * rank, 0};
    mo.path = ops::MatmulPath::Gemv;
    mo.gemv_kernel = ops::GemvKernel::Lanes;
    CHECK(ops::r_parts_supported(ctx, dm, T, mo));
    CHECK_NOTHROW(ops::matmul(ctx, dm, xb, yb, T, mo));
    mo.r_parts = {4, T * rank - 1, 0};  // parts overlap
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, T, mo), Error);
    mo.r_parts = {5, T * rank, 0};  // the last part runs past the buffer
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, T, mo), Error);
    mo.r_parts = {4, T * rank, 0};
    mo.path = ops::MatmulPath::Gemm;
    CHECK_FALSE(ops::r_parts_supported(ctx, dm, T, mo));
    CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, T, mo), Error);
    if (ops::gemv_rows_supported(ctx.caps())) {
        mo.path = ops::MatmulPath::Gemv;
        mo.gemv_kernel = ops::GemvKernel::Rows;
        CHECK_FALSE(ops::r_parts_supported(ctx, dm, T, mo));
        CHECK_THROWS_AS(ops::matmul(ctx, dm, xb, yb, T, mo), Error);
    }
}

TEST_CASE_METHOD(test::VkFixture, "a low-rank matrix without R is refused", "[lowrank]") {
    auto w = test::random_floats(64 * 64, 1);
    auto dm = ops::DeviceMatrix::upload_int4(alloc, quantize_rtn(w.data(), 64, 64, 32));
    dm.attach_lowrank(alloc, std::vector<uint16_t>(64 * 8, 0), 8, {0});
    vk::Buffer x = alloc.allocate(64 * 4), y = alloc.allocate(64 * 4);
    CHECK_THROWS_AS(ops::matmul(ctx, dm, x, y, 1), Error);
    CHECK_THROWS_AS(dm.attach_lowrank(alloc, std::vector<uint16_t>(64 * 7, 0), 7, {0}), Error);  // odd rank
}

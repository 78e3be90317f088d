// second_moments.comp (the calibration's device sums) against an fp64 CPU loop: odd widths,
// widths past one tile and not a multiple of it, 1 to 64 tokens, S in several slices, sums
// that start afresh and sums that add, with the validation layer on.
#include <algorithm>
#include <cmath>

#include "glowq/error.hpp"
#include "glowq/ops/moments.hpp"
#include "glowq/ops/push_constants.hpp"
#include "glowq/vk/context.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

// x's rows: uniform values with a few features 20x larger (activations have outliers).
std::vector<float> activations(uint32_t tokens, uint32_t dim, uint32_t seed) {
    std::vector<float> x = test::random_floats(size_t(tokens) * dim, seed);
    for (uint32_t t = 0; t < tokens; ++t)
        for (uint32_t j = 3; j < dim; j += 29) x[size_t(t) * dim + j] *= 20.0f;
    return x;
}

struct Sums {
    std::vector<double> s, s_abs, a;  // S (dim x dim), sum |x_i x_j| (the rounding scale), sum |x|
};

void add_cpu(Sums& r, const std::vector<float>& x, uint32_t tokens, uint32_t dim) {
    r.s.resize(size_t(dim) * dim);
    r.s_abs.resize(r.s.size());
    r.a.resize(dim);
    for (uint32_t t = 0; t < tokens; ++t)
        for (uint32_t i = 0; i < dim; ++i) {
            const double xi = x[size_t(t) * dim + i];
            r.a[i] += std::abs(xi);
            for (uint32_t j = 0; j <= i; ++j) {
                const double xj = x[size_t(t) * dim + j];
                r.s[size_t(i) * dim + j] += xi * xj;
                r.s_abs[size_t(i) * dim + j] += std::abs(xi * xj);
            }
        }
}

// Runs the sums over each batch in turn (the first starting afresh) and checks them against
// the CPU's over the same batches.
void check_moments(test::VkFixture& f, uint32_t dim, const std::vector<uint32_t>& batches, uint64_t slice_bytes,
                   size_t want_slices) {
    CAPTURE(dim, slice_bytes);
    const uint32_t max_t = *std::max_element(batches.begin(), batches.end());
    const ops::DeviceMoments m = ops::allocate_moments(f.alloc, dim, slice_bytes);
    CHECK(m.slices.size() == want_slices);
    vk::Buffer x = f.alloc.allocate(uint64_t(max_t) * dim * 4);
    Sums ref;
    for (size_t b = 0; b < batches.size(); ++b) {
        const std::vector<float> xv = activations(batches[b], dim, uint32_t(100 + b));
        f.alloc.write(x, xv.data(), xv.size() * 4);
        add_cpu(ref, xv, batches[b], dim);
        vk::Graph g(f.ctx, f.alloc);
        for (auto& d : ops::accumulate_moments(f.ctx, g.step_buffer(), x, batches[b], m)) g.add(std::move(d));
        g.step()[GQ_STEP_MOMENTS_ADD] = b == 0 ? 0 : 1;
        g.run();
    }
    uint32_t rows_seen = 0;
    size_t bad = 0;
    std::vector<float> a(dim);
    ops::read_moments(f.alloc, m, [&](uint32_t row0, uint32_t rows, const float* s) {
        CHECK(row0 == rows_seen);
        rows_seen += rows;
        for (uint32_t i = row0; i < row0 + rows; ++i)
            for (uint32_t j = 0; j <= i; ++j) {
                const size_t at = size_t(i) * dim + j;
                // fp32 sums: a few roundings per token of the products' magnitudes
                const double tol = 1e-6 * ref.s_abs[at] * 4 + 1e-30;
                bad += std::abs(double(s[size_t(i - row0) * dim + j]) - ref.s[at]) > tol;
            }
    }, a.data());
    CHECK(rows_seen == dim);
    CHECK(bad == 0);
    for (uint32_t j = 0; j < dim; ++j) CHECK(std::abs(double(a[j]) - ref.a[j]) <= 1e-5 * ref.a[j]);
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "device second moments equal an fp64 loop", "[moments]") {
    check_moments(*this, 37, {1}, 0, 1);                    // under one tile, one token
    check_moments(*this, 101, {5, 3}, 0, 1);                // two tiles, the second partial; sums add
    check_moments(*this, 130, {17}, 130 * 4 * 64, 3);       // a slice per tile row: three slices
    check_moments(*this, 200, {64, 1, 40}, 200 * 4 * 128, 2);  // two tile rows per slice, the last partial
    check_moments(*this, 64, {16}, 0, 1);                   // exactly one tile and one token chunk
}

TEST_CASE_METHOD(test::VkFixture, "device second moments start afresh when the step says so", "[moments]") {
    // The second run starts afresh: only its own batch counts.
    const uint32_t dim = 70, T = 9;
    const ops::DeviceMoments m = ops::allocate_moments(alloc, dim);
    vk::Buffer x = alloc.allocate(uint64_t(T) * dim * 4);
    vk::Graph g(ctx, alloc);
    for (auto& d : ops::accumulate_moments(ctx, g.step_buffer(), x, T, m)) g.add(std::move(d));
    Sums ref;
    for (uint32_t run = 0; run < 2; ++run) {
        const std::vector<float> xv = activations(T, dim, 7 + run);
        alloc.write(x, xv.data(), xv.size() * 4);
        if (run == 1) add_cpu(ref, xv, T, dim);
        g.step()[GQ_STEP_MOMENTS_ADD] = 0;
        g.run();
    }
    std::vector<float> a(dim);
    size_t bad = 0;
    ops::read_moments(alloc, m, [&](uint32_t, uint32_t rows, const float* s) {
        for (uint32_t i = 0; i < rows; ++i)
            for (uint32_t j = 0; j <= i; ++j)
                bad += std::abs(s[size_t(i) * dim + j] - ref.s[size_t(i) * dim + j]) > 4e-6 * ref.s_abs[size_t(i) * dim + j];
    }, a.data());
    CHECK(bad == 0);
    for (uint32_t j = 0; j < dim; ++j) CHECK(std::abs(double(a[j]) - ref.a[j]) <= 1e-5 * ref.a[j]);
}

TEST_CASE_METHOD(test::VkFixture, "device second moments refuse what they cannot hold", "[moments]") {
    CHECK_THROWS_AS(ops::allocate_moments(alloc, 0), Error);
    // One tile row of a 1000-wide S is 256000 bytes.
    CHECK_THROWS_WITH(ops::allocate_moments(alloc, 1000, 200000), Catch::Contains("bytes per binding"));
    const ops::DeviceMoments m = ops::allocate_moments(alloc, 50);
    vk::Buffer small = alloc.allocate(50 * 4 * 3);
    vk::Graph g(ctx, alloc);
    CHECK_THROWS_WITH(ops::accumulate_moments(ctx, g.step_buffer(), small, 4, m), Catch::Contains("outside their buffer"));
    CHECK_THROWS_AS(ops::accumulate_moments(ctx, g.step_buffer(), small, 0, m), Error);
}

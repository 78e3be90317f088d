// RTN with searched grids (runtime/src/quant/grid_search.cpp) against plain min-max RTN and
// against narrowed-range grids computed here directly: on awkward shapes (K not a multiple
// of the group), every group's weighted error is at most both, each code is the nearest on
// its stored grid, and on heavy-tailed rows the search removes a real share of the error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/quant/grid_search.hpp"
#include "glowq/quant/lowrank_fit.hpp"

using namespace glowq;
using namespace glowq::quant;
using Eigen::Index;
using Eigen::MatrixXd;

namespace {

// Gaussian rows with a few loud weights, like an LLM's.
std::vector<float> heavy_tailed(uint32_t rows, uint32_t cols, uint64_t seed) {
    const MatrixXd g = seeded_gaussian(rows, cols, seed);
    std::vector<float> w(size_t(rows) * cols);
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c) {
            const double v = 0.02 * g(r, c);
            w[size_t(r) * cols + c] = float((c * 7 + r * 3) % 29 == 0 ? 6.0 * v : v);
        }
    return w;
}

double group_error(const Int4Matrix& q, const std::vector<float>& w, const std::vector<double>& d, uint32_t r,
                   uint32_t j) {
    double e = 0.0;
    for (uint32_t k = j * q.group_size; k < std::min(q.cols, (j + 1) * q.group_size); ++k) {
        const double diff = double(w[size_t(r) * q.cols + k]) - double(q.weight(r, k));
        e += (d.empty() ? 1.0 : d[k]) * diff * diff;
    }
    return e;
}

// The best of the ranges narrowed by 1 - i * step, each grid stored as fp16 with the
// nearest codes (no refit).
double narrowed_error(const float* v, const double* d, uint32_t n) {
    const float mn = *std::min_element(v, v + n), mx = *std::max_element(v, v + n);
    double best = INFINITY;
    for (uint32_t i = 0; i <= kGridShrinkSteps; ++i) {
        const float f = 1.0f - float(i) * kGridShrinkStep;
        const float s = half_to_float(float_to_half((mx - mn) * f / 15.0f)), m = half_to_float(float_to_half(mn * f));
        if (!(s > 0.0f)) continue;
        double e = 0.0;
        for (uint32_t k = 0; k < n; ++k) {
            const float q = std::clamp(std::nearbyint((v[k] - m) / s), 0.0f, 15.0f);
            const double diff = double(v[k]) - double(q * s + m);
            e += (d ? d[k] : 1.0) * diff * diff;
        }
        best = std::min(best, e);
    }
    return best;
}

}  // namespace

TEST_CASE("searched grids are never worse than min-max RTN or a narrowed range", "[grid]") {
    const uint32_t rows = 7;
    for (const uint32_t cols : {37u, 130u, 200u})
        for (const uint32_t g : {32u, 64u, 128u})
            for (const bool weighted : {false, true}) {
                CAPTURE(cols, g, weighted);
                const std::vector<float> w = heavy_tailed(rows, cols, cols + g);
                std::vector<double> d;
                if (weighted) {  // input energies spread over two orders of magnitude, some columns never active
                    const MatrixXd e = seeded_gaussian(cols, 1, g);
                    for (uint32_t k = 0; k < cols; ++k) d.push_back(k % 17 == 5 ? 0.0 : std::exp(2.0 * e(k, 0)));
                }
                const Int4Matrix rtn = quantize_rtn(w.data(), rows, cols, g);
                const Int4Matrix s = quantize_rtn_searched(w.data(), rows, cols, g, d.empty() ? nullptr : d.data());
                REQUIRE(s.groups() == rtn.groups());
                double total_rtn = 0.0, total_s = 0.0;
                for (uint32_t r = 0; r < rows; ++r)
                    for (uint32_t j = 0; j < s.groups(); ++j) {
                        const double es = group_error(s, w, d, r, j), er = group_error(rtn, w, d, r, j);
                        const uint32_t k0 = j * g, n = std::min(cols, k0 + g) - k0;
                        CHECK(es <= er * (1.0 + 1e-12));
                        CHECK(es <= narrowed_error(&w[size_t(r) * cols + k0], d.empty() ? nullptr : d.data() + k0, n) *
                                        (1.0 + 1e-12));
                        total_rtn += er;
                        total_s += es;
                    }
                // Heavy tails leave most weights on a few of the 16 levels: the search
                // removes a real share of the error, weighted or not.
                CHECK(total_s < 0.92 * total_rtn);
                // Every code is the nearest level of its stored grid (the kernels compute
                // q * s + m from the same fp16 values).
                for (uint32_t r = 0; r < rows; ++r)
                    for (uint32_t k = 0; k < cols; ++k) {
                        const uint32_t j = k / g;
                        const float v = w[size_t(r) * cols + k], sc = s.scale(r, j), off = s.offset(r, j);
                        const float here = std::abs(v - s.weight(r, k));
                        const uint32_t q = s.code(r, k);
                        if (q > 0) CHECK(here <= std::abs(v - (float(q - 1) * sc + off)) * (1.0f + 1e-6f));
                        if (q < 15) CHECK(here <= std::abs(v - (float(q + 1) * sc + off)) * (1.0f + 1e-6f));
                    }
            }
    // A constant group keeps its value exactly.
    const std::vector<float> flat(64, 0.25f);
    const Int4Matrix f = quantize_rtn_searched(flat.data(), 1, 64, 64, nullptr);
    for (uint32_t k = 0; k < 64; ++k) CHECK(f.weight(0, k) == Approx(0.25f).epsilon(1e-3));
}

#include "glowq/quant/grid_search.hpp"

#include <algorithm>
#include <cmath>

namespace glowq::quant {

namespace {

// A grid as stored: fp16 scale and offset, dequantizing code q to q * s + m.
struct StoredGrid {
    uint16_t s_half = 0, m_half = 0;
    float s = 0.0f, m = 0.0f;

    static StoredGrid of(float s, float m) {
        StoredGrid g;
        g.s_half = float_to_half(s);
        g.m_half = float_to_half(m);
        g.s = half_to_float(g.s_half);
        g.m = half_to_float(g.m_half);
        return g;
    }
    bool usable() const { return std::isfinite(s) && std::isfinite(m) && s > 0.0f; }
    uint32_t code(float w) const { return uint32_t(std::clamp(std::nearbyint((w - m) / s), 0.0f, 15.0f)); }
};

struct Group {
    const float* v;
    const double* d;  // null: weight 1
    uint32_t n;
    double weight(uint32_t k) const { return d ? d[k] : 1.0; }

    // Weighted squared error of grid g, its codes into q.
    double error(const StoredGrid& g, uint8_t* q) const {
        double e = 0.0;
        for (uint32_t k = 0; k < n; ++k) {
            q[k] = uint8_t(g.code(v[k]));
            const double r = double(v[k]) - (double(q[k]) * g.s + g.m);
            e += weight(k) * r * r;
        }
        return e;
    }
    // The scale and offset that fit codes q best; false where they are degenerate.
    bool refit(const uint8_t* q, float& s, float& m) const {
        double sw = 0, sq = 0, sqq = 0, sv = 0, sqv = 0;
        for (uint32_t k = 0; k < n; ++k) {
            const double w = weight(k), qk = q[k];
            sw += w;
            sq += w * qk;
            sqq += w * qk * qk;
            sv += w * v[k];
            sqv += w * qk * v[k];
        }
        const double det = sw * sqq - sq * sq;
        if (!(det > 1e-12 * sw * sqq)) return false;
        s = float((sw * sqv - sq * sv) / det);
        m = float((sqq * sv - sq * sqv) / det);
        return s > 0.0f;
    }
};

}  // namespace

Int4Matrix quantize_rtn_searched(const float* w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                 const double* col_weight) {
    Int4Matrix out = Int4Matrix::zeros(rows, cols, group_size);
    uint8_t q[128], best_q[128];  // group_size <= 128 (Int4Matrix's layout)
    for (uint32_t r = 0; r < rows; ++r) {
        const float* row = w + size_t(r) * cols;
        for (uint32_t j = 0; j < out.groups(); ++j) {
            const uint32_t k0 = j * group_size, n = std::min(cols, k0 + group_size) - k0;
            const Group grp{row + k0, col_weight ? col_weight + k0 : nullptr, n};
            float mn = grp.v[0], mx = grp.v[0];
            for (uint32_t k = 0; k < n; ++k) {
                mn = std::min(mn, grp.v[k]);
                mx = std::max(mx, grp.v[k]);
            }
            // The min-max grid exactly as plain RTN stores it.
            const Int4Grid g0 = Int4Grid::of_range(mn, mx);
            StoredGrid best;
            best.s_half = g0.s_half;
            best.m_half = g0.m_half;
            best.s = g0.s;
            best.m = half_to_float(g0.m_half);
            for (uint32_t k = 0; k < n; ++k) best_q[k] = uint8_t(g0.code(grp.v[k]));
            double best_e = 0.0;
            for (uint32_t k = 0; k < n; ++k) {
                const double e = double(grp.v[k]) - g0.dequantize(best_q[k]);
                best_e += grp.weight(k) * e * e;
            }
            if (!(mx > mn)) {  // one value: the offset holds it (min-max's zero point cannot)
                const StoredGrid g = StoredGrid::of(half_to_float(0x0001), mn);
                const double e = grp.error(g, q);
                if (g.usable() && e < best_e) {
                    best_e = e;
                    best = g;
                    std::copy(q, q + n, best_q);
                }
            }
            for (uint32_t step = 0; step <= kGridShrinkSteps && mx > mn; ++step) {
                const float f = 1.0f - float(step) * kGridShrinkStep;
                const float lo = mn * f, hi = mx * f;
                StoredGrid g = StoredGrid::of((hi - lo) / 15.0f, lo);
                if (!g.usable()) continue;
                for (int pass = 0; pass < 3; ++pass) {  // the narrowed grid, then two refits
                    const double e = grp.error(g, q);
                    if (e < best_e) {
                        best_e = e;
                        best = g;
                        std::copy(q, q + n, best_q);
                    }
                    float s = 0.0f, m = 0.0f;
                    if (!grp.refit(q, s, m)) break;
                    g = StoredGrid::of(s, m);
                    if (!g.usable()) break;
                }
            }
            out.set_scale_offset(r, j, best.s_half, best.m_half);
            for (uint32_t k = 0; k < n; ++k) out.set_code(r, k0 + k, best_q[k]);
        }
    }
    return out;
}

}  // namespace glowq::quant

// Error propagation's pieces (runtime/src/quant/propagation.cpp) against their
// definitions: the cross sums against a loop over tokens, and the moved weights against
// the least-squares problem they solve, min ||X Wᵀ - X~ W*ᵀ||, solved by a QR of X~.
#include <catch2/catch.hpp>

#include <cmath>

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/quant/lowrank_fit.hpp"
#include "glowq/quant/propagation.hpp"
#include "glowq/quant/quantize_model.hpp"

using namespace glowq;
using namespace glowq::quant;
using Eigen::Index;
using Eigen::MatrixXd;
using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

// Inputs with loud channels, and the same inputs after a small, correlated error.
struct Inputs {
    MatrixXd x, xq;  // tokens x dim
};
Inputs inputs(Index tokens, Index dim, uint64_t seed) {
    Inputs in;
    in.x = seeded_gaussian(tokens, dim, seed);
    for (Index j = 2; j < dim; j += 7) in.x.col(j) *= 5.0;
    in.xq = in.x + 0.05 * in.x * seeded_gaussian(dim, dim, seed + 1) / std::sqrt(double(dim)) +
            0.02 * seeded_gaussian(tokens, dim, seed + 2);
    return in;
}

HostMatrix matrix(uint32_t rows, uint32_t cols, uint64_t seed) {
    HostMatrix m;
    m.rows = rows;
    m.cols = cols;
    const MatrixXd g = seeded_gaussian(rows, cols, seed);
    for (Index r = 0; r < g.rows(); ++r)
        for (Index c = 0; c < g.cols(); ++c) m.data.push_back(float(0.1 * g(r, c)));
    return m;
}

MatrixXd as_double(const HostMatrix& m) {
    return Eigen::Map<const RowMajorF>(m.data.data(), m.rows, m.cols).cast<double>();
}

}  // namespace

TEST_CASE("propagation's cross sums are the mean of (x - x~) x~ᵀ", "[propagation]") {
    ModelConfig c;
    c.n_embd = 24;
    c.n_heads = 3;
    c.n_kv_heads = 1;
    c.head_dim = 5;
    c.n_ff = 37;
    PropagationAccumulator acc(c, 0);
    const Inputs a = inputs(9, 37, 3), b = inputs(4, 37, 7);
    for (const Inputs* in : {&a, &b}) {
        const RowMajorF x = in->x.cast<float>(), xq = in->xq.cast<float>();
        acc.add(TapPoint::FfnDownInput, x.data(), xq.data(), uint32_t(x.rows()), 37);
    }
    const RowMajorF wrong(2, 24);
    CHECK_THROWS_WITH(acc.add(TapPoint::AttnOutput, wrong.data(), wrong.data(), 2, 24), Catch::Contains("expected 15"));
    const auto g = acc.finish();
    MatrixXd ref = MatrixXd::Zero(37, 37);
    for (const Inputs* in : {&a, &b})
        for (Index t = 0; t < in->x.rows(); ++t)
            for (Index i = 0; i < 37; ++i)
                for (Index j = 0; j < 37; ++j) {
                    const double xi = double(float(in->x(t, i))), qi = double(float(in->xq(t, i)));
                    ref(i, j) += (xi - qi) * double(float(in->xq(t, j)));
                }
    ref /= 13.0;
    CHECK((g[size_t(TapPoint::FfnDownInput)] - ref).norm() < 1e-12 * ref.norm());
    CHECK(ref.norm() > 0.0);
    CHECK(g[size_t(TapPoint::AttnInput)].norm() == 0.0);  // no tokens: nothing
}

TEST_CASE("propagated weights solve least squares on the quantized inputs", "[propagation]") {
    // Four inputs of awkward widths; q/k/v and gate/up read one, o and down their own.
    const uint32_t d_in = 21, d_attn = 13, d_ff = 30;
    HostLayer layer;
    layer.wq = matrix(13, d_in, 1);
    layer.wk = matrix(5, d_in, 2);
    layer.wv = matrix(5, d_in, 3);
    layer.wo = matrix(d_in, d_attn, 4);
    layer.w_gate = matrix(d_ff, d_in, 5);
    layer.w_up = matrix(d_ff, d_in, 6);
    layer.w_down = matrix(d_in, d_ff, 7);
    const HostLayer original = layer;
    const std::array<uint32_t, kTapPoints> dims = {d_in, d_attn, d_in, d_ff};
    std::array<Inputs, kTapPoints> in;
    LayerStats st;
    std::array<MatrixXd, kTapPoints> g;
    for (size_t p = 0; p < kTapPoints; ++p) {
        in[p] = inputs(200, dims[p], 10 + 3 * p);
        st[p].second_moment = in[p].xq.transpose() * in[p].xq / 200.0;
        st[p].count = 200;
        g[p] = (in[p].x - in[p].xq).transpose() * in[p].xq / 200.0;
    }
    for (const double alpha : {1.0, 0.5}) {
        CAPTURE(alpha);
        layer = original;
        PropagationOptions o;
        o.alpha = alpha;
        o.damp = 1e-12;  // next to nothing: the exact solution
        propagate_layer(layer, st, g, o);
        for (const auto& m : format::modules()) {
            CAPTURE(m);
            const MatrixXd w = as_double(module_matrix(original, m));
            const Inputs& x = in[size_t(module_input(m))];
            const MatrixXd ls = x.xq.colPivHouseholderQr().solve(x.x * w.transpose()).transpose();
            const MatrixXd want = w + alpha * (ls - w);
            const MatrixXd got = as_double(module_matrix(layer, m));
            CHECK((got - want).norm() < 1e-5 * want.norm());
            CHECK((ls - w).norm() > 1e-2 * w.norm());  // the inputs' error does move the weights
        }
    }
    // Damping pulls the move towards none; alpha 0 leaves the weights as they were.
    layer = original;
    PropagationOptions damped;
    damped.alpha = 1.0;
    damped.damp = 1.0;
    propagate_layer(layer, st, g, damped);
    const MatrixXd w = as_double(original.w_down), ls = in[3].xq.colPivHouseholderQr().solve(in[3].x * w.transpose()).transpose();
    const double moved = (as_double(layer.w_down) - w).norm();
    CHECK(moved > 0.0);
    CHECK(moved < (ls - w).norm());
    layer = original;
    propagate_layer(layer, st, g, PropagationOptions{});
    CHECK(layer.w_down.data == original.w_down.data);
    PropagationOptions bad;
    bad.alpha = 1.5;
    CHECK_THROWS_WITH(propagate_layer(layer, st, g, bad), Catch::Contains("strength"));
    bad.alpha = 0.5;
    bad.damp = 0.0;
    CHECK_THROWS_WITH(propagate_layer(layer, st, g, bad), Catch::Contains("damping"));
}

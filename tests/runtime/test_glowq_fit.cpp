// The low-rank fit of GLOWQ.md section 5 on synthetic errors: exact recovery of a rank-r
// error, the whitened objective against the unwhitened (LQER) fit, the exact and the
// randomized-SVD routes against each other, and the whitening itself.
#include <catch2/catch.hpp>

#include <cmath>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/quant/lowrank_fit.hpp"
#include "glowq/quant/sha256.hpp"

using namespace glowq;
using namespace glowq::quant;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

// Activations with strongly correlated features and a few outlier channels, as LLM inputs.
MatrixXd correlated_activations(Eigen::Index tokens, Eigen::Index n, uint64_t seed) {
    MatrixXd mix = seeded_gaussian(n, n, seed) / std::sqrt(double(n));
    for (Eigen::Index j = 0; j < n; ++j) mix.col(j) *= 1.0 / (1.0 + 0.2 * double(j));
    MatrixXd x = seeded_gaussian(tokens, n, seed + 1) * mix.transpose();
    for (Eigen::Index j = 0; j < n; j += 17) x.col(j) *= 8.0;
    return x;
}

MatrixXd second_moment(const MatrixXd& x) { return x.transpose() * x / double(x.rows()); }

// E = U diag(s) Vᵀ with s_i = decay^i: a spectrum like real quantization errors after
// whitening, on which a randomized SVD with power iterations is accurate.
MatrixXd decaying(Eigen::Index m, Eigen::Index n, double decay, uint64_t seed) {
    const Eigen::Index k = std::min(m, n);
    Eigen::HouseholderQR<MatrixXd> qu(seeded_gaussian(m, k, seed)), qv(seeded_gaussian(n, k, seed + 7));
    const MatrixXd u = qu.householderQ() * MatrixXd::Identity(m, k);
    const MatrixXd v = qv.householderQ() * MatrixXd::Identity(n, k);
    VectorXd s(k);
    for (Eigen::Index i = 0; i < k; ++i) s(i) = std::pow(decay, double(i));
    return u * s.asDiagonal() * v.transpose();
}

MatrixXd fp16_rounded(const MatrixXd& m) {
    return m.unaryExpr([](double v) { return double(half_to_float(float_to_half(float(v)))); });
}

}  // namespace

TEST_CASE("an error of exactly rank r is recovered to fp16 precision", "[glowq]") {
    const uint32_t rows = 96, cols = 160, r = 8, g = 32;
    // Wq: an int4 matrix exactly as stored (random codes, fp16 scales and offsets).
    Int4Matrix q = Int4Matrix::zeros(rows, cols, g);
    uint64_t s = 12345;
    auto next = [&s] { s = s * 6364136223846793005ull + 1442695040888963407ull; return uint32_t(s >> 33); };
    for (uint32_t n = 0; n < rows; ++n) {
        for (uint32_t k = 0; k < cols; ++k) q.set_code(n, k, next() & 15u);
        for (uint32_t j = 0; j < q.groups(); ++j)
            q.set_scale_offset(n, j, float_to_half(0.01f + 0.001f * float(next() % 7)), float_to_half(-0.075f));
    }
    const std::vector<float> wq = q.dequantize();
    const MatrixXd low = seeded_gaussian(rows, r, 1) * seeded_gaussian(r, cols, 2) * 0.002;
    MatrixXd w(rows, cols), e(rows, cols);
    for (uint32_t n = 0; n < rows; ++n)
        for (uint32_t k = 0; k < cols; ++k) {
            w(n, k) = double(wq[size_t(n) * cols + k]) + low(n, k);
            e(n, k) = w(n, k) - double(wq[size_t(n) * cols + k]);
        }
    const MatrixXd x = correlated_activations(512, cols, 5);
    const Whitening wh = Whitening::full(second_moment(x), 0.05);
    for (FitRoute route : {FitRoute::Exact, FitRoute::RandomizedSvd}) {
        CAPTURE(route == FitRoute::Exact ? "exact" : "rsvd");
        const LowRankFit f = fit_low_rank(e, wh, r, route, {10, 2, 99});
        // In fp64 the fit is exact: nothing of E is left.
        CHECK((e - f.a * f.b).norm() <= 1e-9 * e.norm());
        // Stored as fp16, W is recovered to fp16 precision.
        const MatrixXd w_hat = MatrixXd(Eigen::Map<const Eigen::Matrix<float, -1, -1, Eigen::RowMajor>>(wq.data(), rows, cols).cast<double>()) +
                               fp16_rounded(f.a) * fp16_rounded(f.b);
        const double max_err = (w - w_hat).cwiseAbs().maxCoeff();
        CHECK(max_err <= 2e-3 * low.cwiseAbs().maxCoeff());
        CHECK(f.singular.size() == r);
    }
}

TEST_CASE("a rank above the error's rank gives zero factors for the empty directions", "[glowq]") {
    const MatrixXd e = seeded_gaussian(40, 3, 1) * seeded_gaussian(3, 24, 2);
    const LowRankFit f = fit_low_rank(e, Whitening::identity(24), 6, FitRoute::Exact);
    CHECK(f.a.allFinite());
    CHECK(f.b.allFinite());
    CHECK((e - f.a * f.b).norm() <= 1e-9 * e.norm());
    CHECK(f.singular.tail(3).maxCoeff() <= 1e-6 * f.singular(0));
}

TEST_CASE("the whitened fit is not worse than the unwhitened fit on its objective", "[glowq]") {
    for (auto [m, n] : {std::pair<int, int>{192, 64}, {48, 128}}) {
        CAPTURE(m, n);
        const MatrixXd x = correlated_activations(1024, n, 11);
        const Whitening full = Whitening::full(second_moment(x), 0.05);
        const MatrixXd e = seeded_gaussian(m, n, 3) * 0.01;
        for (uint32_t r : {4u, 16u}) {
            const LowRankFit glowq = fit_low_rank(e, full, r, FitRoute::Exact);
            const LowRankFit lqer = fit_low_rank(e, Whitening::identity(n), r, FitRoute::Exact);
            VectorXd mean_abs = x.cwiseAbs().colwise().mean().transpose();
            const LowRankFit l2qer = fit_low_rank(e, Whitening::diagonal(mean_abs, 0.05), r, FitRoute::Exact);
            const double obj_glowq = whitened_residual(e, glowq.a * glowq.b, full);
            const double obj_lqer = whitened_residual(e, lqer.a * lqer.b, full);
            const double obj_l2qer = whitened_residual(e, l2qer.a * l2qer.b, full);
            const double obj_none = whitened_residual(e, MatrixXd::Zero(m, n), full);
            CHECK(obj_glowq <= obj_lqer * (1 + 1e-12));
            CHECK(obj_glowq <= obj_l2qer * (1 + 1e-12));
            CHECK(obj_lqer < obj_none);
            // Optimal: the residual is the tail of the whitened error's spectrum.
            Eigen::JacobiSVD<MatrixXd> svd(full.apply_sqrt(e));
            const double tail = svd.singularValues().tail(svd.singularValues().size() - r).norm();
            CHECK(obj_glowq == Approx(tail).epsilon(1e-9));
            CHECK(glowq.singular.sum() == Approx(svd.singularValues().head(r).sum()).epsilon(1e-9));
            // And the activations' output error itself: || X (E - A B)ᵀ || is what the
            // objective measures up to the shrinkage.
            CHECK((x * (e - glowq.a * glowq.b).transpose()).norm() <= (x * (e - lqer.a * lqer.b).transpose()).norm() * 1.05);
        }
    }
}

TEST_CASE("the exact route and the randomized SVD route agree", "[glowq]") {
    for (auto [m, n] : {std::pair<int, int>{300, 96}, {96, 256}, {64, 64}}) {
        CAPTURE(m, n);
        const MatrixXd x = correlated_activations(512, n, 21);
        const Whitening full = Whitening::full(second_moment(x), 0.05);
        // Decaying in the whitened space, so the leading r directions are well separated.
        const MatrixXd e = full.apply_inv_sqrt(decaying(m, n, 0.85, 4));
        for (uint32_t r : {8u, 32u}) {
            const LowRankFit ex = fit_low_rank(e, full, r, FitRoute::Exact);
            const LowRankFit rs = fit_low_rank(e, full, r, FitRoute::RandomizedSvd, {10, 2, 7});
            for (Eigen::Index i = 0; i < Eigen::Index(r); ++i) CHECK(rs.singular(i) == Approx(ex.singular(i)).epsilon(1e-6));
            CHECK(rs.energy == Approx(ex.energy).epsilon(1e-10));
            // Without the energy: the same factors, energy 0.
            const LowRankFit rs_ne = fit_low_rank(e, full, r, FitRoute::RandomizedSvd, {10, 2, 7, false});
            CHECK(rs_ne.energy == 0.0);
            CHECK(rs_ne.a == rs.a);
            CHECK(rs_ne.b == rs.b);
            // Two power iterations resolve the subspace to about (s_{r+p}/s_r)^5: the
            // product differs slightly, the objective it reaches hardly at all.
            const MatrixXd ab_ex = ex.a * ex.b, ab_rs = rs.a * rs.b;
            CHECK((ab_ex - ab_rs).norm() <= 1e-3 * ab_ex.norm());
            const double obj_ex = whitened_residual(e, ab_ex, full), obj_rs = whitened_residual(e, ab_rs, full);
            CHECK(obj_rs >= obj_ex * (1 - 1e-9));
            CHECK(obj_rs <= obj_ex * (1 + 1e-4));
        }
    }
    // When rank + oversampling covers the whole row space the randomized SVD is exact.
    const MatrixXd e = seeded_gaussian(40, 24, 8);
    const Whitening w = Whitening::full(second_moment(correlated_activations(256, 24, 3)), 0.05);
    const LowRankFit ex = fit_low_rank(e, w, 16, FitRoute::Exact);
    const LowRankFit rs = fit_low_rank(e, w, 16, FitRoute::RandomizedSvd, {10, 2, 1});
    CHECK((ex.a * ex.b - rs.a * rs.b).norm() <= 1e-9 * (ex.a * ex.b).norm());
}

// The fit does not depend on which square root of Σ whitens it (lowrank_fit.hpp): the
// Cholesky factor against the symmetric root, tall and wide errors, both routes.
TEST_CASE("the Cholesky and the symmetric root of Σ give the same fit", "[glowq]") {
    for (auto [m, n] : {std::pair<int, int>{300, 96}, {96, 256}, {64, 64}, {37, 101}}) {
        CAPTURE(m, n);
        const MatrixXd x = correlated_activations(512, n, 31);
        const Whitening chol = Whitening::full(second_moment(x), 0.05, Whitening::Root::Cholesky);
        const Whitening sym = Whitening::full(second_moment(x), 0.05, Whitening::Root::Symmetric);
        const MatrixXd e = sym.apply_inv_sqrt(decaying(m, n, 0.85, 5));
        for (uint32_t r : {8u, 24u}) {
            CAPTURE(r);
            const LowRankFit c_ex = fit_low_rank(e, chol, r, FitRoute::Exact), s_ex = fit_low_rank(e, sym, r, FitRoute::Exact);
            const MatrixXd ab_c = c_ex.a * c_ex.b, ab_s = s_ex.a * s_ex.b;
            CHECK((ab_c - ab_s).norm() <= 1e-9 * ab_s.norm());
            for (Eigen::Index i = 0; i < Eigen::Index(r); ++i)
                CHECK(c_ex.singular(i) == Approx(s_ex.singular(i)).epsilon(1e-10));
            CHECK(c_ex.energy == Approx(s_ex.energy).epsilon(1e-10));
            // A and B themselves: the same up to the sign of each direction.
            for (Eigen::Index i = 0; i < Eigen::Index(r); ++i) {
                const double sign = c_ex.a.col(i).dot(s_ex.a.col(i)) < 0 ? -1.0 : 1.0;
                CHECK((c_ex.a.col(i) - sign * s_ex.a.col(i)).norm() <= 1e-7 * s_ex.a.col(i).norm());
                CHECK((c_ex.b.row(i) - sign * s_ex.b.row(i)).norm() <= 1e-7 * s_ex.b.row(i).norm());
            }
            // The randomized route draws against a rotated basis: as close as it is to exact.
            const LowRankFit c_rs = fit_low_rank(e, chol, r, FitRoute::RandomizedSvd, {10, 2, 3});
            const double obj_ex = whitened_residual(e, ab_s, sym);
            const double obj_rs = whitened_residual(e, c_rs.a * c_rs.b, sym);
            CHECK(obj_rs >= obj_ex * (1 - 1e-9));
            CHECK(obj_rs <= obj_ex * (1 + 1e-4));
        }
    }
}

TEST_CASE("the randomized SVD is reproducible from its seed", "[glowq]") {
    const MatrixXd e = seeded_gaussian(80, 48, 9);
    const Whitening w = Whitening::identity(48);
    const LowRankFit a = fit_low_rank(e, w, 8, FitRoute::RandomizedSvd, {10, 2, 5});
    const LowRankFit b = fit_low_rank(e, w, 8, FitRoute::RandomizedSvd, {10, 2, 5});
    CHECK(a.a == b.a);
    CHECK(a.b == b.b);
}

TEST_CASE("the shrunk whitening squares to Σ and inverts", "[glowq]") {
    const MatrixXd x = correlated_activations(256, 40, 2);
    const MatrixXd c = second_moment(x);
    MatrixXd sigma = 0.95 * c;
    sigma.diagonal().array() += 0.05 * c.trace() / 40.0;
    for (Whitening::Root kind : {Whitening::Root::Cholesky, Whitening::Root::Symmetric}) {
        const Whitening w = Whitening::full(c, 0.05, kind);
        CHECK((w.sigma() - sigma).norm() <= 1e-10 * sigma.norm());
        CHECK(w.root() == kind);
        const MatrixXd root = w.apply_sqrt(MatrixXd::Identity(40, 40));
        if (kind == Whitening::Root::Symmetric)
            CHECK((root - root.transpose()).norm() <= 1e-12 * root.norm());
        else  // the lower Cholesky factor
            CHECK(root.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().norm() == 0.0);
        CHECK((root * root.transpose() - sigma).norm() <= 1e-10 * sigma.norm());
        const MatrixXd id = w.apply_inv_sqrt(root);
        CHECK((id - MatrixXd::Identity(40, 40)).norm() <= 1e-9);
    }
    // Not positive definite (an input that is always zero, no shrinkage): Cholesky cannot
    // factor it, the clamped eigendecomposition takes over.
    MatrixXd singular = c;
    singular.row(7).setZero();
    singular.col(7).setZero();
    const Whitening fallback = Whitening::full(singular, 0.0);
    CHECK(fallback.root() == Whitening::Root::Symmetric);
    const MatrixXd froot = fallback.apply_sqrt(MatrixXd::Identity(40, 40));
    CHECK((froot * froot.transpose() - singular).norm() <= 1e-6 * singular.norm());
    const Whitening w = Whitening::full(c, 0.05);
    CHECK_THROWS_AS(Whitening::full(c, 1.5), Error);
    CHECK_THROWS_AS(fit_low_rank(MatrixXd::Ones(10, 40), w, 11, FitRoute::Exact), Error);
    CHECK_THROWS_AS(fit_low_rank(MatrixXd::Ones(10, 39), w, 2, FitRoute::Exact), Error);
}

TEST_CASE("sha256 matches the FIPS 180-4 examples", "[glowq]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 h;
    const std::string block(1000, 'a');
    for (int i = 0; i < 1000; ++i) h.update(block.data(), block.size());
    CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");  // a million 'a'
}

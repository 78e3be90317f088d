#include "glowq/quant/lowrank_fit.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "glowq/error.hpp"

namespace glowq::quant {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

namespace {

constexpr double kMinEigen = 1e-8;  // GLOWQ.md section 4: λ clamped ≥ 1e-8

void check_alpha(double alpha) {
    if (!(alpha >= 0.0 && alpha <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "shrinkage alpha must be in [0, 1], got " + std::to_string(alpha));
}

// An orthonormal basis of the columns of y (thin Householder Q: the same basis on every run,
// unlike Gram-Schmidt whose rounding depends on the column order of the updates).
MatrixXd orthonormalize(const MatrixXd& y) {
    Eigen::HouseholderQR<MatrixXd> qr(y);
    return qr.householderQ() * MatrixXd::Identity(y.rows(), y.cols());
}

// Factors from the leading singular triplets: a = U S^{1/2}, b = S^{1/2} Vᵀ Σ^{-1/2}, with
// zero singular values giving zero factors rather than 0/0.
struct Triplets {
    MatrixXd u;  // M x r
    VectorXd s;  // r
    MatrixXd v;  // n x r
};

LowRankFit factors(const Triplets& t, const Whitening& w) {
    LowRankFit f;
    f.singular = t.s;
    const VectorXd root = t.s.array().max(0.0).sqrt();
    f.a = t.u * root.asDiagonal();
    f.b = w.apply_inv_sqrt(root.asDiagonal() * t.v.transpose());
    return f;
}

// Leading r eigenpairs of a symmetric PSD Gram matrix, largest first.
void top_eigen(const MatrixXd& gram, uint32_t rank, MatrixXd& vectors, VectorXd& values) {
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(gram);
    if (es.info() != Eigen::Success) throw Error(ErrorKind::Internal, "eigendecomposition of a Gram matrix failed");
    const Index n = gram.rows();
    vectors.resize(n, rank);
    values.resize(rank);
    for (uint32_t i = 0; i < rank; ++i) {  // ascending order from Eigen: take from the end
        vectors.col(i) = es.eigenvectors().col(n - 1 - i);
        values(i) = std::max(0.0, es.eigenvalues()(n - 1 - i));
    }
}

// Zero for directions whose singular value is negligible next to the largest: their
// singular vectors are arbitrary and dividing by s would amplify rounding noise.
VectorXd safe_inverse(const VectorXd& s) {
    const double floor = (s.size() ? s(0) : 0.0) * 1e-12;
    VectorXd inv(s.size());
    for (Index i = 0; i < s.size(); ++i) inv(i) = s(i) > floor && s(i) > 0.0 ? 1.0 / s(i) : 0.0;
    return inv;
}

LowRankFit fit_exact(const MatrixXd& e, const Whitening& w, uint32_t rank) {
    MatrixXd vec;
    VectorXd lambda;
    if (e.cols() <= e.rows()) {
        const MatrixXd x = w.apply_sqrt(e);  // M x n
        MatrixXd g = MatrixXd::Zero(x.cols(), x.cols());
        g.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
        top_eigen(g, rank, vec, lambda);  // the solver reads the lower triangle only
        const double energy = g.diagonal().sum();
        Triplets t;
        t.s = lambda.array().sqrt();
        t.v = vec;
        t.u = x * vec * safe_inverse(t.s).asDiagonal();
        LowRankFit f = factors(t, w);
        f.energy = energy;
        return f;
    }
    // Wide E (down_proj: n_embd x n_ff): the M x M Gram (E Σ^{1/2})(E Σ^{1/2})ᵀ = E Σ Eᵀ is
    // the smaller one and needs no square root of Σ, and
    // B = S^{1/2} V_rᵀ Σ^{-1/2} = S^{-1/2} U_rᵀ E Σ^{1/2} Σ^{-1/2} = S^{-1/2} U_rᵀ E.
    MatrixXd g = w.apply_sigma(e) * e.transpose();
    g = 0.5 * (g + g.transpose()).eval();  // exactly symmetric despite rounding
    top_eigen(g, rank, vec, lambda);
    LowRankFit f;
    f.energy = g.diagonal().sum();
    f.singular = lambda.array().sqrt();
    const VectorXd root = f.singular.array().sqrt();
    const VectorXd inv_root = safe_inverse(f.singular).array().sqrt();
    f.a = vec * root.asDiagonal();
    f.b = inv_root.asDiagonal() * (vec.transpose() * e);
    return f;
}

// The reference implementation reduces E = Q R by a Householder QR first and runs the
// randomized SVD on R Σ^{1/2}. Running it on X = E Σ^{1/2} is the same algorithm (X = Q
// (R Σ^{1/2}): the same draws give Q times the same subspaces), and X is never formed: it
// is only multiplied by thin matrices, X Y = E (S Y) and Zᵀ X = (Zᵀ E) S, so a fit costs
// O(M n l + n² l) instead of the QR's and its explicit Q's 4 M n², most of a 6-minute fit
// of a 7B layer's gate/up group (22016 x 4096; docs/quantize-scale.md). Only the energy
// ||X||_F² needs X (M n²), hence o.energy.
LowRankFit fit_rsvd(const MatrixXd& e, const Whitening& w, uint32_t rank, const RsvdOptions& o) {
    const Index m = e.rows(), n = e.cols(), k = std::min(m, n);
    auto x_times = [&](const MatrixXd& y) -> MatrixXd { return e * w.apply_sqrt_t(y.transpose()).transpose(); };
    auto t_times_x = [&](const MatrixXd& z) -> MatrixXd { return w.apply_sqrt(z.transpose() * e); };  // zᵀ X

    const Index l = std::min<Index>(Index(rank) + Index(o.oversampling), k);
    MatrixXd q = orthonormalize(x_times(seeded_gaussian(n, l, o.seed)));
    for (uint32_t i = 0; i < o.power_iterations; ++i) {
        const MatrixXd z = orthonormalize(t_times_x(q).transpose());
        q = orthonormalize(x_times(z));
    }
    const MatrixXd small = t_times_x(q);  // l x n
    Eigen::JacobiSVD<MatrixXd> svd(small, Eigen::ComputeThinU | Eigen::ComputeThinV);
    Triplets t;
    t.s = svd.singularValues().head(rank);
    t.u = q * svd.matrixU().leftCols(rank);
    t.v = svd.matrixV().leftCols(rank);
    LowRankFit f = factors(t, w);
    f.energy = o.energy ? w.apply_sqrt(e).squaredNorm() : 0.0;
    return f;
}

}  // namespace

Whitening Whitening::full(const MatrixXd& c, double alpha, Root root) {
    check_alpha(alpha);
    if (c.rows() != c.cols() || c.rows() == 0)
        throw Error(ErrorKind::InvalidArgument, "second moment must be square and non-empty, got " +
                                                    std::to_string(c.rows()) + "x" + std::to_string(c.cols()));
    const Index n = c.rows();
    Whitening w;
    w.kind_ = Kind::Full;
    w.n_ = n;
    w.sigma_ = (1.0 - alpha) * c;
    w.sigma_.diagonal().array() += alpha * c.trace() / double(n);
    w.root_ = root;
    return w;
}

void Whitening::compute_roots() const {
    if (roots_) return;
    if (root_ == Root::Cholesky) {
        sqrt_ = sigma_;  // factored in place: one n x n matrix more, not two
        Eigen::LLT<Eigen::Ref<MatrixXd>> llt(sqrt_);
        if (llt.info() == Eigen::Success) {
            roots_ = true;
            return;
        }
        sqrt_ = MatrixXd();
        root_ = Root::Symmetric;  // not positive definite
    }
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(sigma_);
    if (es.info() != Eigen::Success) throw Error(ErrorKind::Internal, "eigendecomposition of the shrunk Σ failed");
    const VectorXd lambda = es.eigenvalues().array().max(kMinEigen);
    const MatrixXd& q = es.eigenvectors();
    sqrt_ = q * lambda.array().sqrt().matrix().asDiagonal() * q.transpose();
    inv_sqrt_ = q * lambda.array().rsqrt().matrix().asDiagonal() * q.transpose();
    roots_ = true;
}

Whitening Whitening::diagonal(const VectorXd& mean_abs, double alpha) {
    check_alpha(alpha);
    if (mean_abs.size() == 0) throw Error(ErrorKind::InvalidArgument, "diagonal whitening of an empty input");
    const VectorXd d2 = mean_abs.array().square();
    const double mean = d2.mean();
    Whitening w;
    w.kind_ = Kind::Diagonal;
    w.n_ = mean_abs.size();
    w.diag_ = ((1.0 - alpha) * d2.array() + alpha * mean).max(kMinEigen).sqrt();
    return w;
}

Whitening Whitening::identity(Index n) {
    Whitening w;
    w.kind_ = Kind::Identity;
    w.n_ = n;
    return w;
}

Whitening::Root Whitening::root() const {
    if (kind_ == Kind::Full) compute_roots();
    return root_;
}

// X S, or X Sᵀ (transposed): they differ only for the Cholesky factor.
MatrixXd Whitening::times_root(const MatrixXd& x, bool transposed) const {
    switch (kind_) {
        case Kind::Full:
            compute_roots();
            if (root_ != Root::Cholesky) return x * sqrt_;  // symmetric
            if (transposed) return x * sqrt_.triangularView<Eigen::Lower>().transpose();
            return x * sqrt_.triangularView<Eigen::Lower>();
        case Kind::Diagonal: return x * diag_.asDiagonal();
        case Kind::Identity: break;
    }
    return x;
}

MatrixXd Whitening::apply_sqrt(const MatrixXd& x) const { return times_root(x, false); }
MatrixXd Whitening::apply_sqrt_t(const MatrixXd& x) const { return times_root(x, true); }

MatrixXd Whitening::apply_inv_sqrt(const MatrixXd& x) const {
    switch (kind_) {
        case Kind::Full:
            compute_roots();
            if (root_ == Root::Cholesky) return sqrt_.triangularView<Eigen::Lower>().solve<Eigen::OnTheRight>(x);
            return x * inv_sqrt_;
        case Kind::Diagonal: return x * diag_.cwiseInverse().asDiagonal();
        case Kind::Identity: break;
    }
    return x;
}

MatrixXd Whitening::apply_sigma(const MatrixXd& x) const {
    switch (kind_) {
        case Kind::Full: return x * sigma_;
        case Kind::Diagonal: return x * diag_.array().square().matrix().asDiagonal();
        case Kind::Identity: break;
    }
    return x;
}

MatrixXd Whitening::sigma() const {
    switch (kind_) {
        case Kind::Full: return sigma_;
        case Kind::Diagonal: return MatrixXd(diag_.array().square().matrix().asDiagonal());
        case Kind::Identity: break;
    }
    return MatrixXd::Identity(n_, n_);
}

LowRankFit fit_low_rank(const MatrixXd& e, const Whitening& w, uint32_t rank, FitRoute route, const RsvdOptions& rsvd) {
    if (w.dim() != e.cols())
        throw Error(ErrorKind::InvalidArgument, "whitening of dimension " + std::to_string(w.dim()) +
                                                    " for an error with " + std::to_string(e.cols()) + " columns");
    const Index k = std::min(e.rows(), e.cols());
    if (rank == 0 || Index(rank) > k)
        throw Error(ErrorKind::InvalidArgument, "rank " + std::to_string(rank) + " is not in [1, " + std::to_string(k) +
                                                    "] for a " + std::to_string(e.rows()) + "x" +
                                                    std::to_string(e.cols()) + " error");
    return route == FitRoute::Exact ? fit_exact(e, w, rank) : fit_rsvd(e, w, rank, rsvd);
}

double whitened_residual(const MatrixXd& e, const MatrixXd& ab, const Whitening& w) {
    return w.apply_sqrt(e - ab).norm();
}

MatrixXd seeded_gaussian(Index rows, Index cols, uint64_t seed) {
    uint64_t s = seed;
    auto next = [&s] {  // SplitMix64
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    };
    auto uniform = [&] { return (double(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };  // (0, 1)
    MatrixXd g(rows, cols);
    const double two_pi = 6.283185307179586476925286766559;
    for (Index j = 0; j < cols; ++j)
        for (Index i = 0; i < rows; ++i) {  // Box-Muller, one value per pair of draws
            const double u1 = uniform(), u2 = uniform();
            g(i, j) = std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
        }
    return g;
}

}  // namespace glowq::quant

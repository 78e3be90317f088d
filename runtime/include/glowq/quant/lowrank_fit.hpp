// The closed-form low-rank fit of GLOWQ.md section 5: given a (stacked) quantization error
// E (M x n) and a whitening of the input space (Σ^{1/2} with Σ^{1/2} Σ^{1/2}ᵀ = Σ),
//     minimize || (E - A B) Σ^{1/2} ||_F   over A (M x r), B (r x n),
// solved by the rank-r SVD of E Σ^{1/2} = U S Vᵀ: A = U_r S_r^{1/2}, B = S_r^{1/2} V_rᵀ Σ^{-1/2}.
// Everything is fp64; rounding to fp16 for storage is the caller's business.
#pragma once
#include <Eigen/Dense>
#include <cstdint>

namespace glowq::quant {

// A whitening of an n-dimensional input space. Full (QERA, GlowQ): symmetric square root of
// the shrunk second moment. Diagonal (L2QER): diag(s). Identity (LQER).
class Whitening {
public:
    enum class Kind { Identity, Diagonal, Full };
    // The square root S (S Sᵀ = Σ) of a full Σ. Any root gives the same fit: the objective
    // || X S ||_F² = tr(X Σ Xᵀ) does not depend on it, and A, B follow from it (GLOWQ.md
    // section 5). Cholesky: the lower factor L, about 1/25 of the work of Symmetric, the
    // eigendecomposition (27 minutes on one core for the 11008-wide input of a 7B
    // down_proj, issue 16), which stays for a Σ that is not positive definite (α = 0
    // with fewer calibration tokens than inputs), with eigenvalues clamped ≥ 1e-8.
    enum class Root { Cholesky, Symmetric };

    // Σ = (1-α) C + α tr(C)/n I, in fp64; its root is computed on first use.
    // Throws Error(InvalidArgument) for a non-square C or α outside [0, 1].
    static Whitening full(const Eigen::MatrixXd& second_moment, double alpha, Root root = Root::Cholesky);
    // Σ = diag(s)² shrunk the same way (towards mean(s²)) so that tiny s_j cannot blow
    // up Σ^{-1/2} in fp16; s_j is the mean |x_j|.
    static Whitening diagonal(const Eigen::VectorXd& mean_abs, double alpha);
    static Whitening identity(Eigen::Index n);

    Kind kind() const { return kind_; }
    Eigen::Index dim() const { return n_; }
    // X Σ^{1/2}, X Σ^{-1/2} and X Σ (X has n columns). The square roots of a full Σ are
    // computed on first use: the exact fit of a wide error needs Σ only, which saves the
    // largest eigendecomposition of a layer (ffn_down's input).
    Eigen::MatrixXd apply_sqrt(const Eigen::MatrixXd& x) const;
    Eigen::MatrixXd apply_sqrt_t(const Eigen::MatrixXd& x) const;  // X (Σ^{1/2})ᵀ
    Eigen::MatrixXd apply_inv_sqrt(const Eigen::MatrixXd& x) const;
    Eigen::MatrixXd apply_sigma(const Eigen::MatrixXd& x) const;
    // Σ itself, n x n (for tests and objective measurements).
    Eigen::MatrixXd sigma() const;
    // The root a full Σ got (Symmetric where Cholesky was asked for but Σ is not positive
    // definite); computes it if needed.
    Root root() const;

private:
    void compute_roots() const;
    Eigen::MatrixXd times_root(const Eigen::MatrixXd& x, bool transposed) const;

    Kind kind_ = Kind::Identity;
    Eigen::Index n_ = 0;
    Eigen::MatrixXd sigma_;                            // Full: the shrunk Σ
    mutable Root root_ = Root::Cholesky;               // Full: asked for, then the one used
    mutable Eigen::MatrixXd sqrt_, inv_sqrt_;          // Full, on first use (Cholesky: L in sqrt_)
    mutable bool roots_ = false;
    Eigen::VectorXd diag_;                             // Diagonal: s (shrunk), so Σ^{1/2} = diag(s)
};

// Exact: the symmetric eigendecomposition (fp64) of the smaller Gram matrix of E Σ^{1/2}:
// Σ^{1/2} Eᵀ E Σ^{1/2} (n x n) for a tall E, E Σ Eᵀ (M x M) for a wide one, deterministic.
// RandomizedSvd: the reference implementation's randomized SVD (seeded, re-orthonormalized
// power iterations) on E Σ^{1/2} directly, where it first QR-reduces E: the same subspaces.
enum class FitRoute { Exact, RandomizedSvd };

struct RsvdOptions {
    uint32_t oversampling = 10;
    uint32_t power_iterations = 2;
    uint64_t seed = 0;
    bool energy = true;  // false: LowRankFit::energy is 0, which saves the fit's one M n² product
};

struct LowRankFit {
    Eigen::MatrixXd a;         // M x r
    Eigen::MatrixXd b;         // r x n
    Eigen::VectorXd singular;  // the r leading singular values of E Σ^{1/2}, descending
    double energy = 0.0;       // ||E Σ^{1/2}||_F², the sum of all squared singular values (see RsvdOptions)
};

// Throws Error(InvalidArgument) when rank is 0 or exceeds min(M, n), or the whitening's
// dimension is not n. Directions whose singular value is zero (E of lower rank than r) get
// zero columns of A and zero rows of B.
LowRankFit fit_low_rank(const Eigen::MatrixXd& error, const Whitening& whitening, uint32_t rank, FitRoute route,
                        const RsvdOptions& rsvd = {});

// || (E - A B) Σ^{1/2} ||_F for the given whitening.
double whitened_residual(const Eigen::MatrixXd& error, const Eigen::MatrixXd& ab, const Whitening& whitening);

// Gaussian draws from a seed, identical on every platform (std::normal_distribution is not).
Eigen::MatrixXd seeded_gaussian(Eigen::Index rows, Eigen::Index cols, uint64_t seed);

}  // namespace glowq::quant

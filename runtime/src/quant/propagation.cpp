#include "glowq/quant/propagation.hpp"

#include <string>

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

using Eigen::MatrixXd;
using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

PropagationAccumulator::PropagationAccumulator(const ModelConfig& c, uint32_t layer) : layer_(layer) {
    for (size_t p = 0; p < kTapPoints; ++p) {
        const uint32_t dim = tap_dim(c, TapPoint(p));
        g_[p] = MatrixXd::Zero(dim, dim);
    }
}

void PropagationAccumulator::add(TapPoint point, const float* x, const float* xq, uint32_t n, uint32_t dim) {
    MatrixXd& g = g_[size_t(point)];
    if (dim != uint32_t(g.rows()))
        throw Error(ErrorKind::Internal, "tap of dimension " + std::to_string(dim) + " at layer " +
                                             std::to_string(layer_) + ", expected " + std::to_string(g.rows()));
    const MatrixXd xq64 = Eigen::Map<const RowMajorF>(xq, n, dim).cast<double>();
    const MatrixXd d64 = Eigen::Map<const RowMajorF>(x, n, dim).cast<double>() - xq64;
    g.noalias() += d64.transpose() * xq64;
    count_[size_t(point)] += n;
}

std::array<MatrixXd, kTapPoints> PropagationAccumulator::finish() {
    for (size_t p = 0; p < kTapPoints; ++p)
        if (count_[p]) g_[p] /= double(count_[p]);
    return std::move(g_);
}

void propagate_layer(HostLayer& layer, const LayerStats& st, const std::array<MatrixXd, kTapPoints>& g,
                     const PropagationOptions& o) {
    if (!(o.alpha >= 0.0 && o.alpha <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "propagation strength must be in [0, 1], got " + std::to_string(o.alpha));
    if (!(o.damp > 0.0 && o.damp <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "propagation damping must be in (0, 1], got " + std::to_string(o.damp));
    if (o.alpha == 0.0) return;
    // M = alpha G H~⁻¹ per input; Mᵀ = alpha H~⁻¹ Gᵀ from one Cholesky factorization.
    std::array<MatrixXd, kTapPoints> mt;
    for (size_t p = 0; p < kTapPoints; ++p) {
        const MatrixXd& h = st[p].second_moment;
        if (st[p].count == 0 || h.rows() != g[p].rows()) continue;
        MatrixXd hd = h;
        const double mean_diag = h.diagonal().mean();
        if (!(mean_diag > 0.0)) continue;
        hd.diagonal().array() += o.damp * mean_diag;
        Eigen::LLT<MatrixXd> llt(hd);
        if (llt.info() != Eigen::Success) continue;  // left as is: the inputs give no move
        mt[p] = o.alpha * llt.solve(g[p].transpose());
    }
    for (const auto& m : format::modules()) {
        const MatrixXd& t = mt[size_t(module_input(m))];
        if (t.size() == 0) continue;
        HostMatrix& w = module_matrix(layer, m);
        Eigen::Map<RowMajorF> wm(w.data.data(), w.rows, w.cols);
        const MatrixXd w64 = wm.cast<double>();
        // W M = W (Mᵀ)ᵀ
        wm = (w64 + w64 * t.transpose()).cast<float>();
    }
}

}  // namespace glowq::quant

#include "glowq/quant/gptq.hpp"

#include <numeric>
#include <string>
#include <vector>

#include "glowq/error.hpp"

namespace glowq::quant {

using Eigen::Index;
using Eigen::MatrixXd;

namespace {

Int4Grid grid_of(const MatrixXd& w, Index row, Index c0, Index c1) {
    double mn = w(row, c0), mx = w(row, c0);
    for (Index c = c0; c < c1; ++c) {
        mn = std::min(mn, w(row, c));
        mx = std::max(mx, w(row, c));
    }
    return Int4Grid::of_range(float(mn), float(mx));
}

}  // namespace

Int4Matrix quantize_gptq(const float* wp, uint32_t rows, uint32_t cols, uint32_t group_size, const MatrixXd& h_in,
                         const GptqOptions& o) {
    if (h_in.rows() != Index(cols) || h_in.cols() != Index(cols))
        throw Error(ErrorKind::InvalidArgument, "GPTQ of a " + std::to_string(rows) + "x" + std::to_string(cols) +
                                                    " matrix needs a " + std::to_string(cols) + "x" +
                                                    std::to_string(cols) + " second moment, got " +
                                                    std::to_string(h_in.rows()) + "x" + std::to_string(h_in.cols()));
    if (!(o.damp > 0.0 && o.damp <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "GPTQ damping must be in (0, 1], got " + std::to_string(o.damp));
    Int4Matrix q = Int4Matrix::zeros(rows, cols, group_size);
    const Index n = cols, g = group_size;

    // Column order: natural, or by decreasing H_jj (the columns whose error costs most go
    // first, while the most columns remain to absorb it).
    std::vector<Index> perm(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), Index(0));
    if (o.act_order)
        std::stable_sort(perm.begin(), perm.end(), [&](Index a, Index b) { return h_in(a, a) > h_in(b, b); });

    MatrixXd w(rows, n), h(n, n);
    for (Index c = 0; c < n; ++c) {
        for (Index r = 0; r < Index(rows); ++r) w(r, c) = double(wp[size_t(r) * cols + size_t(perm[size_t(c)])]);
        for (Index c2 = 0; c2 < n; ++c2) h(c, c2) = h_in(perm[size_t(c)], perm[size_t(c2)]);
    }
    // act-order: the grids of the layout's contiguous groups are fixed from W before any
    // update (a group's columns are spread over the order).
    std::vector<Int4Grid> fixed;
    if (o.act_order) {
        MatrixXd w0(rows, n);
        for (Index r = 0; r < Index(rows); ++r)
            for (Index c = 0; c < n; ++c) w0(r, c) = double(wp[size_t(r) * cols + size_t(c)]);
        fixed.resize(size_t(rows) * q.groups());
        for (Index r = 0; r < Index(rows); ++r)
            for (uint32_t j = 0; j < q.groups(); ++j)
                fixed[size_t(r) * q.groups() + j] = grid_of(w0, r, Index(j) * g, std::min(n, Index(j + 1) * g));
        for (Index r = 0; r < Index(rows); ++r)
            for (uint32_t j = 0; j < q.groups(); ++j) {
                const Int4Grid& gr = fixed[size_t(r) * q.groups() + j];
                q.set_scale_offset(uint32_t(r), j, gr.s_half, gr.m_half);
            }
    }

    double mean_diag = 0.0;
    for (Index c = 0; c < n; ++c) {
        if (h(c, c) <= 0.0) {  // never active: nothing to weigh its error against
            h.row(c).setZero();
            h.col(c).setZero();
            h(c, c) = 1.0;
        }
        mean_diag += h(c, c);
    }
    mean_diag /= double(n);
    h.diagonal().array() += o.damp * mean_diag;
    // U: the upper Cholesky factor of H⁻¹. Row i of U, divided by U_ii, is how column i's
    // error moves the later columns once the earlier ones are fixed.
    const MatrixXd hinv = h.llt().solve(MatrixXd::Identity(n, n));
    Eigen::LLT<MatrixXd> llt(hinv);
    if (llt.info() != Eigen::Success)
        throw Error(ErrorKind::Internal, "GPTQ: the damped second moment is not positive definite");
    const MatrixXd u = llt.matrixU();

    // Lazy blocks of one group each: within a block the updates are rank-1, the columns after
    // it are updated once per block (a matrix product), and a group's grid is chosen when its
    // first column comes up, from weights that every earlier error has updated.
    std::vector<Int4Grid> current(rows);
    for (Index b0 = 0; b0 < n; b0 += g) {
        const Index b1 = std::min(n, b0 + g), bn = b1 - b0;
        MatrixXd err(rows, bn);
        if (!o.act_order)
            for (Index r = 0; r < Index(rows); ++r) {
                current[size_t(r)] = grid_of(w, r, b0, b1);
                q.set_scale_offset(uint32_t(r), uint32_t(b0 / g), current[size_t(r)].s_half, current[size_t(r)].m_half);
            }
        for (Index i = 0; i < bn; ++i) {
            const Index c = b0 + i, orig = perm[size_t(c)];
            const double d = u(c, c);
            for (Index r = 0; r < Index(rows); ++r) {
                const Int4Grid& gr = o.act_order ? fixed[size_t(r) * q.groups() + size_t(orig / g)] : current[size_t(r)];
                const uint32_t code = gr.code(float(w(r, c)));
                q.set_code(uint32_t(r), uint32_t(orig), code);
                err(r, i) = (w(r, c) - double(gr.dequantize(code))) / d;
            }
            if (i + 1 < bn) w.block(0, c + 1, rows, bn - i - 1).noalias() -= err.col(i) * u.row(c).segment(c + 1, bn - i - 1);
        }
        if (b1 < n) w.rightCols(n - b1).noalias() -= err * u.block(b0, b1, bn, n - b1);
    }
    return q;
}

double output_error(const float* w, const Int4Matrix& q, const MatrixXd& h) {
    MatrixXd e(q.rows, q.cols);
    for (uint32_t r = 0; r < q.rows; ++r)
        for (uint32_t c = 0; c < q.cols; ++c) e(r, c) = double(w[size_t(r) * q.cols + c]) - double(q.weight(r, c));
    return (e * h).cwiseProduct(e).sum();
}

}  // namespace glowq::quant

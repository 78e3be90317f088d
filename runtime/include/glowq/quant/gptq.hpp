// GPTQ (Frantar et al., 2022) as a base quantizer in glowq's int4 layout: columns are
// quantized one at a time and each one's rounding error is spread over the columns not yet
// quantized, weighted by the inverse of H = the second moment of the module's input (the
// layer-wise Hessian of ||(W - Wq) X||² up to a factor), so that the output error on the
// calibration inputs is what is minimized rather than the weight error. Every group's grid
// (fp16 scale and offset, asymmetric, per row) is chosen from the group's weights as
// updated when quantization reaches it. GlowQ's low-rank fit then corrects E = W - Wq.
#pragma once
#include <Eigen/Dense>
#include <cstdint>

#include "glowq/int4_matrix.hpp"

namespace glowq::quant {

struct GptqOptions {
    double damp = 0.01;      // H += damp * mean(diag H) * I before inverting
    // Columns by decreasing H_jj, group grids fixed from W first; natural order (each grid
    // from the updated weights) measured worse than RTN on SmolLM2 (docs/results.md).
    bool act_order = true;
};

// w: rows x cols, row-major. second_moment: cols x cols, symmetric. Columns of H that are
// zero (inputs never active) are quantized by rounding alone. Throws Error(InvalidArgument)
// for mismatched sizes or a damping outside (0, 1].
Int4Matrix quantize_gptq(const float* w, uint32_t rows, uint32_t cols, uint32_t group_size,
                         const Eigen::MatrixXd& second_moment, const GptqOptions& options = {});

// tr((W - Wq) H (W - Wq)ᵀ): the summed squared output error over inputs whose second
// moment is H (per token); what GPTQ minimizes and RTN ignores.
double output_error(const float* w, const Int4Matrix& q, const Eigen::MatrixXd& second_moment);

}  // namespace glowq::quant

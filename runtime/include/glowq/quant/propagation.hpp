// Quantization error propagation (after Arai & Ichikawa, "Quantization Error Propagation:
// Revisiting Layer-Wise Post-Training Quantization", 2025). Layer-wise quantization fits
// each layer to the unquantized model's inputs X, but at inference the layer sees X~, the
// inputs the already-quantized layers before it produce. So the streamed quantizer runs a
// second residual stream through the quantized (and corrected) layers, and each module
// first moves to the weights that best map X~ onto the unquantized output:
//   W* = argmin ||X Wᵀ - X~ W*ᵀ||  =  W + W G H~⁻¹,   G = (X - X~)ᵀ X~,   H~ = X~ᵀ X~
// (damped, and with a strength alpha in [0, 1]), then quantizes and corrects W* with H~ as
// the weighting: the int4 codes and the low-rank correction both absorb what the layers
// before them got wrong.
#pragma once
#include <Eigen/Dense>
#include <array>
#include <cstdint>

#include "glowq/model/forward.hpp"
#include "glowq/model/host_weights.hpp"
#include "glowq/quant/calibration.hpp"

namespace glowq::quant {

struct PropagationOptions {
    double alpha = 0.0;   // 0: off; 1: the full least-squares move
    double damp = 0.01;   // H~ += damp * mean(diag H~) * I before solving
    // Whether the int4 codes quantize the moved weights too, or only the correction fits
    // them (codes of W, correction of W* - Wq: its few ranks keep the move's leading
    // directions, not the noise a full K x K least-squares fit picks up from few tokens).
    bool into_codes = false;
};

// The sums G = Σ (x - x~) x~ᵀ of one layer's four inputs, in fp64, over token vectors
// tapped at the same point of the unquantized (x) and the quantized (x~) stream.
class PropagationAccumulator {
public:
    PropagationAccumulator(const ModelConfig& config, uint32_t layer);
    // Throws Error(Internal) for a dimension other than the model's at that point. Calls for
    // different points may run at once.
    void add(TapPoint point, const float* x, const float* x_quantized, uint32_t n_tokens, uint32_t dim);
    // G / N per input (N: token vectors added), to pair with the statistics' H~ / N.
    std::array<Eigen::MatrixXd, kTapPoints> finish();

private:
    uint32_t layer_;
    std::array<Eigen::MatrixXd, kTapPoints> g_;
    std::array<uint64_t, kTapPoints> count_{};
};

// Moves every quantized module of `layer` to W + alpha W G H~⁻¹ (its input's G and H~;
// inputs without tokens are left alone). Throws Error(InvalidArgument) for alpha outside
// [0, 1] or damp outside (0, 1].
void propagate_layer(HostLayer& layer, const LayerStats& quantized_stats,
                     const std::array<Eigen::MatrixXd, kTapPoints>& g, const PropagationOptions& options);

}  // namespace glowq::quant

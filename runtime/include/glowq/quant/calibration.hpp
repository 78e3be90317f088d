// Calibration statistics (GLOWQ.md section 4): the unquantized model runs over calibration
// text and, for every layer, the four group inputs (TapPoint) accumulate the uncentered
// second moment C = (1/N) Σ x xᵀ (fp64) and the mean absolute value per feature (L2QER).
//
// Windows: the token sequence is cut into non-overlapping windows, each evaluated from an
// empty context. When the vocabulary adds BOS, each window's first token is replaced by
// BOS (as `glowq ppl` and llama-perplexity feed text), so the statistics describe the
// activations the model sees at inference; otherwise windows are raw text (the reference
// implementation's "no BOS").
#pragma once
#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "glowq/model/host_weights.hpp"
#include "glowq/model/reference.hpp"

namespace glowq::quant {

struct InputStats {
    Eigen::MatrixXd second_moment;  // C, n x n, symmetric (both triangles filled)
    Eigen::VectorXd mean_abs;       // mean |x_j|
    uint64_t count = 0;             // N: token vectors seen
};

// One layer's four inputs, indexed by uint32_t(TapPoint).
using LayerStats = std::array<InputStats, kTapPoints>;

struct CalibrationStats {
    std::vector<LayerStats> layers;
    uint64_t tokens = 0;    // tokens evaluated
    uint32_t window = 0;
    std::string text_sha256;  // provenance, filled by the caller

    // Binary file (little-endian fp64) for reuse across runs of the same calibration; load
    // throws Error(Io) for an unreadable or malformed file.
    void save(const std::string& path) const;
    static CalibrationStats load(const std::string& path);
};

// The calibration windows of a token sequence: at most max_tokens tokens in windows of
// `window`, starting at token `first`; bos >= 0 replaces each window's first token.
std::vector<std::vector<int32_t>> calibration_windows(const std::vector<int32_t>& tokens, size_t first,
                                                      size_t max_tokens, uint32_t window, int32_t bos);

// The statistics of one layer's four inputs as its taps arrive (fp64 sums of x xᵀ, lower
// triangle, and of |x|); finish() divides by the count and fills both triangles. Shared by
// collect_calibration and the streamed quantizer so both sum in the same order.
class LayerStatsAccumulator {
public:
    LayerStatsAccumulator(const ModelConfig& config, uint32_t layer);
    // Throws Error(Internal) for a dimension other than the model's at that point. Calls for
    // different points may run at once (each has its own sums).
    void add(TapPoint point, const float* x, uint32_t n_tokens, uint32_t dim);
    // Sums gathered elsewhere (a device's, ops::DeviceMoments), in fp32: rows [row0, row0 +
    // rows) of the sum of x x^T (dim floats each, read on and below the diagonal), and the
    // sums of |x| over `count` token vectors. Throws Error(Internal) for rows past the input,
    // or for an input that add() has summed too.
    void add_sum_rows(TapPoint point, uint32_t row0, uint32_t rows, const float* s);
    void add_abs_sums(TapPoint point, const float* abs, uint64_t count);
    LayerStats finish();

private:
    uint32_t layer_;
    LayerStats stats_;
    std::array<Eigen::VectorXd, kTapPoints> abs_sum_;  // kept apart so mean_abs is divided once
    // Which triangle each input's sums are in: add's rank updates fill the lower one,
    // add_sum_rows the upper one (contiguous there); one input takes one or the other.
    std::array<int, kTapPoints> triangle_{};  // 0: no sums yet
};

// Runs the fp32 CPU reference over the windows. progress(done, total) after each window.
CalibrationStats collect_calibration(std::shared_ptr<const HostWeights> weights,
                                     const std::vector<std::vector<int32_t>>& windows,
                                     const std::function<void(uint32_t, uint32_t)>& progress = {});

}  // namespace glowq::quant

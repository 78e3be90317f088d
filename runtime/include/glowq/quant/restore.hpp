// GlowQ-S (GLOWQ.md section 7): rank the units of a fitted GlowQ model by a score and keep
// the correction of the top k only. Beyond the paper, k can be chosen automatically: the
// smallest k whose perplexity on held-out calibration text is within a tolerance of full
// GlowQ, found by bisection (perplexity falls as units are restored, so the first k inside
// the tolerance is a boundary a bisection can find with log2(units) evaluations).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

enum class UnitScore { Gsvd, NormError };
UnitScore parse_unit_score(const std::string& name);  // "gsvd" | "norm_error"

// Indices into model.groups, highest score first (ties: file order).
std::vector<size_t> unit_order(const QuantizedModel& model, UnitScore score);
// Restores exactly the first k units of `order`.
void restore_top(QuantizedModel& model, const std::vector<size_t>& order, size_t k);

struct RestoreEval {
    size_t k = 0;
    double ppl = 0.0;
};

struct AutoRestore {
    size_t k = 0;             // units restored
    double ppl_full = 0.0;    // every unit restored (full GlowQ)
    double ppl_chosen = 0.0;
    double target = 0.0;      // ppl_full * (1 + tolerance)
    std::vector<RestoreEval> evaluated;
};

struct AutoRestoreOptions {
    double tolerance = 0.005;
    uint32_t ctx = 512;   // perplexity windows (protocol "all": every token after the first)
    int32_t bos = -1;     // replaces each window's first token when >= 0
    // After each evaluation: evaluations done, the most there can be, k, its perplexity.
    std::function<void(uint32_t, uint32_t, size_t, double)> progress;
};

// Chooses k for `order` over the held-out tokens and leaves model restored to it. base
// supplies the tensors that are not quantized (embedding, norms, output).
AutoRestore restore_auto(QuantizedModel& model, const HostWeights& base, const std::vector<size_t>& order,
                         const std::vector<int32_t>& heldout, const AutoRestoreOptions& options);

}  // namespace glowq::quant

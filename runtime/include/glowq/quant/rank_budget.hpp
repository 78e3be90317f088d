// Ranks placed where they help: under a byte budget for the corrections, each group's rank
// is chosen from the singular values its fit already computed. Raising a group's rank from
// r to r + k removes s_{r+1}² + ... + s_{r+k}² of its whitened squared error
// ||(E - A B) Σ^{1/2}||² (the expected squared error of its outputs on the calibration
// inputs) and costs k (rows + cols) fp16 values. Steps are taken greedily by error removed
// per byte; since singular values fall, each group's steps come in order and its gains per
// byte fall, so with equal costs per rank the greedy choice is the best one (a test checks
// it against an exhaustive search); with unequal costs it can leave part of a step unspent.
// Steps that remove nothing (an error of lower rank) are never bought.
// GlowQ-S's selection is the special case of steps of a whole rank: a group may get none.
#pragma once
#include <cstdint>
#include <vector>

#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

// Ranks move in steps of 8: the kernels' rank loops take pairs and 8 keeps A's rows aligned.
constexpr uint32_t kRankStep = 8;

struct RankCandidate {
    std::vector<double> singular;  // descending; its length is the largest rank allowed
    uint64_t bytes_per_rank = 0;   // (rows + cols) * 2 for fp16 A and B
};

// The rank of each candidate (a multiple of step, at most singular.size() rounded down to
// a step), with the summed bytes at most budget_bytes.
std::vector<uint32_t> allocate_ranks(const std::vector<RankCandidate>& candidates, uint64_t budget_bytes,
                                     uint32_t step);

// The model's groups as candidates (in qm.groups order), from their fits, their singular
// values scaled so that a step's gain is in the measure's units.
std::vector<RankCandidate> rank_candidates(const QuantizedModel& qm, BudgetMeasure measure = BudgetMeasure::Share);

// Cuts every group's factors to its rank (the fit's leading directions: a rank-r prefix of
// the optimal rank-R factors is the optimal rank-r one); rank 0 leaves it unrestored.
// Throws Error(InvalidArgument) for a rank above a group's or a count that does not match.
void apply_ranks(QuantizedModel& qm, const std::vector<uint32_t>& ranks);

}  // namespace glowq::quant

// `glowq quantize`'s core: RTN int4 of every linear module (GLOWQ.md section 3) and the
// low-rank corrections of section 5, for GlowQ and for the baselines fitted by the same
// code so that comparisons are fair:
//   rtn    no correction
//   lqer   per module, Σ = I
//   l2qer  per module, Σ = diag(s)² with s_j = mean |x_j| (shrunk like the full Σ)
//   qera   per module, full shrunk Σ (q/k/v share it: they read the same input)
//   glowq  one B per input-sharing group (qkv, gate_up; attn_output and ffn_down alone)
//   glowq-s  glowq, then only the top-scored units keep their correction (section 7)
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "glowq/int4_matrix.hpp"
#include "glowq/model/host_weights.hpp"
#include "glowq/model/reference.hpp"
#include "glowq/quant/calibration.hpp"
#include "glowq/quant/gptq.hpp"
#include "glowq/quant/lowrank_fit.hpp"

namespace glowq::quant {

enum class Method { Rtn, Lqer, L2qer, Qera, Glowq, GlowqS };

// The int4 codes under the correction: round to nearest, or GPTQ (needs calibration).
enum class Base { Rtn, Gptq };
Base parse_base(const std::string& name);  // "rtn" | "gptq"; throws Error(InvalidArgument)
const char* base_name(Base b);

// Each RTN group's grid: from its range (min-max), or searched (grid_search.hpp) by the error
// weighted by the input's mean squares, which needs calibration statistics (unweighted, the
// search made SmolLM2's RTN worse: it clips the large weights the loud inputs multiply).
enum class Grid { MinMax, Search };
Grid parse_grid(const std::string& name);  // "minmax" | "search"; throws Error(InvalidArgument)
const char* grid_name(Grid g);

// "rtn", "lqer", ...; parse throws Error(InvalidArgument) listing the methods.
Method parse_method(const std::string& name);
const char* method_name(Method m);
bool has_correction(Method m);      // all but rtn
bool needs_calibration(Method m);   // l2qer, qera, glowq, glowq-s
bool shares_groups(Method m);       // glowq, glowq-s

// What a budget's step is worth: the whitened squared error it removes (Error), or that as a
// share of the group's whitened error before correction (Share). On SmolLM2 neither beat
// one rank for all at the same bytes (docs/design-notes.md, "Accuracy per byte").
enum class BudgetMeasure { Error, Share };
BudgetMeasure parse_budget_measure(const std::string& name);  // "error" | "share"

struct QuantizeOptions {
    Method method = Method::Glowq;
    uint32_t group_size = 128;
    uint32_t rank = 64;
    double alpha = 0.05;
    FitRoute route = FitRoute::Exact;
    uint64_t seed = 0;  // the randomized SVD's draws; each group derives its own stream
    Base base = Base::Rtn;
    Grid grid = Grid::MinMax;
    GptqOptions gptq;
    // > 0: correction bytes at most this fraction of the int4 bytes, ranks chosen per group
    // (multiples of kRankStep up to `rank`, zero allowed) by what a step is worth per byte
    // under budget_measure (rank_budget.hpp); 0: every group at `rank`.
    double budget = 0.0;
    // Ranks of particular units by name ("qkv", "gate_up", "attn_output", "ffn_down"; for the
    // per-module methods a module's name), in every layer; the others get `rank`. Not with a
    // budget, which chooses every unit's rank.
    std::map<std::string, uint32_t> unit_ranks;
    BudgetMeasure budget_measure = BudgetMeasure::Share;
    // Threads for the modules' quantization, Σ's roots and the group fits of a layer (the
    // result does not depend on it: each piece is computed alone, from its own seed).
    uint32_t threads = 1;
};

// Whether quantize_model needs calibration statistics for these options.
bool needs_statistics(const QuantizeOptions& o);

// One correction group: its members share B (for per-module methods, one member).
struct CorrectionGroup {
    uint32_t layer = 0;
    std::string name;                  // "qkv", "gate_up", or the module name
    std::vector<std::string> members;  // stacking order of A
    uint32_t cols = 0;
    uint32_t rank = 0;
    std::vector<uint16_t> b;           // rank x cols, fp16, row-major
    double gsvd = 0.0;                 // Σ_i ||A_i||_F² = sum of the r leading singular values
    double norm_error = 0.0;           // ||E_g||_F / ||W_g||_F over the stacked group
    std::vector<double> singular;      // the leading singular values of E_g Σ^{1/2} (fit rank)
    double error_energy = 0.0;         // ||E_g Σ^{1/2}||_F²: the whitened error before correction
                                       // (0 from the randomized route without a budget)
    std::string whitening;             // how its input was whitened: cholesky, symmetric, diagonal, identity
    bool restored = true;              // false: the file carries no correction for it

    std::string unit_name() const { return "blk." + std::to_string(layer) + "." + name; }
};

struct ModuleQuant {
    Int4Matrix q;
    std::vector<uint16_t> a;  // rows x rank, fp16, row-major; empty for rtn
    int32_t group = -1;       // index into QuantizedModel::groups, -1 for rtn
};

struct QuantizedModel {
    Method method = Method::Rtn;
    Base base = Base::Rtn;
    Grid grid = Grid::MinMax;
    uint32_t group_size = 0;
    uint32_t rank = 0;  // the largest group's (max_rank() when quantize_model returns)
    std::vector<std::map<std::string, ModuleQuant>> layers;  // module name -> quantized
    std::vector<CorrectionGroup> groups;                     // layer-major, format::units() order

    const CorrectionGroup* correction_of(uint32_t layer, const std::string& module) const;
    std::vector<std::string> restored_units() const;
    uint64_t int4_bytes() const;        // codes + scales + offsets as stored (2+2 bytes per group)
    uint64_t correction_bytes() const;  // fp16 A and B of restored groups
    uint32_t max_rank() const;          // over restored groups
};

// The module names of format::modules() mapped onto HostLayer's matrices.
const HostMatrix& module_matrix(const HostLayer& layer, const std::string& module);
HostMatrix& module_matrix(HostLayer& layer, const std::string& module);
TapPoint module_input(const std::string& module);

// Quantizes and fits every layer of `weights` (the unquantized model). stats may be null
// for rtn and lqer. progress(layer_done, n_layers) after each layer. Throws
// Error(InvalidArgument) for a rank larger than a group allows, missing statistics, or a
// factor that overflows fp16 (naming the group).
QuantizedModel quantize_model(const HostWeights& weights, const CalibrationStats* stats, const QuantizeOptions& options,
                              const std::function<void(uint32_t, uint32_t)>& progress = {});

// quantize_model's steps, for callers that hold one layer at a time (quantize_streamed.hpp):
// the model's header fields for n_layers layers; then each layer in order, appending its
// modules to qm.layers[l] and its groups to qm.groups (stats: the layer's statistics, or
// null where the options need none); then the budget's ranks and qm.rank.
QuantizedModel start_quantized_model(const QuantizeOptions& options, uint32_t n_layers);
void quantize_layer(const HostLayer& layer, uint32_t l, const LayerStats* stats, const QuantizeOptions& options,
                    QuantizedModel& qm);
void finish_quantized_model(QuantizedModel& qm, const QuantizeOptions& options);

// The effective weights Wq + A B of one module (fp16 factors widened to fp32, product in
// fp32); a and b null for plain int4. The same arithmetic serves the in-memory model and a
// GlowQ file read back, so both evaluate identically.
HostMatrix effective_matrix(const Int4Matrix& q, const uint16_t* a, const uint16_t* b, uint32_t rank);

// A copy of `base` (for its embedding, norms and output) with every quantized module
// replaced by its effective weights; unrestored groups give plain Wq.
HostWeights effective_weights(const HostWeights& base, const QuantizedModel& model);

}  // namespace glowq::quant

#include "glowq/quant/quantize_model.hpp"

#include <cmath>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/quant/grid_search.hpp"
#include "glowq/quant/parallel_for.hpp"
#include "glowq/quant/rank_budget.hpp"

namespace glowq::quant {

using Eigen::MatrixXd;

namespace {

struct MethodName {
    Method method;
    const char* name;
};
constexpr MethodName kMethods[] = {{Method::Rtn, "rtn"},     {Method::Lqer, "lqer"},   {Method::L2qer, "l2qer"},
                                   {Method::Qera, "qera"},   {Method::Glowq, "glowq"}, {Method::GlowqS, "glowq-s"}};

using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// fp16 storage of a factor, refusing values fp16 cannot hold rather than writing inf.
std::vector<uint16_t> to_fp16(const MatrixXd& m, const std::string& what) {
    std::vector<uint16_t> out(size_t(m.rows() * m.cols()));
    for (Eigen::Index r = 0; r < m.rows(); ++r)
        for (Eigen::Index c = 0; c < m.cols(); ++c) {
            const uint16_t h = float_to_half(float(m(r, c)));
            if ((h & 0x7c00u) == 0x7c00u)
                throw Error(ErrorKind::InvalidArgument, what + " has a value (" + std::to_string(m(r, c)) +
                                                            ") that fp16 cannot hold");
            out[size_t(r * m.cols() + c)] = h;
        }
    return out;
}

uint64_t group_seed(uint64_t seed, uint32_t layer, const std::string& name) {
    uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a over (layer, name)
    for (unsigned char c : std::to_string(layer) + "." + name) h = (h ^ c) * 1099511628211ull;
    return h;
}

Whitening whitening_for(Method method, const LayerStats* stats, uint32_t layer, TapPoint point, uint32_t dim,
                        double alpha) {
    if (method == Method::Lqer) return Whitening::identity(dim);
    if (!stats)
        throw Error(ErrorKind::InvalidArgument, std::string("method ") + method_name(method) +
                                                    " needs calibration statistics for layer " + std::to_string(layer));
    const InputStats& s = (*stats)[size_t(point)];
    if (s.mean_abs.size() != dim)
        throw Error(ErrorKind::InvalidArgument, "calibration statistics of layer " + std::to_string(layer) +
                                                    " have dimension " + std::to_string(s.mean_abs.size()) +
                                                    ", the model has " + std::to_string(dim));
    if (method == Method::L2qer) return Whitening::diagonal(s.mean_abs, alpha);
    return Whitening::full(s.second_moment, alpha);
}

}  // namespace

Method parse_method(const std::string& name) {
    for (const auto& m : kMethods)
        if (name == m.name) return m.method;
    throw Error(ErrorKind::InvalidArgument,
                "unknown method '" + name + "' (expected rtn, lqer, l2qer, qera, glowq or glowq-s)");
}

const char* method_name(Method method) {
    for (const auto& m : kMethods)
        if (m.method == method) return m.name;
    return "?";
}

Base parse_base(const std::string& name) {
    if (name == "rtn") return Base::Rtn;
    if (name == "gptq") return Base::Gptq;
    throw Error(ErrorKind::InvalidArgument, "unknown base quantizer '" + name + "' (expected rtn or gptq)");
}

const char* base_name(Base b) { return b == Base::Gptq ? "gptq" : "rtn"; }

Grid parse_grid(const std::string& name) {
    if (name == "minmax") return Grid::MinMax;
    if (name == "search") return Grid::Search;
    throw Error(ErrorKind::InvalidArgument, "unknown grid '" + name + "' (expected minmax or search)");
}

const char* grid_name(Grid g) { return g == Grid::Search ? "search" : "minmax"; }

BudgetMeasure parse_budget_measure(const std::string& name) {
    if (name == "error") return BudgetMeasure::Error;
    if (name == "share") return BudgetMeasure::Share;
    throw Error(ErrorKind::InvalidArgument, "unknown budget measure '" + name + "' (expected error or share)");
}

bool needs_statistics(const QuantizeOptions& o) {
    return needs_calibration(o.method) || o.base == Base::Gptq || (o.base == Base::Rtn && o.grid == Grid::Search);
}

bool has_correction(Method m) { return m != Method::Rtn; }
bool needs_calibration(Method m) { return m != Method::Rtn && m != Method::Lqer; }
bool shares_groups(Method m) { return m == Method::Glowq || m == Method::GlowqS; }

const CorrectionGroup* QuantizedModel::correction_of(uint32_t layer, const std::string& module) const {
    const auto& mq = layers.at(layer).at(module);
    if (mq.group < 0) return nullptr;
    const CorrectionGroup& g = groups[size_t(mq.group)];
    return g.restored ? &g : nullptr;
}

std::vector<std::string> QuantizedModel::restored_units() const {
    std::vector<std::string> out;
    for (const auto& g : groups)
        if (g.restored) out.push_back(g.unit_name());
    return out;
}

uint64_t QuantizedModel::int4_bytes() const {
    uint64_t n = 0;
    for (const auto& layer : layers)
        // From the shapes: a streamed quantization parks the codes on disk (Int4Spill).
        for (const auto& [name, m] : layer) n += uint64_t(m.q.rows) * (m.q.row_words() + m.q.groups()) * 4;
    return n;
}

uint32_t QuantizedModel::max_rank() const {
    uint32_t r = 0;
    for (const auto& g : groups)
        if (g.restored) r = std::max(r, g.rank);
    return r;
}

uint64_t QuantizedModel::correction_bytes() const {
    uint64_t n = 0;
    for (const auto& g : groups) {
        if (!g.restored) continue;
        n += g.b.size() * 2;
        for (const auto& member : g.members) n += layers[g.layer].at(member).a.size() * 2;
    }
    return n;
}

namespace {
Tensor module_role(const std::string& m) {
    Tensor t;
    if (!tensor_from_base(m, t)) throw Error(ErrorKind::InvalidArgument, "unknown module '" + m + "'");
    return t;
}
}  // namespace

const HostMatrix& module_matrix(const HostLayer& l, const std::string& m) {
    switch (module_role(m)) {
        case Tensor::AttnQ: return l.wq;
        case Tensor::AttnK: return l.wk;
        case Tensor::AttnV: return l.wv;
        case Tensor::AttnOutput: return l.wo;
        case Tensor::FfnGate: return l.w_gate;
        case Tensor::FfnUp: return l.w_up;
        case Tensor::FfnDown: return l.w_down;
        default: throw Error(ErrorKind::InvalidArgument, "'" + m + "' is not a quantized module");
    }
}

HostMatrix& module_matrix(HostLayer& l, const std::string& m) {
    return const_cast<HostMatrix&>(module_matrix(static_cast<const HostLayer&>(l), m));
}

TapPoint module_input(const std::string& m) {
    switch (module_role(m)) {
        case Tensor::AttnQ: case Tensor::AttnK: case Tensor::AttnV: return TapPoint::AttnInput;
        case Tensor::AttnOutput: return TapPoint::AttnOutput;
        case Tensor::FfnGate: case Tensor::FfnUp: return TapPoint::FfnInput;
        case Tensor::FfnDown: return TapPoint::FfnDownInput;
        default: throw Error(ErrorKind::InvalidArgument, "'" + m + "' is not a quantized module");
    }
}

QuantizedModel start_quantized_model(const QuantizeOptions& o, uint32_t n_layers) {
    QuantizedModel qm;
    qm.method = o.method;
    qm.base = o.base;
    qm.grid = o.base == Base::Rtn ? o.grid : Grid::MinMax;
    qm.group_size = o.group_size;
    qm.layers.resize(n_layers);
    return qm;
}

void quantize_layer(const HostLayer& layer, uint32_t l, const LayerStats* stats, const QuantizeOptions& o,
                    QuantizedModel& qm) {
    if (l >= qm.layers.size())
        throw Error(ErrorKind::InvalidArgument, "layer " + std::to_string(l) + " of a model of " +
                                                    std::to_string(qm.layers.size()) + " layers");
    // Groups of one layer: name and members, in the order the file and the scores use.
    std::vector<std::pair<std::string, std::vector<std::string>>> group_defs;
    if (shares_groups(o.method)) {
        group_defs = format::units();
    } else if (has_correction(o.method)) {
        for (const auto& m : format::modules()) group_defs.push_back({m, {m}});
    }

    const auto& modules = format::modules();
    std::vector<ModuleQuant> quants(modules.size());
    std::vector<MatrixXd> error_list(modules.size());
    parallel_for(modules.size(), o.threads, [&](size_t i) {
        const std::string& m = modules[i];
        const HostMatrix& wm = module_matrix(layer, m);
        ModuleQuant& mq = quants[i];
        if (o.base == Base::Gptq) {
            const TapPoint point = module_input(m);
            if (!stats || (*stats)[size_t(point)].second_moment.rows() != Eigen::Index(wm.cols))
                throw Error(ErrorKind::InvalidArgument, "GPTQ of blk." + std::to_string(l) + "." + m +
                                                            " needs calibration statistics of its input");
            mq.q = quantize_gptq(wm.data.data(), wm.rows, wm.cols, o.group_size,
                                 (*stats)[size_t(point)].second_moment, o.gptq);
        } else if (o.grid == Grid::Search) {
            const TapPoint point = module_input(m);
            if (!stats || (*stats)[size_t(point)].second_moment.rows() != Eigen::Index(wm.cols))
                throw Error(ErrorKind::InvalidArgument, "searched grids of blk." + std::to_string(l) + "." + m +
                                                            " need calibration statistics of its input");
            const MatrixXd& h = (*stats)[size_t(point)].second_moment;
            std::vector<double> d(wm.cols);
            for (uint32_t k = 0; k < wm.cols; ++k) d[k] = h(k, k);
            mq.q = quantize_rtn_searched(wm.data.data(), wm.rows, wm.cols, o.group_size, d.data());
        } else {
            mq.q = quantize_rtn(wm.data.data(), wm.rows, wm.cols, o.group_size);
        }
        if (has_correction(o.method)) {
            const std::vector<float> wq = mq.q.dequantize();
            MatrixXd& e = error_list[i];
            e.resize(wm.rows, wm.cols);
            for (uint32_t r = 0; r < wm.rows; ++r)
                for (uint32_t c = 0; c < wm.cols; ++c)
                    e(r, c) = double(wm.data[size_t(r) * wm.cols + c]) - double(wq[size_t(r) * wm.cols + c]);
        }
    });
    // The layer is built here and committed to qm only once complete: a throw (a rank too
    // large, a factor fp16 cannot hold) leaves qm as it was.
    std::map<std::string, ModuleQuant> layer_quants;
    std::map<std::string, MatrixXd> errors;
    for (size_t i = 0; i < modules.size(); ++i) {
        layer_quants[modules[i]] = std::move(quants[i]);
        if (has_correction(o.method)) errors[modules[i]] = std::move(error_list[i]);
    }
    // One whitening per input point, shared by every group reading that input; their
    // roots computed here, in parallel, before the fits read them.
    std::map<TapPoint, Whitening> whitenings;
    for (const auto& [gname, members] : group_defs) {
        const TapPoint point = module_input(members[0]);
        if (!whitenings.count(point))
            whitenings[point] =
                whitening_for(o.method, stats, l, point, module_matrix(layer, members[0]).cols, o.alpha);
    }
    std::vector<Whitening*> to_root;
    for (auto& [point, wh] : whitenings) to_root.push_back(&wh);
    parallel_for(to_root.size(), o.threads, [&](size_t i) { to_root[i]->root(); });

    std::vector<CorrectionGroup> fitted(group_defs.size());
    std::vector<LowRankFit> fits(group_defs.size());
    parallel_for(group_defs.size(), o.threads, [&](size_t gi) {
        const auto& [gname, members] = group_defs[gi];
        const TapPoint point = module_input(members[0]);
        const uint32_t cols = module_matrix(layer, members[0]).cols;
        Eigen::Index rows = 0;
        double w_norm2 = 0.0;
        for (const auto& m : members) {
            rows += errors.at(m).rows();
            for (float v : module_matrix(layer, m).data) w_norm2 += double(v) * v;
        }
        // Each module is in one group: its error moves into the group's and is freed (the
        // other groups only read their own members' entries).
        MatrixXd e_cat;
        if (members.size() == 1) {
            e_cat = std::move(errors.at(members[0]));
        } else {
            e_cat.resize(rows, cols);
            Eigen::Index at = 0;
            for (const auto& m : members) {
                MatrixXd& e = errors.at(m);
                e_cat.middleRows(at, e.rows()) = e;
                at += e.rows();
                e = MatrixXd();
            }
        }
        CorrectionGroup& g = fitted[gi];
        g.layer = l;
        g.name = gname;
        g.members = members;
        g.cols = cols;
        const auto unit_rank = o.unit_ranks.find(gname);
        const uint32_t rank = unit_rank != o.unit_ranks.end() ? unit_rank->second : o.rank;
        g.rank = rank;
        const std::string what = "correction of blk." + std::to_string(l) + "." + gname;
        if (Eigen::Index(rank) > std::min(rows, Eigen::Index(cols)))
            throw Error(ErrorKind::InvalidArgument, "rank " + std::to_string(rank) + " exceeds what " + what +
                                                        " (" + std::to_string(rows) + "x" + std::to_string(cols) +
                                                        ") allows");
        RsvdOptions ro;
        ro.seed = group_seed(o.seed, l, gname);
        ro.energy = o.budget > 0.0;  // only the budget weighs by it
        const LowRankFit& fit = fits[gi] = fit_low_rank(e_cat, whitenings.at(point), rank, o.route, ro);
        g.gsvd = fit.singular.sum();
        g.singular.assign(fit.singular.data(), fit.singular.data() + fit.singular.size());
        g.error_energy = fit.energy;
        g.norm_error = w_norm2 > 0.0 ? e_cat.norm() / std::sqrt(w_norm2) : 0.0;
        g.b = to_fp16(fit.b, what + " (B)");
        const Whitening& wh = whitenings.at(point);
        g.whitening = wh.kind() == Whitening::Kind::Identity   ? "identity"
                      : wh.kind() == Whitening::Kind::Diagonal ? "diagonal"
                      : wh.root() == Whitening::Root::Cholesky ? "cholesky"
                                                               : "symmetric";
    });
    for (size_t gi = 0; gi < group_defs.size(); ++gi) {
        const CorrectionGroup& g = fitted[gi];
        const std::string what = "correction of blk." + std::to_string(l) + "." + g.name;
        Eigen::Index at = 0;
        for (const auto& m : g.members) {
            ModuleQuant& mq = layer_quants.at(m);
            const Eigen::Index rows = Eigen::Index(mq.q.rows);
            mq.a = to_fp16(fits[gi].a.middleRows(at, rows), what + " (A of " + m + ")");
            mq.group = int32_t(qm.groups.size() + gi);
            at += rows;
        }
    }
    qm.layers[l] = std::move(layer_quants);
    for (auto& g : fitted) qm.groups.push_back(std::move(g));
}

void finish_quantized_model(QuantizedModel& qm, const QuantizeOptions& o) {
    if (o.budget > 0.0 && has_correction(o.method)) {
        const uint64_t budget = uint64_t(o.budget * double(qm.int4_bytes()));
        apply_ranks(qm, allocate_ranks(rank_candidates(qm, o.budget_measure), budget, kRankStep));
    }
    qm.rank = qm.max_rank();
}

QuantizedModel quantize_model(const HostWeights& w, const CalibrationStats* stats, const QuantizeOptions& o,
                              const std::function<void(uint32_t, uint32_t)>& progress) {
    const uint32_t n_layers = uint32_t(w.layers.size());
    QuantizedModel qm = start_quantized_model(o, n_layers);
    for (uint32_t l = 0; l < n_layers; ++l) {
        quantize_layer(w.layers[l], l, stats && l < stats->layers.size() ? &stats->layers[l] : nullptr, o, qm);
        if (progress) progress(l + 1, n_layers);
    }
    finish_quantized_model(qm, o);
    return qm;
}

HostMatrix effective_matrix(const Int4Matrix& q, const uint16_t* a, const uint16_t* b, uint32_t rank) {
    HostMatrix out;
    out.rows = q.rows;
    out.cols = q.cols;
    out.data = q.dequantize();
    if (!a || !b || rank == 0) return out;
    RowMajorF af(q.rows, rank), bf(rank, q.cols);
    for (size_t i = 0; i < size_t(q.rows) * rank; ++i) af.data()[i] = half_to_float(a[i]);
    for (size_t i = 0; i < size_t(rank) * q.cols; ++i) bf.data()[i] = half_to_float(b[i]);
    Eigen::Map<RowMajorF>(out.data.data(), q.rows, q.cols).noalias() += af * bf;
    return out;
}

HostWeights effective_weights(const HostWeights& base, const QuantizedModel& qm) {
    HostWeights w = base;
    for (uint32_t l = 0; l < qm.layers.size(); ++l)
        for (const auto& [name, mq] : qm.layers[l]) {
            const CorrectionGroup* g = qm.correction_of(l, name);
            module_matrix(w.layers[l], name) =
                effective_matrix(mq.q, g ? mq.a.data() : nullptr, g ? g->b.data() : nullptr, g ? g->rank : 0);
        }
    return w;
}

}  // namespace glowq::quant

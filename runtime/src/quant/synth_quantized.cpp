#include "glowq/quant/synth_quantized.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/loader/glowq_format.hpp"

namespace glowq::quant {

namespace {

// (rows, cols) of a quantized module of a layer.
std::pair<uint32_t, uint32_t> module_shape(const ModelConfig& c, const std::string& m) {
    const uint32_t q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim;
    Tensor t;
    if (tensor_from_base(m, t)) switch (t) {
            case Tensor::AttnQ: return {q, c.n_embd};
            case Tensor::AttnK: case Tensor::AttnV: return {kv, c.n_embd};
            case Tensor::AttnOutput: return {c.n_embd, q};
            case Tensor::FfnGate: case Tensor::FfnUp: return {c.n_ff, c.n_embd};
            case Tensor::FfnDown: return {c.n_embd, c.n_ff};
            default: break;
        }
    throw Error(ErrorKind::InvalidArgument, "'" + m + "' is not a quantized module");
}

// Codes uniform in 0..15 with scale and offset giving weights of spread ~1/sqrt(cols)
// centred on zero, as a fitted int4 matrix of a trained layer would roughly have.
Int4Matrix random_int4(uint32_t rows, uint32_t cols, uint32_t g, std::mt19937_64& rng) {
    Int4Matrix m = Int4Matrix::zeros(rows, cols, g);
    const uint32_t words = m.row_words(), full = cols / 8, tail = cols % 8;
    for (uint32_t r = 0; r < rows; ++r) {
        uint32_t* row = m.codes.data() + size_t(r) * words;
        for (uint32_t w = 0; w < full; w += 2) {
            const uint64_t v = rng();
            row[w] = uint32_t(v);
            if (w + 1 < full) row[w + 1] = uint32_t(v >> 32);
        }
        if (tail) row[full] = uint32_t(rng()) & ((1u << (4 * tail)) - 1u);  // padding stays zero
    }
    const float step = 1.0f / (4.6f * std::sqrt(float(cols)));
    const uint16_t s = float_to_half(step), o = float_to_half(-7.5f * step);
    for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t j = 0; j < m.groups(); ++j) m.set_scale_offset(r, j, s, o);
    return m;
}

// fp16 values uniform in [-amp, amp].
std::vector<uint16_t> random_half(size_t n, float amp, std::mt19937_64& rng) {
    std::uniform_real_distribution<float> u(-amp, amp);
    std::vector<uint16_t> v(n);
    for (auto& h : v) h = float_to_half(u(rng));
    return v;
}

}  // namespace

QuantizedModel synth_quantized(const ModelConfig& c, const SynthQuantOptions& o) {
    if (!(o.restore_fraction >= 0.0 && o.restore_fraction <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "restore fraction must be in [0, 1]");
    QuantizedModel qm;
    qm.method = o.method;
    qm.group_size = o.group_size;
    qm.rank = has_correction(o.method) ? o.rank : 0;
    qm.layers.resize(c.n_layers);
    std::mt19937_64 rng(o.seed);

    std::vector<std::pair<std::string, std::vector<std::string>>> group_defs;
    if (shares_groups(o.method))
        group_defs = format::units();
    else if (has_correction(o.method))
        for (const auto& m : format::modules()) group_defs.push_back({m, {m}});

    for (uint32_t l = 0; l < c.n_layers; ++l) {
        for (const auto& m : format::modules()) {
            const auto [rows, cols] = module_shape(c, m);
            qm.layers[l][m].q = random_int4(rows, cols, o.group_size, rng);
        }
        for (const auto& [gname, members] : group_defs) {
            CorrectionGroup g;
            g.layer = l;
            g.name = gname;
            g.members = members;
            g.cols = module_shape(c, members[0]).second;
            g.rank = o.rank;
            uint32_t rows = 0;
            for (const auto& m : members) rows += module_shape(c, m).first;
            if (o.rank == 0 || o.rank > std::min(rows, g.cols))
                throw Error(ErrorKind::InvalidArgument, "rank " + std::to_string(o.rank) + " does not fit blk." +
                                                            std::to_string(l) + "." + gname + " (" +
                                                            std::to_string(rows) + "x" + std::to_string(g.cols) + ")");
            // |A B x| stays well under |W x|: A B's entries are ~1e-3 / sqrt(cols).
            g.b = random_half(size_t(o.rank) * g.cols, 0.03f / std::sqrt(float(g.cols)), rng);
            const int32_t index = int32_t(qm.groups.size());
            for (const auto& m : members) {
                ModuleQuant& mq = qm.layers[l][m];
                mq.a = random_half(size_t(module_shape(c, m).first) * o.rank, 0.03f / std::sqrt(float(o.rank)), rng);
                mq.group = index;
            }
            qm.groups.push_back(std::move(g));
        }
    }
    if (o.method == Method::GlowqS) {
        std::vector<size_t> order(qm.groups.size());
        std::iota(order.begin(), order.end(), size_t(0));
        std::shuffle(order.begin(), order.end(), rng);
        const size_t keep = size_t(std::lround(o.restore_fraction * double(order.size())));
        for (size_t i = keep; i < order.size(); ++i) qm.groups[order[i]].restored = false;
    }
    return qm;
}

}  // namespace glowq::quant

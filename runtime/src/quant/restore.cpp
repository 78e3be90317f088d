#include "glowq/quant/restore.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

#include "glowq/error.hpp"
#include "glowq/model/perplexity.hpp"
#include "glowq/model/reference.hpp"

namespace glowq::quant {

namespace {

// The model's effective weights for any set of restored units, switching a module between
// Wq and Wq + A B by copying cached matrices rather than re-dequantizing.
class EffectiveModel {
public:
    EffectiveModel(const HostWeights& base, const QuantizedModel& qm) : w_(std::make_shared<HostWeights>(base)) {
        for (uint32_t l = 0; l < qm.layers.size(); ++l)
            for (const auto& [name, mq] : qm.layers[l]) {
                Entry e{l, name, mq.group, effective_matrix(mq.q, nullptr, nullptr, 0), {}};
                if (mq.group >= 0) {
                    const CorrectionGroup& g = qm.groups[size_t(mq.group)];
                    e.corrected = effective_matrix(mq.q, mq.a.data(), g.b.data(), g.rank);
                }
                entries_.push_back(std::move(e));
            }
    }

    std::shared_ptr<const HostWeights> with(const std::vector<bool>& restored) {
        for (const Entry& e : entries_) {
            const bool on = e.group >= 0 && restored[size_t(e.group)];
            module_matrix(w_->layers[e.layer], e.module) = on ? e.corrected : e.plain;
        }
        return w_;
    }

private:
    struct Entry {
        uint32_t layer;
        std::string module;
        int32_t group;
        HostMatrix plain, corrected;
    };
    std::shared_ptr<HostWeights> w_;
    std::vector<Entry> entries_;
};

}  // namespace

UnitScore parse_unit_score(const std::string& name) {
    if (name == "gsvd") return UnitScore::Gsvd;
    if (name == "norm_error") return UnitScore::NormError;
    throw Error(ErrorKind::InvalidArgument, "unknown unit score '" + name + "' (expected gsvd or norm_error)");
}

std::vector<size_t> unit_order(const QuantizedModel& qm, UnitScore score) {
    std::vector<size_t> order(qm.groups.size());
    std::iota(order.begin(), order.end(), size_t(0));
    auto value = [&](size_t i) { return score == UnitScore::Gsvd ? qm.groups[i].gsvd : qm.groups[i].norm_error; };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return value(a) > value(b); });
    return order;
}

void restore_top(QuantizedModel& qm, const std::vector<size_t>& order, size_t k) {
    if (k > order.size())
        throw Error(ErrorKind::InvalidArgument, "cannot restore " + std::to_string(k) + " units of " +
                                                    std::to_string(order.size()));
    for (auto& g : qm.groups) g.restored = false;
    for (size_t i = 0; i < k; ++i) qm.groups[order[i]].restored = true;
}

AutoRestore restore_auto(QuantizedModel& qm, const HostWeights& base, const std::vector<size_t>& order,
                         const std::vector<int32_t>& heldout, const AutoRestoreOptions& o) {
    if (o.tolerance < 0.0) throw Error(ErrorKind::InvalidArgument, "tolerance must not be negative");
    if (heldout.size() < o.ctx)
        throw Error(ErrorKind::InvalidArgument, "held-out text has " + std::to_string(heldout.size()) +
                                                    " tokens, fewer than one window of " + std::to_string(o.ctx));
    EffectiveModel em(base, qm);
    const size_t n = order.size();
    const uint32_t max_evals = 1 + uint32_t(std::ceil(std::log2(double(n) + 1.0)));
    AutoRestore r;
    auto ppl_at = [&](size_t k) {
        std::vector<bool> restored(qm.groups.size(), false);
        for (size_t i = 0; i < k; ++i) restored[order[i]] = true;
        ReferenceLlama model(em.with(restored), o.ctx);
        PerplexityOptions po;
        po.ctx = o.ctx;
        po.protocol = PplProtocol::All;
        po.bos = o.bos;
        const double ppl = perplexity(model, heldout, po).ppl;
        r.evaluated.push_back({k, ppl});
        if (o.progress) o.progress(uint32_t(r.evaluated.size()), max_evals, k, ppl);
        return ppl;
    };
    r.ppl_full = ppl_at(n);
    r.target = r.ppl_full * (1.0 + o.tolerance);
    // Invariant: hi passes; lo fails (lo = -1 stands for "below zero units").
    long lo = -1;
    size_t hi = n;
    double hi_ppl = r.ppl_full;
    while (long(hi) - lo > 1) {
        const size_t mid = size_t((lo + long(hi)) / 2);
        const double p = ppl_at(mid);
        if (p <= r.target) {
            hi = mid;
            hi_ppl = p;
        } else {
            lo = long(mid);
        }
    }
    r.k = hi;
    r.ppl_chosen = hi_ppl;
    restore_top(qm, order, hi);
    return r;
}

}  // namespace glowq::quant

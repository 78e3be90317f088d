#include "glowq/quant/rank_budget.hpp"

#include <cmath>
#include <queue>
#include <string>

#include "glowq/error.hpp"

namespace glowq::quant {

namespace {

double step_gain(const RankCandidate& c, uint32_t from, uint32_t step) {
    double g = 0.0;
    for (uint32_t i = from; i < from + step && i < c.singular.size(); ++i) g += c.singular[i] * c.singular[i];
    return g;
}

}  // namespace

std::vector<uint32_t> allocate_ranks(const std::vector<RankCandidate>& cs, uint64_t budget, uint32_t step) {
    if (step == 0) throw Error(ErrorKind::InvalidArgument, "rank step must be positive");
    std::vector<uint32_t> ranks(cs.size(), 0);
    struct Next {
        double per_byte;
        size_t index;
        bool operator<(const Next& o) const {  // max-heap; ties to the earlier group
            return per_byte < o.per_byte || (per_byte == o.per_byte && index > o.index);
        }
    };
    std::priority_queue<Next> heap;
    auto push = [&](size_t i) {
        const RankCandidate& c = cs[i];
        if (ranks[i] + step > c.singular.size() || c.bytes_per_rank == 0) return;
        const double gain = step_gain(c, ranks[i], step);
        if (gain > 0.0) heap.push({gain / double(c.bytes_per_rank * step), i});  // bytes that remove nothing: none
    };
    for (size_t i = 0; i < cs.size(); ++i) push(i);
    uint64_t spent = 0;
    while (!heap.empty()) {
        const Next n = heap.top();
        heap.pop();
        const uint64_t cost = cs[n.index].bytes_per_rank * step;
        if (spent + cost > budget) continue;  // this group's later steps cost the same: it is done
        spent += cost;
        ranks[n.index] += step;
        push(n.index);
    }
    return ranks;
}

std::vector<RankCandidate> rank_candidates(const QuantizedModel& qm, BudgetMeasure measure) {
    std::vector<RankCandidate> cs;
    for (const auto& g : qm.groups) {
        RankCandidate c;
        c.singular = g.singular;
        c.singular.resize(std::min<size_t>(c.singular.size(), g.rank));
        const double per = measure == BudgetMeasure::Share ? g.error_energy : 1.0;
        for (double& s : c.singular) s = per > 0.0 ? s / std::sqrt(per) : 0.0;
        uint64_t rows = 0;
        for (const auto& m : g.members) rows += qm.layers[g.layer].at(m).q.rows;
        c.bytes_per_rank = (rows + g.cols) * 2;
        cs.push_back(std::move(c));
    }
    return cs;
}

void apply_ranks(QuantizedModel& qm, const std::vector<uint32_t>& ranks) {
    if (ranks.size() != qm.groups.size())
        throw Error(ErrorKind::InvalidArgument, std::to_string(ranks.size()) + " ranks for " +
                                                    std::to_string(qm.groups.size()) + " correction groups");
    for (size_t i = 0; i < ranks.size(); ++i) {
        CorrectionGroup& g = qm.groups[i];
        const uint32_t r = ranks[i];
        if (r > g.rank)
            throw Error(ErrorKind::InvalidArgument, "rank " + std::to_string(r) + " for " + g.unit_name() +
                                                        ", fitted at rank " + std::to_string(g.rank));
        if (r == g.rank) continue;
        g.b.resize(size_t(r) * g.cols);  // B is rank x cols, row-major: its first r rows
        for (const auto& m : g.members) {
            std::vector<uint16_t>& a = qm.layers[g.layer].at(m).a;  // rows x rank, row-major
            const size_t rows = a.size() / g.rank;
            std::vector<uint16_t> cut(rows * r);
            for (size_t row = 0; row < rows; ++row)
                for (uint32_t j = 0; j < r; ++j) cut[row * r + j] = a[row * g.rank + j];
            a = std::move(cut);
        }
        g.singular.resize(std::min<size_t>(g.singular.size(), r));
        g.gsvd = 0.0;
        for (double s : g.singular) g.gsvd += s;
        g.rank = r;
        g.restored = r > 0;
    }
}

}  // namespace glowq::quant

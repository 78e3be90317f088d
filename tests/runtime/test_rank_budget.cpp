// Ranks under a byte budget (rank_budget.hpp): the greedy allocation against an exhaustive
// search, its bounds, and truncated factors against a fit made at the smaller rank.
#include <catch2/catch.hpp>

#include <functional>

#include "glowq/error.hpp"
#include "glowq/quant/lowrank_fit.hpp"
#include "glowq/quant/rank_budget.hpp"

using namespace glowq;
using namespace glowq::quant;

namespace {

double removed(const std::vector<RankCandidate>& cs, const std::vector<uint32_t>& ranks) {
    double g = 0.0;
    for (size_t i = 0; i < cs.size(); ++i)
        for (uint32_t j = 0; j < ranks[i]; ++j) g += cs[i].singular[j] * cs[i].singular[j];
    return g;
}

uint64_t spent(const std::vector<RankCandidate>& cs, const std::vector<uint32_t>& ranks) {
    uint64_t b = 0;
    for (size_t i = 0; i < cs.size(); ++i) b += cs[i].bytes_per_rank * ranks[i];
    return b;
}

// Every combination of ranks (multiples of step): the most error removed within budget.
double best_removed(const std::vector<RankCandidate>& cs, uint64_t budget, uint32_t step) {
    double best = 0.0;
    std::vector<uint32_t> r(cs.size(), 0);
    std::function<void(size_t)> walk = [&](size_t i) {
        if (i == cs.size()) {
            if (spent(cs, r) <= budget) best = std::max(best, removed(cs, r));
            return;
        }
        for (uint32_t k = 0; k <= cs[i].singular.size(); k += step) {
            r[i] = k;
            walk(i + 1);
        }
        r[i] = 0;
    };
    walk(0);
    return best;
}

std::vector<double> spectrum(size_t n, double first, double decay) {
    std::vector<double> s(n);
    for (size_t i = 0; i < n; ++i) s[i] = first * std::pow(decay, double(i));
    return s;
}

}  // namespace

TEST_CASE("budgeted ranks: as good as an exhaustive search, within the budget", "[glowq][budget]") {
    // Equal costs per rank: the greedy choice is optimal for any budget.
    const std::vector<RankCandidate> equal = {{spectrum(32, 4.0, 0.8), 100},
                                              {spectrum(32, 9.0, 0.5), 100},
                                              {spectrum(16, 2.0, 0.97), 100}};
    for (uint64_t budget : {0ull, 799ull, 800ull, 2400ull, 4000ull, 8000ull}) {
        CAPTURE(budget);
        const auto r = allocate_ranks(equal, budget, 8);
        CHECK(spent(equal, r) <= budget);
        for (size_t i = 0; i < r.size(); ++i) CHECK(r[i] % 8 == 0);
        CHECK(removed(equal, r) == Approx(best_removed(equal, budget, 8)).epsilon(1e-12));
    }
    // Unequal costs: within budget, never more than a candidate's fitted rank, and more
    // budget never takes a rank away.
    const std::vector<RankCandidate> mixed = {{spectrum(64, 5.0, 0.9), 1344},
                                              {spectrum(64, 3.0, 0.95), 4224},
                                              {spectrum(24, 8.0, 0.6), 2304},
                                              {spectrum(64, 0.0, 1.0), 1000}};  // nothing to remove
    std::vector<uint32_t> prev(mixed.size(), 0);
    for (uint64_t budget = 0; budget <= 1200000; budget += 40000) {
        CAPTURE(budget);
        const auto r = allocate_ranks(mixed, budget, 8);
        CHECK(spent(mixed, r) <= budget);
        CHECK(r[2] <= 24);
        CHECK(r[3] == 0);
        for (size_t i = 0; i < r.size(); ++i) CHECK(r[i] >= prev[i]);
        prev = r;
    }
    CHECK(prev[0] == 64);
    CHECK(prev[2] == 24);
}

TEST_CASE("a budget gives a known rank-8 error rank 8 and no more", "[glowq][budget]") {
    // Group 0's error has rank 8 exactly; group 1's spectrum falls slowly. A budget for 24
    // steps of 8 in all puts 8 on group 0 (its later singular values are zero).
    const Eigen::MatrixXd e0 = seeded_gaussian(40, 8, 1) * seeded_gaussian(8, 48, 2);
    const Whitening w0 = Whitening::identity(48);
    const LowRankFit f0 = fit_low_rank(e0, w0, 32, FitRoute::Exact);
    RankCandidate c0{std::vector<double>(f0.singular.data(), f0.singular.data() + 32), 2 * (40 + 48)};
    RankCandidate c1{spectrum(32, 1.0, 0.99), 2 * (40 + 48)};
    const auto r = allocate_ranks({c0, c1}, 2 * (40 + 48) * 24 + 17, 8);
    CHECK(r[0] == 8);
    CHECK(r[1] == 16);
}

TEST_CASE("budgeted ranks refuse a step of zero and mismatched rank lists", "[glowq][budget]") {
    CHECK_THROWS_AS(allocate_ranks({}, 10, 0), Error);
    QuantizedModel qm;
    CHECK_THROWS_AS(apply_ranks(qm, {8}), Error);
}

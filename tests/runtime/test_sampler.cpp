// Sampler: each filter against distributions computed by hand, draws against their
// probabilities, and determinism for a seed.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "glowq/sampler.hpp"

using namespace glowq;

namespace {

SamplerParams plain(float temperature = 1.0f) {
    SamplerParams p;
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 1234;
    return p;
}

std::map<int32_t, float> as_map(const std::vector<std::pair<int32_t, float>>& d) {
    return std::map<int32_t, float>(d.begin(), d.end());
}

// Draw counts must match the probabilities within 5 standard deviations of a binomial.
void check_frequencies(Sampler& s, const std::vector<float>& logits, const std::map<int32_t, double>& expected) {
    const int N = 20000;
    std::map<int32_t, int> count;
    for (int i = 0; i < N; ++i) ++count[s.sample(logits.data(), uint32_t(logits.size()))];
    for (const auto& [id, n] : count) {
        INFO("token " << id << " drawn " << n << " times");
        CHECK(expected.count(id) == 1);
    }
    for (const auto& [id, p] : expected) {
        const double sigma = std::sqrt(N * p * (1 - p));
        INFO("token " << id << ": " << count[id] << " draws, expected " << N * p << " +- " << sigma);
        CHECK(std::fabs(count[id] - N * p) <= 5 * sigma);
    }
}

}  // namespace

TEST_CASE("sampler: greedy is the argmax, ties to the lowest id", "[sampler]") {
    Sampler s(plain(0.0f));
    const std::vector<float> a = {0.1f, 3.0f, -2.0f, 2.9f};
    CHECK(s.sample(a.data(), 4) == 1);
    const std::vector<float> tie = {1.0f, 5.0f, 5.0f, 0.0f};
    CHECK(s.sample(tie.data(), 4) == 1);
    const auto d = s.distribution(a.data(), 4);
    REQUIRE(d.size() == 1);
    CHECK(d[0].first == 1);
    CHECK(d[0].second == 1.0f);
}

TEST_CASE("sampler: temperature draws follow softmax(logits / T)", "[sampler]") {
    // logits ln(1), ln(2), ln(3), ln(4): at T = 1 the probabilities are 0.1 .. 0.4;
    // at T = 0.5 they square: 1, 4, 9, 16 over 30.
    const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
    Sampler t1(plain(1.0f));
    const auto d1 = as_map(t1.distribution(logits.data(), 4));
    for (int i = 0; i < 4; ++i) CHECK(d1.at(i) == Approx((i + 1) / 10.0).epsilon(1e-6));
    check_frequencies(t1, logits, {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});

    Sampler t05(plain(0.5f));
    const auto d05 = as_map(t05.distribution(logits.data(), 4));
    for (int i = 0; i < 4; ++i) CHECK(d05.at(i) == Approx((i + 1) * (i + 1) / 30.0).epsilon(1e-6));
    check_frequencies(t05, logits, {{0, 1 / 30.0}, {1, 4 / 30.0}, {2, 9 / 30.0}, {3, 16 / 30.0}});
}

TEST_CASE("sampler: top-k keeps the k largest", "[sampler]") {
    // Only ids 3 and 2 survive; renormalized 4/7 and 3/7.
    const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(3.0f), std::log(4.0f)};
    SamplerParams p = plain(1.0f);
    p.top_k = 2;
    Sampler s(p);
    check_frequencies(s, logits, {{3, 4 / 7.0}, {2, 3 / 7.0}});
}

TEST_CASE("sampler: top-p keeps the smallest prefix reaching p", "[sampler]") {
    // p = 0.5, 0.3, 0.15, 0.05: cumulative 0.5 < 0.7 <= 0.8, so the first two remain.
    const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};
    SamplerParams p = plain(1.0f);
    p.top_p = 0.7f;
    Sampler s(p);
    const auto d = as_map(s.distribution(logits.data(), 4));
    REQUIRE(d.size() == 2);
    CHECK(d.at(1) == Approx(0.625).epsilon(1e-5));
    CHECK(d.at(3) == Approx(0.375).epsilon(1e-5));
    check_frequencies(s, logits, {{1, 0.625}, {3, 0.375}});
}

TEST_CASE("sampler: min-p keeps p >= min_p * p_max", "[sampler]") {
    // p_max = 0.5, min_p = 0.2: the threshold 0.1 drops only the 0.05 token.
    const std::vector<float> logits = {std::log(0.15f), std::log(0.5f), std::log(0.05f), std::log(0.3f)};
    SamplerParams p = plain(1.0f);
    p.min_p = 0.2f;
    Sampler s(p);
    const auto d = as_map(s.distribution(logits.data(), 4));
    REQUIRE(d.size() == 3);
    CHECK(d.at(1) == Approx(0.5 / 0.95).epsilon(1e-5));
    CHECK(d.at(3) == Approx(0.3 / 0.95).epsilon(1e-5));
    CHECK(d.at(0) == Approx(0.15 / 0.95).epsilon(1e-5));
}

TEST_CASE("sampler: repetition penalty divides positive, multiplies negative logits", "[sampler]") {
    const std::vector<float> logits = {2.0f, 1.8f, -1.0f, 0.5f};
    SamplerParams p = plain(0.0f);
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = 2;
    Sampler s(p);
    CHECK(s.sample(logits.data(), 4) == 0);
    s.accept(0);  // 2.0 / 1.5 = 1.33 < 1.8
    CHECK(s.sample(logits.data(), 4) == 1);
    s.accept(3);
    s.accept(3);  // token 0 has left the window of the last 2
    CHECK(s.sample(logits.data(), 4) == 0);

    // At T = 1 the penalized logits are exactly 2.0, 1.8, -1.5 (= -1.0 * 1.5), 0.5 / 1.5.
    SamplerParams q = plain(1.0f);
    q.repeat_penalty = 1.5f;
    Sampler t(q);
    t.accept(2);
    t.accept(3);
    t.accept(2);  // counted once
    const auto d = as_map(t.distribution(logits.data(), 4));
    const double e[] = {std::exp(2.0), std::exp(1.8), std::exp(-1.5), std::exp(0.5 / 1.5)};
    const double z = e[0] + e[1] + e[2] + e[3];
    for (int i = 0; i < 4; ++i) CHECK(d.at(i) == Approx(e[i] / z).epsilon(1e-5));
}

TEST_CASE("sampler: a seed fixes the draws; reset restarts them", "[sampler]") {
    const std::vector<float> logits = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
    SamplerParams p = plain(1.0f);
    p.seed = 42;
    Sampler a(p), b(p);
    p.seed = 43;
    Sampler c(p);
    std::vector<int32_t> da, db, dc;
    for (int i = 0; i < 200; ++i) {
        da.push_back(a.sample(logits.data(), 8));
        db.push_back(b.sample(logits.data(), 8));
        dc.push_back(c.sample(logits.data(), 8));
    }
    CHECK(da == db);
    CHECK(da != dc);
    a.reset();
    std::vector<int32_t> again;
    for (int i = 0; i < 200; ++i) again.push_back(a.sample(logits.data(), 8));
    CHECK(again == da);
}

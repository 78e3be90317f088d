// Perplexity protocols on a fake model whose predictions are known: for input token t it
// gives the next token t+1 (mod 4) probability 1/2 and each other token 1/6, so every
// scored prediction costs ln 2 or ln 6 and the perplexity is computed by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "glowq/error.hpp"
#include "glowq/model/perplexity.hpp"

using namespace glowq;

namespace {

class NextTokenModel : public Forward {
public:
    NextTokenModel() {
        config_.n_vocab = 4;
        config_.n_ctx = 8;
    }
    const ModelConfig& config() const override { return config_; }
    uint32_t max_context() const override { return 8; }
    void eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) override {
        calls.push_back({std::vector<int32_t>(tokens, tokens + n), pos, all_logits});
        for (uint32_t i = 0; i < n; ++i) {
            float* l = logits + size_t(all_logits ? i : 0) * 4;
            for (int j = 0; j < 4; ++j) l[j] = 0.0f;
            l[(tokens[i] + 1) % 4] = std::log(3.0f);  // 3 / (3 + 1 + 1 + 1) = 1/2
        }
    }
    struct Call {
        std::vector<int32_t> tokens;
        uint32_t pos;
        bool all_logits;
    };
    std::vector<Call> calls;

private:
    ModelConfig config_;
};

// Two windows of 8, then 4 tokens that are never used.
const std::vector<int32_t> kTokens = {0, 1, 2, 3, 0, 1, 2, 2, /**/ 3, 0, 1, 1, 2, 3, 0, 0, /**/ 1, 2, 3, 0};

// ppl and llama.cpp's standard error for `hits` predictions of cost ln 2 and `misses` of ln 6.
void expect(const PerplexityResult& r, int hits, int misses) {
    const double n = hits + misses;
    const double a = std::log(2.0), b = std::log(6.0);
    const double mean = (hits * a + misses * b) / n;
    const double var = (hits * a * a + misses * b * b) / n - mean * mean;
    CHECK(r.n_scored == uint64_t(n));
    CHECK(r.mean_nll == Approx(mean).epsilon(1e-6));
    CHECK(r.ppl == Approx(std::exp(mean)).epsilon(1e-6));
    CHECK(r.ppl_stderr == Approx(std::sqrt(var / (n - 1)) * std::exp(mean)).epsilon(1e-5));
}

}  // namespace

TEST_CASE("perplexity: token_nll is -log softmax", "[perplexity]") {
    const float logits[4] = {0.0f, std::log(3.0f), 0.0f, 0.0f};
    CHECK(token_nll(logits, 4, 1) == Approx(std::log(2.0)).epsilon(1e-6));
    CHECK(token_nll(logits, 4, 3) == Approx(std::log(6.0)).epsilon(1e-6));
}

TEST_CASE("perplexity: llama.cpp protocol scores the second half of each window", "[perplexity]") {
    NextTokenModel m;
    PerplexityOptions o;
    o.ctx = 8;
    o.protocol = PplProtocol::LlamaCpp;
    std::vector<uint32_t> progress;
    o.progress = [&](uint32_t done, uint32_t total, double ppl) {
        CHECK(total == 2);
        CHECK(std::isfinite(ppl));
        progress.push_back(done);
    };
    const PerplexityResult r = perplexity(m, kTokens, o);
    // Logits 4..6 predict tokens 5..7. Window 0: 0->1 hit, 1->2 hit, 2->2 miss;
    // window 1: 2->3 hit, 3->0 hit, 0->0 miss. 576^(1/6) = 2.884.
    expect(r, 4, 2);
    CHECK(r.ppl == Approx(std::pow(576.0, 1.0 / 6.0)).epsilon(1e-6));
    CHECK(r.n_windows == 2);
    CHECK(progress == std::vector<uint32_t>{1, 2});
    REQUIRE(m.calls.size() == 2);
    CHECK(m.calls[1].tokens == std::vector<int32_t>(kTokens.begin() + 8, kTokens.begin() + 16));
    CHECK(m.calls[1].pos == 0);
    CHECK(m.calls[1].all_logits);
}

TEST_CASE("perplexity: all protocol scores every token after the first, BOS substituted", "[perplexity]") {
    NextTokenModel m;
    PerplexityOptions o;
    o.ctx = 8;
    o.protocol = PplProtocol::All;
    o.bos = 3;
    const PerplexityResult r = perplexity(m, kTokens, o);
    // Window 0 runs [3 1 2 3 0 1 2 2] against targets 1 2 3 0 1 2 2: the BOS position
    // predicts 0 (miss), then hits until 2->2 (miss): 5 hits, 2 misses. Window 1 runs
    // [3 0 1 1 2 3 0 0] against 0 1 1 2 3 0 0: misses at 1->1 and 0->0: 5 hits, 2 misses.
    expect(r, 10, 4);
    REQUIRE(m.calls.size() == 2);
    CHECK(m.calls[0].tokens == std::vector<int32_t>{3, 1, 2, 3, 0, 1, 2, 2});
}

TEST_CASE("perplexity: window limit and too-short input", "[perplexity]") {
    NextTokenModel m;
    PerplexityOptions o;
    o.ctx = 8;
    o.max_windows = 1;
    const PerplexityResult r = perplexity(m, kTokens, o);
    expect(r, 2, 1);
    CHECK(m.calls.size() == 1);

    // llama-perplexity needs two windows of text even for one chunk.
    const std::vector<int32_t> short_text(kTokens.begin(), kTokens.begin() + 15);
    CHECK_THROWS_WITH(perplexity(m, short_text, o), Catch::Contains("need at least 16"));
    o.protocol = PplProtocol::All;
    CHECK(perplexity(m, short_text, o).n_windows == 1);
    o.ctx = 9;
    CHECK_THROWS_WITH(perplexity(m, kTokens, o), Catch::Contains("exceeds the model's context of 8"));
}

#include "glowq/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "glowq/error.hpp"

namespace glowq {
namespace {

struct Candidate {
    int32_t id;
    float logit;
    float p;
};

// Probabilities of the candidates, which must be sorted by descending logit.
void softmax(std::vector<Candidate>& c) {
    const float mx = c.front().logit;
    double sum = 0.0;
    for (Candidate& x : c) {
        x.p = std::exp(x.logit - mx);
        sum += x.p;
    }
    for (Candidate& x : c) x.p = float(x.p / sum);
}

}  // namespace

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) {}

void Sampler::accept(int32_t token) { history_.push_back(token); }

void Sampler::reset() {
    history_.clear();
    rng_.seed(params_.seed);
}

std::vector<std::pair<int32_t, float>> Sampler::distribution(const float* logits, uint32_t n_vocab) const {
    if (n_vocab == 0) throw Error(ErrorKind::InvalidArgument, "Sampler: empty logits");
    std::vector<Candidate> c(n_vocab);
    for (uint32_t i = 0; i < n_vocab; ++i) c[i] = {int32_t(i), logits[i], 0.0f};

    // Penalties over the last repeat_last_n accepted tokens, each distinct token once for
    // the repetition penalty (llama.cpp counts occurrences only for frequency).
    const SamplerParams& P = params_;
    const bool penalize = P.repeat_penalty != 1.0f || P.frequency_penalty != 0.0f || P.presence_penalty != 0.0f;
    if (penalize && P.repeat_last_n != 0 && !history_.empty()) {
        const size_t window = P.repeat_last_n < 0 ? history_.size() : std::min(history_.size(), size_t(P.repeat_last_n));
        std::unordered_map<int32_t, int> count;
        for (size_t i = history_.size() - window; i < history_.size(); ++i) ++count[history_[i]];
        for (const auto& [id, n] : count) {
            if (id < 0 || uint32_t(id) >= n_vocab) continue;
            float& l = c[size_t(id)].logit;
            l = l <= 0.0f ? l * P.repeat_penalty : l / P.repeat_penalty;
            l -= float(n) * P.frequency_penalty + P.presence_penalty;
        }
    }

    // Descending logit, ties by id, so that every filter below sees one fixed order.
    std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    });
    if (P.temperature <= 0.0f) return {{c.front().id, 1.0f}};

    if (P.top_k > 0 && size_t(P.top_k) < c.size()) c.resize(size_t(P.top_k));
    if (P.top_p < 1.0f) {
        // The smallest prefix whose probability reaches top_p (at least one token).
        softmax(c);
        double cum = 0.0;
        size_t keep = c.size();
        for (size_t i = 0; i < c.size(); ++i) {
            cum += c[i].p;
            if (cum >= P.top_p) {
                keep = i + 1;
                break;
            }
        }
        c.resize(keep);
    }
    if (P.min_p > 0.0f) {
        // p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p)
        const float threshold = c.front().logit + std::log(P.min_p);
        size_t keep = 1;
        while (keep < c.size() && c[keep].logit >= threshold) ++keep;
        c.resize(keep);
    }
    for (Candidate& x : c) x.logit /= P.temperature;
    softmax(c);

    std::vector<std::pair<int32_t, float>> out;
    out.reserve(c.size());
    for (const Candidate& x : c) out.emplace_back(x.id, x.p);
    return out;
}

int32_t Sampler::sample(const float* logits, uint32_t n_vocab) {
    const auto dist = distribution(logits, n_vocab);
    if (dist.size() == 1) return dist.front().first;
    // A uniform double from the top 53 bits: the same draws on every standard library,
    // which std::uniform_real_distribution does not promise.
    const double u = double(rng_() >> 11) * 0x1.0p-53;
    double cum = 0.0;
    for (const auto& [id, p] : dist) {
        cum += p;
        if (u < cum) return id;
    }
    return dist.back().first;  // u landed in the rounding gap below 1
}

}  // namespace glowq

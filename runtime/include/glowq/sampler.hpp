// Choosing the next token from logits, with llama.cpp's samplers and their semantics and
// order (common_sampler's default chain): repetition penalties, top-k, top-p, min-p,
// temperature, then a draw from the remaining distribution. A seed fixes every draw.
#pragma once
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace glowq {

struct SamplerParams {
    float temperature = 0.8f;     // <= 0: greedy (argmax after the penalties)
    int32_t top_k = 40;           // <= 0: off
    float top_p = 0.95f;          // >= 1: off
    float min_p = 0.05f;          // <= 0: off; keeps p >= min_p * p_max
    float repeat_penalty = 1.0f;  // 1: off. Positive logits are divided by it, negative multiplied
    float frequency_penalty = 0.0f;  // subtracted once per occurrence
    float presence_penalty = 0.0f;   // subtracted once if the token occurred
    int32_t repeat_last_n = 64;   // how many recent tokens the penalties look at; 0: off, -1: all
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(SamplerParams params = {});

    // Picks a token from n_vocab logits; does not record it (call accept()).
    int32_t sample(const float* logits, uint32_t n_vocab);
    // Records a token (generated or from the prompt) for the repetition penalties.
    void accept(int32_t token);
    // Clears the history and restarts the random sequence from the seed.
    void reset();

    // The distribution sample() draws from after every filter, as (id, probability)
    // sorted by descending probability; greedy gives the argmax alone with probability 1.
    std::vector<std::pair<int32_t, float>> distribution(const float* logits, uint32_t n_vocab) const;

    const SamplerParams& params() const { return params_; }
    const std::vector<int32_t>& history() const { return history_; }

private:
    SamplerParams params_;
    std::vector<int32_t> history_;
    std::mt19937_64 rng_;
};

}  // namespace glowq

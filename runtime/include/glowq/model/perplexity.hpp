// Perplexity of a model on a token sequence, over non-overlapping windows each evaluated
// from an empty context. Two protocols:
//  - LlamaCpp: exactly llama-perplexity's default: windows of ctx tokens (at least two
//    windows of text are required), the first token of each replaced by BOS when the
//    vocabulary adds one, and only the second half scored (logits i for token i+1, i from
//    ctx/2 to ctx-2), so every scored token has at least ctx/2 tokens of context.
//  - All: the same windows (BOS substituted likewise), every token after the first scored.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "glowq/model/forward.hpp"

namespace glowq {

enum class PplProtocol { All, LlamaCpp };

struct PerplexityOptions {
    uint32_t ctx = 512;          // window length, at most forward.max_context()
    PplProtocol protocol = PplProtocol::LlamaCpp;
    int32_t max_windows = -1;    // -1: every full window (llama-perplexity's --chunks)
    int32_t bos = -1;            // >= 0: the token that replaces each window's first token
    // After each window: windows done, windows total, perplexity so far.
    std::function<void(uint32_t done, uint32_t total, double ppl)> progress;
};

struct PerplexityResult {
    double ppl = 0.0;
    double ppl_stderr = 0.0;   // llama.cpp's "+/-": ppl * std(nll) / sqrt(count - 1)
    double mean_nll = 0.0;     // natural log
    uint64_t n_scored = 0;     // predictions scored
    uint32_t n_windows = 0;
};

// Throws Error(InvalidArgument) when the sequence is too short for the protocol (one full
// window for All, two for LlamaCpp) or ctx exceeds the forward's context.
PerplexityResult perplexity(Forward& forward, const std::vector<int32_t>& tokens, const PerplexityOptions& options);

// -log softmax(logits)[target] as llama-perplexity computes it (float logits, double sum).
double token_nll(const float* logits, uint32_t n_vocab, int32_t target);

}  // namespace glowq

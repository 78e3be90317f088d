// Text generation over any Forward: prefill the prompt, then sample and decode one token
// at a time, streaming whole UTF-8 characters, until EOS, a stop string, the token limit
// or the end of the context.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/forward.hpp"
#include "glowq/sampler.hpp"

namespace glowq {

struct GenerateOptions {
    uint32_t max_tokens = 256;
    std::vector<std::string> stop;  // generation ends before any of these strings
};

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated ids, the stopping token excluded
    std::string text;
    std::string stop_reason;      // "eos", "stop string", "max tokens", "context full", "callback"
    uint32_t prompt_tokens = 0;
    double ttfb_ms = 0;           // prompt submitted -> first token sampled (prefill + first step)
    double prefill_ms = 0;
    double decode_ms = 0;         // the decode steps after the first token
    double prefill_tokens_per_s() const { return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0; }
    double decode_tokens_per_s() const {
        return decode_ms > 0 && tokens.size() > 1 ? (tokens.size() - 1) * 1000.0 / decode_ms : 0;
    }
};

// Runs prompt (already tokenized) at positions [pos, pos + prompt.size()) and generates.
// on_text receives each completed piece of text; returning false stops generation.
GenerateResult generate(Forward& model, const Tokenizer& tokenizer, Sampler& sampler,
                        const std::vector<int32_t>& prompt, uint32_t pos, const GenerateOptions& options,
                        const std::function<bool(const std::string&)>& on_text = {});

}  // namespace glowq

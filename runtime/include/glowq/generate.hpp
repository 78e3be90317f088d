// Text generation over any Forward: prefill the prompt, then sample and decode one token
// at a time, streaming whole UTF-8 characters, until EOS, a stop string, the token limit
// or the end of the context.
#pragma once
#include <atomic>
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
    // Checked before each decode step; when set, generation ends with StopReason::Cancelled.
    // (A cancel during the prompt is the model's: eval throws Error of kind Cancelled.)
    const std::atomic<bool>* cancel = nullptr;
};

// The values match glowq.h's glowq_stop_reason.
enum class StopReason { None = 0, Eos, StopString, MaxTokens, ContextFull, Callback, Cancelled };
const char* stop_reason_name(StopReason reason);  // "eos", "stop string", "max tokens", ...

struct GenerateResult {
    std::vector<int32_t> tokens;  // generated ids, the stopping token excluded
    std::string text;
    StopReason stop_reason = StopReason::None;
    uint32_t prompt_tokens = 0;
    double ttfb_ms = 0;           // prompt submitted -> first token sampled (prefill + first step)
    double prefill_ms = 0;
    double decode_ms = 0;         // the decode steps after the first token
    double prefill_tokens_per_s() const { return prefill_ms > 0 ? prompt_tokens * 1000.0 / prefill_ms : 0; }
    double decode_tokens_per_s() const {
        return decode_ms > 0 && tokens.size() > 1 ? (tokens.size() - 1) * 1000.0 / decode_ms : 0;
    }
};

// Receives each completed piece of text and the token that completed it (a piece may be
// empty); returning false stops generation.
using TokenCallback = std::function<bool(const std::string& piece, int32_t token)>;

// Runs prompt (already tokenized) at positions [pos, pos + prompt.size()) and generates.
GenerateResult generate(Forward& model, const Tokenizer& tokenizer, Sampler& sampler,
                        const std::vector<int32_t>& prompt, uint32_t pos, const GenerateOptions& options,
                        const TokenCallback& on_token = {});

}  // namespace glowq

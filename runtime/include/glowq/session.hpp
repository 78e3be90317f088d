// Session: one conversation's state on a shared Model: its own KV cache, command stream
// and graphs. Evaluation and generation reuse the longest prefix already in the cache. One
// thread at a time uses a session, except cancel(), which any thread may call: the call in
// progress stops at its next check (between prefill chunks, between generated tokens) and
// the session stays usable. Each generate/eval call starts uncancelled.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "glowq/generate.hpp"
#include "glowq/model.hpp"
#include "glowq/ops/int_dot.hpp"
#include "glowq/sampler.hpp"

namespace glowq {

struct SessionOptions {
    uint32_t context = 2048;  // KV positions (at most the model's trained context)
    uint32_t chunk = 0;       // prompt tokens per GPU submit, the prefill cancel granularity; 0: 512 on GPUs, 128 on CPU drivers
    ops::IntDot int_dot = ops::IntDot::Auto;  // the decode GEMVs' products (ops/int_dot.hpp)
};

class Session {
public:
    explicit Session(std::shared_ptr<const Model> model, const SessionOptions& options = {});

    const Model& model() const { return *model_; }
    uint32_t context() const { return exec_->max_context(); }
    // Every token of the session: the KV cache holds all of them but possibly the last
    // generated one (sampled, not yet evaluated).
    const std::vector<int32_t>& tokens() const { return tokens_; }

    // Makes the session hold `sequence` (its cached prefix reused, the rest evaluated) and
    // generates after it; the generated tokens join the session. A cancel during the
    // prompt throws Error(Cancelled), during decoding returns StopReason::Cancelled.
    GenerateResult generate(const std::vector<int32_t>& sequence, const SamplerParams& sampler,
                            GenerateOptions options, const TokenCallback& on_token = {});
    // Appends tokens and evaluates them; logits (n_vocab floats, may be null) gets the last
    // token's.
    void eval(const std::vector<int32_t>& tokens, float* logits = nullptr);
    void truncate(uint32_t n);
    void cancel() { cancel_.store(true); }

    // Tokens and KV cache as bytes with a versioned header naming the model; restoring
    // checks all of it and leaves the session unchanged when it refuses.
    std::vector<uint8_t> save_state();
    void load_state(const uint8_t* data, size_t size);
    // The file is written to a temporary name, flushed and renamed: never left torn.
    void save_file(const std::string& path);
    void load_file(const std::string& path);

    // The executor, for what works on any forward pass (perplexity) and for profiling.
    VulkanLlama& executor() { return *exec_; }

private:
    std::vector<int32_t> prepare(const std::vector<int32_t>& sequence);

    std::shared_ptr<const Model> model_;
    std::unique_ptr<VulkanLlama> exec_;
    std::vector<int32_t> tokens_;
    std::atomic<bool> cancel_{false};
};

}  // namespace glowq

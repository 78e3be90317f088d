// The CPU reference forward pass: a plain fp32 decoder over dequantized weights, following
// llama.cpp's graph for every architecture in the table (Llama; qwen2's q/k/v biases and
// NEOX rotation; gemma3's q/k norms, post-norms, GELU and sliding windows). It is the oracle the
// Vulkan graph is tested against and the model calibration runs, so it favours being
// obviously right over being fast; the matrix products go through Eigen so that a full
// context window still takes seconds.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "glowq/model/forward.hpp"
#include "glowq/model/host_weights.hpp"

namespace glowq {

// Called during eval with n_tokens rows of dim floats, row-major, valid only for the call.
using TapFn = std::function<void(uint32_t layer, TapPoint point, const float* x, uint32_t n_tokens, uint32_t dim)>;

// The arithmetic of one decoder layer (and of the embedding lookup), shared by
// ReferenceLlama and by the quantizer's layer-by-layer calibration, which holds one layer's
// weights at a time: both see bit-identical activations.
class ReferenceLayer {
public:
    // Throws Error(Unsupported) for rope scalings it does not implement (yarn; llama3
    // without rope_freqs).
    ReferenceLayer(const ModelConfig& config, std::vector<float> rope_freqs);

    // The residual stream's first rows: n tokens' embeddings (scaled where the model does),
    // row-major [n][n_embd]. Token ids must be in the vocabulary (the caller checks).
    void embed(const HostMatrix& token_embd, const int32_t* tokens, uint32_t n, float* x) const;

    // Runs layer `layer` (weights L) on n rows of the residual stream x (row-major
    // [n][n_embd], updated in place) at positions pos..pos+n-1. k_cache and v_cache are this
    // layer's cache, [position][n_kv_heads * head_dim] for at least pos + n positions: rows
    // pos.. are written, 0..pos+n-1 read. tap, when set, sees the four projection inputs.
    void run(uint32_t layer, const HostLayer& L, float* x, uint32_t n, uint32_t pos, float* k_cache, float* v_cache,
             const TapFn& tap) const;

private:
    void attention(uint32_t layer, const float* q, uint32_t n, uint32_t pos, const float* k_layer,
                   const float* v_layer, float* out) const;
    void rope(uint32_t layer, float* x, uint32_t n_heads, uint32_t n, uint32_t pos) const;

    ModelConfig c_;
    std::vector<float> rope_freqs_;  // rope_dim/2 frequency divisors, or empty
    bool neox_ = false;              // rotate (i, i + rope_dim/2) pairs instead of (2i, 2i+1)
    float freq_scale_ = 1.0f;        // linear rope scaling: positions are multiplied by it
};

class ReferenceLlama : public Forward {
public:
    // max_context = 0 takes the model's trained context. The KV cache (fp32) is allocated
    // here: n_layers * max_context * 2 * n_kv_heads * head_dim floats. Throws
    // Error(Unsupported) for rope scalings it does not implement (yarn; llama3 without a
    // rope_freqs tensor).
    ReferenceLlama(std::shared_ptr<const HostWeights> weights, uint32_t max_context = 0);

    const ModelConfig& config() const override { return w_->config; }
    uint32_t max_context() const override { return max_ctx_; }
    // Throws Error(InvalidArgument) for n == 0, pos beyond the cached length, a window past
    // max_context, or a token id outside the vocabulary.
    void eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) override;

    // Positions currently held by the KV cache.
    uint32_t cached() const { return cached_; }
    const HostWeights& weights() const { return *w_; }
    // Replaces the tap (an empty function removes it).
    void set_tap(TapFn tap) { tap_ = std::move(tap); }

private:
    std::shared_ptr<const HostWeights> w_;
    ReferenceLayer layer_;
    uint32_t max_ctx_;
    uint32_t cached_ = 0;
    std::vector<float> k_cache_, v_cache_;  // [layer][position][n_kv_heads * head_dim]
    TapFn tap_;
};

}  // namespace glowq

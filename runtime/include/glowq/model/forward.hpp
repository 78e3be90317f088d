// The interface every model executor implements: the CPU reference (the oracle of the
// tests) and the Vulkan forward graph. Generation, chat, perplexity and calibration are
// written once against it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "glowq/loader/model_config.hpp"

namespace glowq {

// The activations a tap sees: the inputs of the layer's linear projections.
enum class TapPoint {
    AttnInput,     // attention-norm output, the input of q/k/v (dim n_embd)
    AttnOutput,    // attention output, the input of o_proj (dim n_heads * head_dim)
    FfnInput,      // ffn-norm output, the input of gate/up (dim n_embd)
    FfnDownInput,  // act(gate) * up, the input of down (dim n_ff)
};
constexpr size_t kTapPoints = 4;  // TapPoint::AttnInput .. FfnDownInput
inline uint32_t tap_dim(const ModelConfig& c, TapPoint p) {
    return p == TapPoint::AttnOutput ? c.n_heads * c.head_dim : p == TapPoint::FfnDownInput ? c.n_ff : c.n_embd;
}


class Forward {
public:
    virtual ~Forward() = default;
    virtual const ModelConfig& config() const = 0;
    // Positions the KV cache holds; eval beyond it is an error, never a silent overflow.
    virtual uint32_t max_context() const = 0;
    // Runs tokens[0..n) at positions [pos, pos + n), which must continue the cached
    // sequence (pos <= cached length; a smaller pos rewinds and overwrites). Writes the
    // logits of the last token (n_vocab floats), or of every token (n * n_vocab) when
    // all_logits is set.
    virtual void eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) = 0;
};

}  // namespace glowq

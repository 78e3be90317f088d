// The shape and hyper-parameters of a Llama-family decoder, read from a GGUF file's
// `<arch>.*` keys (llama.cpp's names), cross-checked against the tensors that must exist.
#pragma once
#include <cstdint>
#include <string>

#include "glowq/loader/gguf.hpp"

namespace glowq {

struct RopeScaling {
    std::string type = "none";       // none | linear | yarn | llama3 (as the file says)
    float factor = 1.0f;             // context extension factor (1 = none)
    uint32_t original_context = 0;   // training context before extension, 0 if not given
};

struct ModelConfig {
    std::string architecture;  // general.architecture
    std::string name;          // general.name, may be empty
    uint32_t n_layers = 0;     // block_count
    uint32_t n_embd = 0;       // hidden size
    uint32_t n_heads = 0;
    uint32_t n_kv_heads = 0;   // grouped-query attention: n_heads is a multiple of it
    uint32_t head_dim = 0;     // attention.key_length, else n_embd / n_heads
    uint32_t n_ff = 0;         // feed-forward hidden size
    uint32_t n_ctx = 0;        // trained context length
    uint32_t n_vocab = 0;
    uint32_t rope_dim = 0;     // rotated dimensions per head (rope.dimension_count, else head_dim)
    float rope_freq_base = 10000.0f;
    RopeScaling rope_scaling;
    bool has_rope_freqs = false;  // a rope_freqs.weight tensor (llama 3.1 style) is present
    float rms_eps = 1e-5f;
    bool tied_output = false;     // no output.weight: the token embedding is reused
    bool attn_bias = false;       // q/k/v projections carry a bias (qwen2)
};

// Architectures read_model_config accepts ("llama", "qwen2", "mistral").
bool model_architecture_supported(const std::string& arch);

// Throws LoadError naming the file and the problem: an unsupported architecture (named),
// a missing key or tensor, or inconsistent values (e.g. heads not dividing the hidden size).
ModelConfig read_model_config(const GgufFile& f);

}  // namespace glowq

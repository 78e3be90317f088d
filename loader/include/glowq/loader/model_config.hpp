// The shape and hyper-parameters of a decoder of an architecture in the table
// (architecture.hpp), read from a GGUF file's `<arch>.*` keys (llama.cpp's names) and
// cross-checked against the tensors that must exist.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/loader/architecture.hpp"
#include "glowq/loader/gguf.hpp"

namespace glowq {

struct RopeScaling {
    std::string type = "none";       // none | linear | yarn | llama3 (as the file says)
    float factor = 1.0f;             // context extension factor (1 = none)
    uint32_t original_context = 0;   // training context before extension, 0 if not given
};

struct ModelConfig {
    std::string architecture;  // general.architecture
    Architecture arch;         // its entry in the architecture table
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
    float attn_scale = 0.0f;      // multiplies q·k before the softmax (1/sqrt(head_dim) but for gemma3 27B)
    float embd_scale = 1.0f;      // multiplies the token embeddings (sqrt(n_embd) for gemma)
    // Sliding-window attention: a local layer's query at position p sees keys p-window+1..p.
    uint32_t sliding_window = 0;         // 0: every layer is global
    std::vector<bool> local_layers;      // per layer; empty when sliding_window is 0
    float rope_freq_base_local = 10000.0f;

    bool layer_is_local(uint32_t l) const { return l < local_layers.size() && local_layers[l]; }
    // The positions a layer's query sees behind itself, itself included; 0: all of them.
    uint32_t layer_window(uint32_t l) const { return layer_is_local(l) ? sliding_window : 0; }
    float layer_rope_base(uint32_t l) const { return layer_is_local(l) ? rope_freq_base_local : rope_freq_base; }
};

// Architectures read_model_config accepts: those in the table (supported_architectures()).
bool model_architecture_supported(const std::string& arch);

// Throws LoadError naming the file and the problem: an unsupported architecture (named),
// a missing key or tensor, or inconsistent values (e.g. heads not dividing the hidden size).
ModelConfig read_model_config(const GgufFile& f);

}  // namespace glowq

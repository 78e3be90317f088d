// Every weight of a GGUF model of an architecture in the table (architecture.hpp) decoded to fp32 in host memory: the input of the
// CPU reference forward pass and of calibration, which need exact dequantized values rather
// than the packed formats the GPU consumes. Matrices keep ggml's layout: row-major
// [out][in] (ne[0] = in is the row length), so row r is the weights of output r.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/loader/model_config.hpp"

namespace glowq {

// A dense fp32 matrix, row-major: data[r * cols + c].
struct HostMatrix {
    uint32_t rows = 0;  // output features
    uint32_t cols = 0;  // input features
    std::vector<float> data;

    const float* row(uint32_t r) const { return data.data() + size_t(r) * cols; }
};

struct HostLayer {
    std::vector<float> attn_norm;             // n_embd
    HostMatrix wq, wk, wv, wo;                // [n_heads*head_dim][n_embd], [n_kv*head_dim][n_embd] x2, [n_embd][n_heads*head_dim]
    std::vector<float> bq, bk, bv;            // q/k/v biases (qwen2), empty when absent
    std::vector<float> q_norm, k_norm;        // head_dim: per-head norms of q and k (gemma3), or empty
    std::vector<float> attn_post_norm;        // n_embd: norm of the attention output (gemma3), or empty
    std::vector<float> ffn_norm;              // n_embd
    HostMatrix w_gate, w_up, w_down;          // [n_ff][n_embd] x2, [n_embd][n_ff]
    std::vector<float> ffn_post_norm;         // n_embd: norm of the FFN output (gemma3), or empty
};

struct HostWeights {
    ModelConfig config;
    HostMatrix token_embd;                    // [n_vocab][n_embd]
    std::vector<HostLayer> layers;
    std::vector<float> output_norm;           // n_embd
    HostMatrix output;                        // [n_vocab][n_embd]; empty when tied (use lm_head())
    std::vector<float> rope_freqs;            // rope_dim/2 frequency divisors (llama 3.1), or empty

    // The matrix that maps the final hidden state to logits: output.weight, or the token
    // embedding when the model ties them.
    const HostMatrix& lm_head() const { return config.tied_output ? token_embd : output; }

    // Reads the config and decodes every tensor. Throws LoadError for a malformed file or a
    // tensor whose shape disagrees with the config, naming the file and tensor.
    static HostWeights load(const GgufFile& file);
    static HostWeights load(const std::string& path);
    // load()'s checks without the decoding (every tensor there, with its shape and a type
    // this loader decodes): work that reads one layer at a time refuses a malformed file
    // before its first layer, not at its last. A GlowQ file's modules are not checked.
    static void check(const GgufFile& file);

    // The pieces load() reads, for work that holds one layer at a time (the streamed
    // quantizer): a layer, the token embedding, the rope frequency divisors (empty when the
    // model has none). The same errors as load(); decode = false checks as check() does.
    static HostLayer load_layer(const GgufFile& file, const ModelConfig& config, uint32_t layer, bool decode = true);
    static HostMatrix load_token_embd(const GgufFile& file, const ModelConfig& config, bool decode = true);
    static std::vector<float> load_rope_freqs(const GgufFile& file, const ModelConfig& config, bool decode = true);

private:
    static HostWeights read(const GgufFile& file, bool decode);
};

}  // namespace glowq

// Synthetic GGUF models with seeded random weights, of any architecture in the table: real
// shapes (SmolLM2-135M, Llama-2-7B, Llama-3-8B, Qwen2.5-0.5B, Gemma-3-270M) or tiny custom
// ones, for tests and benchmarks that need a model file without downloading one. Written
// with llama.cpp's tensor names and `<arch>.*` keys plus a minimal byte-level gpt2
// tokenizer, so standard tools open them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "glowq/loader/gguf_types.hpp"

namespace glowq {

struct SynthShape {
    std::string name;
    std::string architecture = "llama";  // an entry of the architecture table; its traits decide
                                         // the extra tensors (biases, q/k norms, post-norms)
    uint32_t n_layers = 2;
    uint32_t n_embd = 64;
    uint32_t n_heads = 4;
    uint32_t n_kv_heads = 2;
    uint32_t head_dim = 0;     // 0: n_embd / n_heads
    uint32_t n_ff = 128;
    uint32_t n_vocab = 320;    // at least 257: 256 byte tokens + <|endoftext|>
    uint32_t n_ctx = 2048;
    float rope_freq_base = 10000.0f;
    float rms_eps = 1e-5f;
    bool tied_output = false;  // true: no output.weight
    uint32_t sliding_window = 0;  // architectures with sliding windows (gemma3): the window
};

// Known shapes by name: "smollm2-135m", "llama2-7b", "llama3-8b", "qwen2.5-0.5b",
// "gemma3-270m", "tiny".
// Throws Error(InvalidArgument) listing the known names for any other.
SynthShape synth_shape(const std::string& name);
std::vector<std::string> synth_shape_names();

struct SynthOptions {
    SynthShape shape;
    GgmlType matrix_type = GgmlType::Q4_0;  // Q4_0, Q4_1 or F16 for every 2-D weight
    uint64_t seed = 1;
    std::optional<uint32_t> layers;         // overrides shape.n_layers (fast tests)
    std::string chat_template;              // tokenizer.chat_template; empty: none
};

// A plain ChatML template (for chat tests on synthetic models: `glowq synth --chatml`).
constexpr const char* kSynthChatmlTemplate =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

// Writes the model to path (atomically). Same options and seed give the same bytes.
// Throws Error(InvalidArgument) for shapes the format cannot hold (row lengths that are not
// a multiple of 32 for Q4 types, a vocabulary under 257) or an unsupported matrix type.
void write_synth_model(const std::string& path, const SynthOptions& options);

}  // namespace glowq

// Synthetic Llama-shaped GGUF models with seeded random weights: real shapes (SmolLM2-135M,
// Llama-2-7B, Llama-3-8B, Qwen2.5-0.5B) or tiny custom ones, for tests and benchmarks that
// need a model file without downloading one. Written with llama.cpp's tensor names and
// `llama.*` keys plus a minimal byte-level gpt2 tokenizer, so standard tools open them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "glowq/loader/gguf_types.hpp"

namespace glowq {

struct SynthShape {
    std::string name;
    uint32_t n_layers = 2;
    uint32_t n_embd = 64;
    uint32_t n_heads = 4;
    uint32_t n_kv_heads = 2;
    uint32_t n_ff = 128;
    uint32_t n_vocab = 320;    // at least 257: 256 byte tokens + <|endoftext|>
    uint32_t n_ctx = 2048;
    float rope_freq_base = 10000.0f;
    float rms_eps = 1e-5f;
    bool tied_output = false;  // true: no output.weight
};

// Known shapes by name: "smollm2-135m", "llama2-7b", "llama3-8b", "qwen2.5-0.5b", "tiny".
// Throws Error(InvalidArgument) listing the known names for any other.
SynthShape synth_shape(const std::string& name);
std::vector<std::string> synth_shape_names();

struct SynthOptions {
    SynthShape shape;
    GgmlType matrix_type = GgmlType::Q4_0;  // Q4_0, Q4_1 or F16 for every 2-D weight
    uint64_t seed = 1;
    std::optional<uint32_t> layers;         // overrides shape.n_layers (fast tests)
};

// Writes the model to path (atomically). Same options and seed give the same bytes.
// Throws Error(InvalidArgument) for shapes the format cannot hold (row lengths that are not
// a multiple of 32 for Q4 types, a vocabulary under 257) or an unsupported matrix type.
void write_synth_model(const std::string& path, const SynthOptions& options);

}  // namespace glowq

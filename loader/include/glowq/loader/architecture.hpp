// The one table of decoder architectures glowq runs (in the spirit of llama.cpp's
// llama-arch.cpp): every tensor's GGUF name, and per architecture the traits that make its
// forward pass differ from Llama's. The config reader, the CPU reference, the Vulkan graph,
// the quantizer, the GlowQ file format and `glowq info` all read it, so adding an
// architecture is an entry here plus the kernels it truly lacks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace glowq {

// Which dimensions RoPE rotates together: (2i, 2i+1) for llama/mistral GGUFs (the
// converter permuted q/k rows for exactly this), (i, i + rope_dim/2) for NEOX-style models.
enum class RopeStyle : uint8_t { Adjacent, Neox };

// The gate's activation in the gated FFN: act(gate) * up.
enum class Activation : uint8_t { Silu, GeluTanh };

// A tensor by its role; tensor_name() spells it the way llama.cpp's converters do.
enum class Tensor : uint8_t {
    TokenEmbd, OutputNorm, Output, RopeFreqs,  // model-wide
    AttnNorm, AttnQ, AttnK, AttnV, AttnOutput, AttnQNorm, AttnKNorm, AttnPostNorm,
    FfnNorm, FfnGate, FfnUp, FfnDown, FfnPostNorm,  // per layer
};

// "attn_q", "token_embd", ...: the name without "blk.N." and without a suffix.
const char* tensor_base(Tensor t);
// "output_norm.weight" (model-wide tensors) and "blk.3.attn_q.weight" (per layer).
std::string tensor_name(Tensor t, const char* suffix = "weight");
std::string tensor_name(Tensor t, uint32_t layer, const char* suffix = "weight");

// The seven linear modules of a layer that glowq quantizes and corrects, in file order.
const std::vector<Tensor>& quantized_modules();
// The role of a tensor_base() name ("attn_q" -> AttnQ); false for names not in the table.
bool tensor_from_base(const std::string& base, Tensor& out);

// GlowQ's input-sharing groups of a layer: the modules that read the same input share one
// right factor B. Every architecture in the table has the same four.
struct ModuleGroup {
    const char* name;             // "qkv", "gate_up", "attn_output", "ffn_down"
    std::vector<Tensor> members;  // in file order
};
const std::vector<ModuleGroup>& input_sharing_groups();

struct Architecture {
    const char* name = "llama";          // general.architecture, the prefix of its keys
    RopeStyle rope = RopeStyle::Adjacent;
    Activation activation = Activation::Silu;
    bool qk_norm = false;           // per-head RMSNorm of q and k before RoPE (attn_q_norm, attn_k_norm)
    bool post_norms = false;        // RMSNorm of the attention and FFN outputs before each residual add
    bool embedding_scale = false;   // token embeddings multiplied by sqrt(n_embd)
    bool qkv_bias = false;          // q/k/v carry biases (read wherever the file has them)
    // Sliding-window attention: with `<arch>.attention.sliding_window` set, layer l is
    // global when l % swa_period == swa_period - 1 and local otherwise; local layers use
    // swa_rope_base (unless `<arch>.rope.freq_base_swa` says otherwise). 0: no windows.
    uint32_t swa_period = 0;
    float swa_rope_base = 10000.0f;
};

// The entry for general.architecture, or null when glowq does not run it.
const Architecture* find_architecture(const std::string& name);
// "llama, mistral, qwen2, gemma3": for error messages and --help.
std::string supported_architectures();

}  // namespace glowq

#include "glowq/loader/architecture.hpp"

namespace glowq {

namespace {

const Architecture kArchitectures[] = {
    {"llama"},
    {"mistral"},
    {"qwen2", RopeStyle::Neox, Activation::Silu, false, false, false, /*qkv_bias=*/true},
    // Gemma 3: q/k norms, norms after attention and FFN, GELU, embeddings scaled by
    // sqrt(d), five sliding-window layers (RoPE base 10000) to each global one.
    {"gemma3", RopeStyle::Neox, Activation::GeluTanh, true, true, true, false, /*swa_period=*/6, 10000.0f},
};

}  // namespace

const char* tensor_base(Tensor t) {
    switch (t) {
        case Tensor::TokenEmbd: return "token_embd";
        case Tensor::OutputNorm: return "output_norm";
        case Tensor::Output: return "output";
        case Tensor::RopeFreqs: return "rope_freqs";
        case Tensor::AttnNorm: return "attn_norm";
        case Tensor::AttnQ: return "attn_q";
        case Tensor::AttnK: return "attn_k";
        case Tensor::AttnV: return "attn_v";
        case Tensor::AttnOutput: return "attn_output";
        case Tensor::AttnQNorm: return "attn_q_norm";
        case Tensor::AttnKNorm: return "attn_k_norm";
        case Tensor::AttnPostNorm: return "post_attention_norm";
        case Tensor::FfnNorm: return "ffn_norm";
        case Tensor::FfnGate: return "ffn_gate";
        case Tensor::FfnUp: return "ffn_up";
        case Tensor::FfnDown: return "ffn_down";
        case Tensor::FfnPostNorm: return "post_ffw_norm";
    }
    return "?";
}

std::string tensor_name(Tensor t, const char* suffix) { return std::string(tensor_base(t)) + "." + suffix; }

std::string tensor_name(Tensor t, uint32_t layer, const char* suffix) {
    return "blk." + std::to_string(layer) + "." + tensor_base(t) + "." + suffix;
}

const std::vector<Tensor>& quantized_modules() {
    static const std::vector<Tensor> m = {Tensor::AttnQ,   Tensor::AttnK, Tensor::AttnV,  Tensor::AttnOutput,
                                          Tensor::FfnGate, Tensor::FfnUp, Tensor::FfnDown};
    return m;
}

bool tensor_from_base(const std::string& base, Tensor& out) {
    for (uint8_t i = 0; i <= uint8_t(Tensor::FfnPostNorm); ++i)
        if (base == tensor_base(Tensor(i))) {
            out = Tensor(i);
            return true;
        }
    return false;
}

const std::vector<ModuleGroup>& input_sharing_groups() {
    static const std::vector<ModuleGroup> g = {
        {"qkv", {Tensor::AttnQ, Tensor::AttnK, Tensor::AttnV}},
        {"gate_up", {Tensor::FfnGate, Tensor::FfnUp}},
        {"attn_output", {Tensor::AttnOutput}},
        {"ffn_down", {Tensor::FfnDown}},
    };
    return g;
}

const Architecture* find_architecture(const std::string& name) {
    for (const Architecture& a : kArchitectures)
        if (name == a.name) return &a;
    return nullptr;
}

std::string supported_architectures() {
    std::string s;
    for (const Architecture& a : kArchitectures) s += (s.empty() ? "" : ", ") + std::string(a.name);
    return s;
}

}  // namespace glowq

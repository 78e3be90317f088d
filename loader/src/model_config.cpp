// Reading ModelConfig. Converters disagree on integer widths (u32 vs i32 vs u64) and float
// widths, so the numeric keys are read leniently; their meaning and consistency are not.
#include "glowq/loader/model_config.hpp"

#include <cmath>

namespace glowq {

namespace {

uint32_t get_u32_any(const GgufFile& f, const std::string& key) {
    const uint64_t v = f.get_uint(key);
    if (v > 0xffffffffu) throw LoadError(f.name() + ": metadata '" + key + "' = " + std::to_string(v) + " is too large");
    return uint32_t(v);
}

uint32_t get_u32_or(const GgufFile& f, const std::string& key, uint32_t fallback) {
    return f.has(key) ? get_u32_any(f, key) : fallback;
}

float get_f32_or(const GgufFile& f, const std::string& key, float fallback) {
    return f.has(key) ? float(f.get_float(key)) : fallback;
}

[[noreturn]] void bad(const GgufFile& f, const std::string& what) { throw LoadError(f.name() + ": " + what); }

// What the architecture's traits read from the file: the attention and embedding scales,
// and which layers use a sliding window with which RoPE base.
void read_architecture_traits(const GgufFile& f, ModelConfig& c) {
    const std::string a = c.architecture + ".";
    // Gemma 3 27B scales queries by its hidden size per head, not by its head size
    // (gemma_pytorch's query_pre_attn_scalar); llama.cpp tells it by its 62 layers.
    const bool gemma27b = c.architecture == "gemma3" && c.n_layers == 62;
    c.attn_scale = 1.0f / std::sqrt(float(gemma27b ? c.n_embd / c.n_heads : c.head_dim));
    c.embd_scale = c.arch.embedding_scale ? std::sqrt(float(c.n_embd)) : 1.0f;
    if (get_f32_or(f, a + "final_logit_softcapping", 0.0f) != 0.0f)
        throw LoadError(f.name() + ": final logit soft-capping (" + a + "final_logit_softcapping) is not implemented",
                        ErrorKind::Unsupported);

    c.sliding_window = c.arch.swa_period ? get_u32_or(f, a + "attention.sliding_window", 0) : 0;
    if (c.sliding_window == 0) return;
    c.rope_freq_base_local = get_f32_or(f, a + "rope.freq_base_swa", c.arch.swa_rope_base);
    c.local_layers.assign(c.n_layers, false);
    const std::string pattern_key = a + "attention.sliding_window_pattern";
    const GgufValue* pattern = f.find(pattern_key);
    if (pattern && pattern->type() == GgufType::ARRAY) {  // one flag per layer
        const std::vector<bool> flags = f.get_array<bool>(pattern_key);
        if (flags.size() != c.n_layers)
            bad(f, pattern_key + " has " + std::to_string(flags.size()) + " entries for " +
                       std::to_string(c.n_layers) + " layers");
        c.local_layers = flags;
        return;
    }
    const uint32_t period = pattern ? get_u32_any(f, pattern_key) : c.arch.swa_period;
    for (uint32_t l = 0; l < c.n_layers; ++l) c.local_layers[l] = period == 0 || l % period < period - 1;
}

}  // namespace

bool model_architecture_supported(const std::string& arch) { return find_architecture(arch) != nullptr; }

ModelConfig read_model_config(const GgufFile& f) {
    ModelConfig c;
    c.architecture = f.get_string("general.architecture");
    const Architecture* arch = find_architecture(c.architecture);
    if (!arch)
        bad(f, "unsupported model architecture '" + c.architecture + "' (supported: " + supported_architectures() + ")");
    c.arch = *arch;
    if (const GgufValue* n = f.find("general.name"); n && n->type() == GgufType::STRING)
        c.name = n->get<std::string>();
    const std::string a = c.architecture + ".";

    c.n_layers = get_u32_any(f, a + "block_count");
    c.n_embd = get_u32_any(f, a + "embedding_length");
    c.n_ff = get_u32_any(f, a + "feed_forward_length");
    c.n_heads = get_u32_any(f, a + "attention.head_count");
    c.n_kv_heads = get_u32_or(f, a + "attention.head_count_kv", c.n_heads);
    c.n_ctx = get_u32_any(f, a + "context_length");
    if (c.n_layers == 0 || c.n_embd == 0 || c.n_heads == 0 || c.n_kv_heads == 0 || c.n_ff == 0)
        bad(f, "layer, hidden, head and feed-forward sizes must be non-zero");
    if (c.n_heads % c.n_kv_heads != 0)
        bad(f, std::to_string(c.n_heads) + " attention heads are not a multiple of " +
                   std::to_string(c.n_kv_heads) + " KV heads");
    if (!f.has(a + "attention.key_length") && c.n_embd % c.n_heads != 0)
        bad(f, "hidden size " + std::to_string(c.n_embd) + " is not a multiple of " +
                   std::to_string(c.n_heads) + " heads and no key_length is given");
    c.head_dim = get_u32_or(f, a + "attention.key_length", c.n_embd / c.n_heads);
    if (get_u32_or(f, a + "attention.value_length", c.head_dim) != c.head_dim)
        bad(f, "key and value head sizes differ, which Llama-family models do not do");
    c.rope_dim = get_u32_or(f, a + "rope.dimension_count", c.head_dim);
    if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0)
        bad(f, "rope.dimension_count " + std::to_string(c.rope_dim) + " does not fit head size " +
                   std::to_string(c.head_dim));
    c.rope_freq_base = get_f32_or(f, a + "rope.freq_base", 10000.0f);
    c.rms_eps = get_f32_or(f, a + "attention.layer_norm_rms_epsilon", 1e-5f);

    if (const GgufValue* t = f.find(a + "rope.scaling.type")) {
        if (t->type() != GgufType::STRING)
            throw MetadataTypeError(f.name() + ": metadata '" + a + "rope.scaling.type' is not a string");
        c.rope_scaling.type = t->get<std::string>();
    }
    c.rope_scaling.factor = get_f32_or(f, a + "rope.scaling.factor", 1.0f);
    if (f.has(a + "rope.scale_linear")) {  // older converters' spelling of linear scaling
        c.rope_scaling.factor = float(f.get_float(a + "rope.scale_linear"));
        if (c.rope_scaling.type == "none") c.rope_scaling.type = "linear";
    }
    c.rope_scaling.original_context = get_u32_or(f, a + "rope.scaling.original_context_length", 0);
    c.has_rope_freqs = f.find_tensor("rope_freqs.weight") != nullptr;

    read_architecture_traits(f, c);

    const GgufTensor& emb = f.tensor(tensor_name(Tensor::TokenEmbd));
    if (emb.ne[0] != c.n_embd)
        bad(f, "token_embd.weight rows have " + std::to_string(emb.ne[0]) + " values, hidden size is " +
                   std::to_string(c.n_embd));
    if (f.has(a + "vocab_size")) {
        c.n_vocab = get_u32_any(f, a + "vocab_size");
    } else if (const GgufValue* tok = f.find("tokenizer.ggml.tokens")) {
        c.n_vocab = uint32_t(tok->array_size());
    } else {
        c.n_vocab = uint32_t(emb.ne[1]);
    }
    if (emb.ne[1] != c.n_vocab)
        bad(f, "token_embd.weight has " + std::to_string(emb.ne[1]) + " rows but the vocabulary has " +
                   std::to_string(c.n_vocab) + " tokens");
    c.tied_output = f.find_tensor(tensor_name(Tensor::Output)) == nullptr;
    c.attn_bias = f.find_tensor(tensor_name(Tensor::AttnQ, 0, "bias")) != nullptr;
    if (c.arch.qkv_bias && !c.attn_bias)
        bad(f, c.architecture + " models carry q/k/v biases, and " + tensor_name(Tensor::AttnQ, 0, "bias") + " is missing");
    // GlowQ files store the quantized modules as .q4 (+ .scale/.offset), see glowq_format.hpp.
    const char* q_suffix = f.has("glowq.format_version") ? "q4" : "weight";
    for (uint32_t l = 0; l < c.n_layers; ++l) {
        f.tensor(tensor_name(Tensor::AttnQ, l, q_suffix));  // throws naming the missing layer
        if (c.arch.qk_norm) f.tensor(tensor_name(Tensor::AttnQNorm, l)), f.tensor(tensor_name(Tensor::AttnKNorm, l));
        if (c.arch.post_norms) f.tensor(tensor_name(Tensor::AttnPostNorm, l)), f.tensor(tensor_name(Tensor::FfnPostNorm, l));
    }
    return c;
}

}  // namespace glowq

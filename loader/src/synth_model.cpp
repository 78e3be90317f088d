// Synthetic model generation. Quantized blocks are drawn directly (random codes and a scale
// chosen so a weight's spread is about 1/sqrt(fan_in)), which is far faster than
// quantizing random floats and exercises every code value. Every tensor has its own random
// stream seeded from (seed, name), so its bytes do not depend on the order of writing.
#include "glowq/loader/synth_model.hpp"

#include <cmath>
#include <cstring>
#include "glowq/error.hpp"

#include "glowq/fp16.hpp"
#include "glowq/loader/architecture.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "glowq/loader/tokenizer.hpp"

namespace glowq {

namespace {

struct SplitMix64 {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return float(next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

uint64_t stream_seed(uint64_t seed, const std::string& name) {
    uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a over the name
    for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
    return h;
}

void fill_matrix(GgmlType type, uint64_t cols, uint64_t seed, uint8_t* dst, uint64_t n_bytes) {
    SplitMix64 rng{seed};
    const float sigma = 1.0f / std::sqrt(float(cols));
    if (type == GgmlType::F16) {
        const float amp = sigma * std::sqrt(3.0f);  // uniform with standard deviation sigma
        for (uint64_t i = 0; i < n_bytes / 2; ++i) {
            const uint16_t h = float_to_half((2.0f * rng.uniform() - 1.0f) * amp);
            std::memcpy(dst + 2 * i, &h, 2);
        }
        return;
    }
    const bool q4_1 = type == GgmlType::Q4_1;
    const uint64_t block = q4_1 ? 20 : 18;
    for (uint64_t off = 0; off + block <= n_bytes; off += block) {
        uint8_t* b = dst + off;
        // Uniform codes 0..15 have standard deviation ~4.6 steps.
        const float d = sigma / 4.6f * (0.75f + 0.5f * rng.uniform());
        const uint16_t dh = float_to_half(d);
        std::memcpy(b, &dh, 2);
        if (q4_1) {
            const uint16_t mh = float_to_half(-7.5f * d + 0.1f * d * (rng.uniform() - 0.5f));
            std::memcpy(b + 2, &mh, 2);
        }
        uint64_t bits = rng.next(), bits2 = rng.next();
        uint8_t* qs = b + (q4_1 ? 4 : 2);
        for (int j = 0; j < 8; ++j) qs[j] = uint8_t(bits >> (8 * j));
        for (int j = 0; j < 8; ++j) qs[8 + j] = uint8_t(bits2 >> (8 * j));
    }
}

std::vector<float> norm_weights(uint64_t n, uint64_t seed) {
    SplitMix64 rng{seed};
    std::vector<float> v(n);
    for (float& x : v) x = 1.0f + 0.1f * (rng.uniform() - 0.5f);
    return v;
}

}  // namespace

std::vector<std::string> synth_shape_names() {
    return {"smollm2-135m", "llama2-7b", "llama3-8b", "qwen2.5-0.5b", "gemma3-270m", "tiny"};
}

SynthShape synth_shape(const std::string& name) {
    SynthShape s;
    s.name = name;
    if (name == "smollm2-135m") {
        s.n_layers = 30; s.n_embd = 576; s.n_heads = 9; s.n_kv_heads = 3; s.n_ff = 1536;
        s.n_vocab = 49152; s.n_ctx = 8192; s.rope_freq_base = 100000.0f; s.rms_eps = 1e-5f;
        s.tied_output = true;
    } else if (name == "llama2-7b") {
        s.n_layers = 32; s.n_embd = 4096; s.n_heads = 32; s.n_kv_heads = 32; s.n_ff = 11008;
        s.n_vocab = 32000; s.n_ctx = 4096; s.rope_freq_base = 10000.0f; s.rms_eps = 1e-5f;
    } else if (name == "llama3-8b") {
        s.n_layers = 32; s.n_embd = 4096; s.n_heads = 32; s.n_kv_heads = 8; s.n_ff = 14336;
        s.n_vocab = 128256; s.n_ctx = 8192; s.rope_freq_base = 500000.0f; s.rms_eps = 1e-5f;
    } else if (name == "qwen2.5-0.5b") {
        s.architecture = "qwen2";
        s.n_layers = 24; s.n_embd = 896; s.n_heads = 14; s.n_kv_heads = 2; s.n_ff = 4864;
        s.n_vocab = 151936; s.n_ctx = 32768; s.rope_freq_base = 1000000.0f; s.rms_eps = 1e-6f;
        s.tied_output = true;
    } else if (name == "gemma3-270m") {
        s.architecture = "gemma3";
        s.n_layers = 18; s.n_embd = 640; s.n_heads = 4; s.n_kv_heads = 1; s.head_dim = 256; s.n_ff = 2048;
        s.n_vocab = 262144; s.n_ctx = 32768; s.rope_freq_base = 1000000.0f; s.rms_eps = 1e-6f;
        s.tied_output = true; s.sliding_window = 512;
    } else if (name == "tiny") {
        // defaults of SynthShape
    } else {
        std::string known;
        for (const std::string& n : synth_shape_names()) known += (known.empty() ? "" : ", ") + n;
        throw Error(ErrorKind::InvalidArgument, "unknown synthetic model shape '" + name + "' (known: " + known + ")");
    }
    return s;
}

void write_synth_model(const std::string& path, const SynthOptions& o) {
    SynthShape s = o.shape;
    if (o.layers) s.n_layers = *o.layers;
    const GgmlType mt = o.matrix_type;
    if (mt != GgmlType::Q4_0 && mt != GgmlType::Q4_1 && mt != GgmlType::F16)
        throw Error(ErrorKind::InvalidArgument, "synthetic models use Q4_0, Q4_1 or F16 matrices, not " + ggml_type_name(mt));
    const Architecture* arch = find_architecture(s.architecture);
    if (!arch)
        throw Error(ErrorKind::InvalidArgument, "synthetic shape '" + s.name + "': unknown architecture '" + s.architecture +
                                                    "' (known: " + supported_architectures() + ")");
    if (s.n_heads == 0 || s.n_kv_heads == 0 || (!s.head_dim && s.n_embd % s.n_heads != 0) || s.n_heads % s.n_kv_heads != 0)
        throw Error(ErrorKind::InvalidArgument, "synthetic shape '" + s.name + "': heads must divide the hidden size and be a multiple of KV heads");
    if (s.n_vocab < 257) throw Error(ErrorKind::InvalidArgument, "synthetic vocabulary needs at least 257 tokens");
    const uint32_t head_dim = s.head_dim ? s.head_dim : s.n_embd / s.n_heads;
    if (mt != GgmlType::F16 && (s.n_embd % 32 || s.n_ff % 32 || (head_dim * s.n_heads) % 32))
        throw Error(ErrorKind::InvalidArgument, "synthetic shape '" + s.name + "': Q4 rows need lengths that are multiples of 32");

    GgufWriter w;
    const std::string a = s.architecture + ".";
    w.set("general.architecture", s.architecture);
    w.set("general.name", "glowq synthetic " + s.name);
    w.set("general.file_type", uint32_t(mt == GgmlType::F16 ? 1 : mt == GgmlType::Q4_0 ? 2 : 3));
    w.set(a + "block_count", s.n_layers);
    w.set(a + "context_length", s.n_ctx);
    w.set(a + "embedding_length", s.n_embd);
    w.set(a + "feed_forward_length", s.n_ff);
    w.set(a + "attention.head_count", s.n_heads);
    w.set(a + "attention.head_count_kv", s.n_kv_heads);
    w.set(a + "attention.key_length", head_dim);
    w.set(a + "attention.value_length", head_dim);
    w.set(a + "rope.freq_base", s.rope_freq_base);
    w.set(a + "attention.layer_norm_rms_epsilon", s.rms_eps);
    w.set(a + "rope.dimension_count", head_dim);
    w.set(a + "vocab_size", s.n_vocab);
    if (arch->swa_period && s.sliding_window) w.set(a + "attention.sliding_window", s.sliding_window);

    // Byte-level tokenizer: ids 0..255 are the bytes, 256 is <|endoftext|> (BOS and EOS),
    // the rest are reserved control tokens padding the vocabulary to the model's size.
    std::vector<std::string> tokens;
    std::vector<int32_t> token_type;
    tokens.reserve(s.n_vocab);
    for (int b = 0; b < 256; ++b) {
        tokens.push_back(gpt2_byte_token(uint8_t(b)));
        token_type.push_back(1);  // normal
    }
    tokens.push_back("<|endoftext|>");
    token_type.push_back(3);  // control
    for (uint32_t i = 257; i < s.n_vocab; ++i) {
        tokens.push_back("<|reserved_" + std::to_string(i) + "|>");
        token_type.push_back(3);
    }
    w.set("tokenizer.ggml.model", "gpt2");
    w.set("tokenizer.ggml.pre", "gpt-2");  // llama.cpp refuses "gpt2" here
    w.set_array("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.token_type", token_type);
    w.set_array("tokenizer.ggml.merges", std::vector<std::string>{});
    w.set("tokenizer.ggml.bos_token_id", uint32_t(256));
    w.set("tokenizer.ggml.eos_token_id", uint32_t(256));
    w.set("tokenizer.ggml.add_bos_token", false);
    if (!o.chat_template.empty()) w.set("tokenizer.chat_template", o.chat_template);
    w.set("glowq.synthetic.seed", o.seed);

    const uint64_t seed = o.seed;
    auto matrix = [&](const std::string& name, uint64_t cols, uint64_t rows) {
        w.add_tensor(name, mt, {cols, rows}, [=](uint8_t* dst, uint64_t n) {
            fill_matrix(mt, cols, stream_seed(seed, name), dst, n);
        });
    };
    auto norm = [&](const std::string& name, uint64_t n) {
        w.add_tensor_f32(name, {n}, norm_weights(n, stream_seed(seed, name)));
    };
    const uint64_t q_dim = uint64_t(head_dim) * s.n_heads, kv_dim = uint64_t(head_dim) * s.n_kv_heads;
    // Biases and norm weights are drawn like norms (near 1): a bias of that size is large,
    // which only makes its effect easier to see in a test.
    matrix(tensor_name(Tensor::TokenEmbd), s.n_embd, s.n_vocab);
    for (uint32_t l = 0; l < s.n_layers; ++l) {
        norm(tensor_name(Tensor::AttnNorm, l), s.n_embd);
        matrix(tensor_name(Tensor::AttnQ, l), s.n_embd, q_dim);
        matrix(tensor_name(Tensor::AttnK, l), s.n_embd, kv_dim);
        matrix(tensor_name(Tensor::AttnV, l), s.n_embd, kv_dim);
        if (arch->qkv_bias) {
            norm(tensor_name(Tensor::AttnQ, l, "bias"), q_dim);
            norm(tensor_name(Tensor::AttnK, l, "bias"), kv_dim);
            norm(tensor_name(Tensor::AttnV, l, "bias"), kv_dim);
        }
        if (arch->qk_norm) {
            norm(tensor_name(Tensor::AttnQNorm, l), head_dim);
            norm(tensor_name(Tensor::AttnKNorm, l), head_dim);
        }
        matrix(tensor_name(Tensor::AttnOutput, l), q_dim, s.n_embd);
        if (arch->post_norms) norm(tensor_name(Tensor::AttnPostNorm, l), s.n_embd);
        norm(tensor_name(Tensor::FfnNorm, l), s.n_embd);
        matrix(tensor_name(Tensor::FfnGate, l), s.n_embd, s.n_ff);
        matrix(tensor_name(Tensor::FfnUp, l), s.n_embd, s.n_ff);
        matrix(tensor_name(Tensor::FfnDown, l), s.n_ff, s.n_embd);
        if (arch->post_norms) norm(tensor_name(Tensor::FfnPostNorm, l), s.n_embd);
    }
    norm(tensor_name(Tensor::OutputNorm), s.n_embd);
    if (!s.tied_output) matrix(tensor_name(Tensor::Output), s.n_embd, s.n_vocab);
    w.write_file(path);
}

}  // namespace glowq

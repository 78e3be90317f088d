#include "glowq/model/host_weights.hpp"

#include "glowq/loader/dequant.hpp"
#include "glowq/quant/glowq_file.hpp"

namespace glowq {
namespace {

class TensorReader {
public:
    // decode = false checks presence and shapes only, returning empty data.
    explicit TensorReader(const GgufFile& f, bool decode = true)
        : f_(f), glowq_(format::is_glowq_file(f)), decode_(decode) {}

    // A quantized linear module of a layer: in a GlowQ file its effective weights Wq + A B
    // (the correction where the file has one), otherwise the `.weight` tensor decoded.
    HostMatrix module(uint32_t layer, Tensor module, uint32_t rows, uint32_t cols) const {
        if (glowq_ && decode_) return quant::read_glowq_effective(f_, layer, tensor_base(module), rows, cols);
        if (glowq_) return HostMatrix{rows, cols, {}};
        return matrix(tensor_name(module, layer), rows, cols);
    }

    // A 2-D weight that must be [rows][cols] in ggml's sense (ne[0] = cols).
    HostMatrix matrix(const std::string& name, uint32_t rows, uint32_t cols) const {
        const GgufTensor& t = f_.tensor(name);
        if (t.n_dims != 2 || t.ne[0] != cols || t.ne[1] != rows)
            throw LoadError(f_.name() + ": tensor " + name + " has shape " + shape(t) + ", expected [" +
                            std::to_string(cols) + ", " + std::to_string(rows) + "] (ne order)");
        HostMatrix m;
        m.rows = rows;
        m.cols = cols;
        if (decode_) m.data = dequantize(t, f_.name());
        else check_dequantizable(t, f_.name());
        return m;
    }

    std::vector<float> vector(const std::string& name, uint32_t n) const {
        const GgufTensor& t = f_.tensor(name);
        if (t.n_elements != n)
            throw LoadError(f_.name() + ": tensor " + name + " has shape " + shape(t) + ", expected [" +
                            std::to_string(n) + "]");
        if (decode_) return dequantize(t, f_.name());
        check_dequantizable(t, f_.name());
        return {};
    }

    std::vector<float> optional_vector(const std::string& name, uint32_t n) const {
        return f_.find_tensor(name) ? vector(name, n) : std::vector<float>{};
    }

private:
    static std::string shape(const GgufTensor& t) {
        std::string s = "[";
        for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
        return s + "]";
    }
    const GgufFile& f_;
    bool glowq_, decode_;
};

}  // namespace

HostLayer HostWeights::load_layer(const GgufFile& file, const ModelConfig& c, uint32_t i, bool decode) {
    const TensorReader r(file, decode);
    const uint32_t q_dim = c.n_heads * c.head_dim;
    const uint32_t kv_dim = c.n_kv_heads * c.head_dim;
    const auto vec = [&](Tensor t, uint32_t n, const char* suffix = "weight") {
        return r.vector(tensor_name(t, i, suffix), n);
    };
    HostLayer l;
    l.attn_norm = vec(Tensor::AttnNorm, c.n_embd);
    l.wq = r.module(i, Tensor::AttnQ, q_dim, c.n_embd);
    l.wk = r.module(i, Tensor::AttnK, kv_dim, c.n_embd);
    l.wv = r.module(i, Tensor::AttnV, kv_dim, c.n_embd);
    l.wo = r.module(i, Tensor::AttnOutput, c.n_embd, q_dim);
    if (c.attn_bias) {
        l.bq = vec(Tensor::AttnQ, q_dim, "bias");
        l.bk = vec(Tensor::AttnK, kv_dim, "bias");
        l.bv = vec(Tensor::AttnV, kv_dim, "bias");
    }
    if (c.arch.qk_norm) {
        l.q_norm = vec(Tensor::AttnQNorm, c.head_dim);
        l.k_norm = vec(Tensor::AttnKNorm, c.head_dim);
    }
    if (c.arch.post_norms) {
        l.attn_post_norm = vec(Tensor::AttnPostNorm, c.n_embd);
        l.ffn_post_norm = vec(Tensor::FfnPostNorm, c.n_embd);
    }
    l.ffn_norm = vec(Tensor::FfnNorm, c.n_embd);
    l.w_gate = r.module(i, Tensor::FfnGate, c.n_ff, c.n_embd);
    l.w_up = r.module(i, Tensor::FfnUp, c.n_ff, c.n_embd);
    l.w_down = r.module(i, Tensor::FfnDown, c.n_embd, c.n_ff);
    return l;
}

HostMatrix HostWeights::load_token_embd(const GgufFile& file, const ModelConfig& c, bool decode) {
    return TensorReader(file, decode).matrix(tensor_name(Tensor::TokenEmbd), c.n_vocab, c.n_embd);
}

std::vector<float> HostWeights::load_rope_freqs(const GgufFile& file, const ModelConfig& c, bool decode) {
    if (!c.has_rope_freqs) return {};
    return TensorReader(file, decode).vector(tensor_name(Tensor::RopeFreqs), c.rope_dim / 2);
}

HostWeights HostWeights::read(const GgufFile& file, bool decode) {
    HostWeights w;
    w.config = read_model_config(file);
    const ModelConfig& c = w.config;
    const TensorReader r(file, decode);
    w.token_embd = load_token_embd(file, c, decode);
    w.layers.resize(c.n_layers);
    for (uint32_t i = 0; i < c.n_layers; ++i) w.layers[i] = load_layer(file, c, i, decode);
    w.output_norm = r.vector(tensor_name(Tensor::OutputNorm), c.n_embd);
    if (!c.tied_output) w.output = r.matrix(tensor_name(Tensor::Output), c.n_vocab, c.n_embd);
    w.rope_freqs = load_rope_freqs(file, c, decode);
    return w;
}

HostWeights HostWeights::load(const GgufFile& file) { return read(file, true); }

void HostWeights::check(const GgufFile& file) { read(file, false); }

HostWeights HostWeights::load(const std::string& path) { return load(GgufFile::open(path)); }

}  // namespace glowq

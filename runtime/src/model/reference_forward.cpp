#include "glowq/model/reference.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <string>

#include "activations.h"
#include "glowq/error.hpp"

namespace glowq {
namespace {

using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatMap = Eigen::Map<const Mat>;
using StridedMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;

ConstMatMap as_map(const HostMatrix& m) { return ConstMatMap(m.data.data(), m.rows, m.cols); }

// y = x W^T (+ b): x is [n][in], W is [out][in] as ggml stores it, y is [n][out].
void linear(const Mat& x, const HostMatrix& w, const std::vector<float>& bias, Mat& y) {
    y.resize(x.rows(), w.rows);
    y.noalias() = x * as_map(w).transpose();
    if (!bias.empty()) y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias.data(), w.rows);
}

// ggml_rms_norm then the weight multiply: the mean of squares is summed in double as
// ggml does, the scale is applied in float.
void rms_norm(const Mat& x, const std::vector<float>& weight, float eps, Mat& y) {
    y.resize(x.rows(), x.cols());
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        double sum = 0.0;
        for (Eigen::Index i = 0; i < x.cols(); ++i) sum += double(x(t, i)) * double(x(t, i));
        const float scale = 1.0f / std::sqrt(float(sum / double(x.cols())) + eps);
        for (Eigen::Index i = 0; i < x.cols(); ++i) y(t, i) = x(t, i) * scale * weight[size_t(i)];
    }
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

// The tanh approximation of GELU (activations.h).
float gelu_tanh(float x) {
    const float z = float(GQ_GELU_SQRT_2_OVER_PI) * x * (1.0f + float(GQ_GELU_CUBIC) * x * x);
    return 0.5f * x * (1.0f + std::tanh(z));
}

// RMSNorm of each head_dim-wide slice of every row (gemma3's q/k norms), in place.
void head_norm(Mat& x, uint32_t head_dim, const std::vector<float>& weight, float eps) {
    Mat slice, normed;
    for (Eigen::Index h = 0; h * head_dim < x.cols(); ++h) {
        slice = x.middleCols(h * head_dim, head_dim);
        rms_norm(slice, weight, eps, normed);
        x.middleCols(h * head_dim, head_dim) = normed;
    }
}

}  // namespace

ReferenceLayer::ReferenceLayer(const ModelConfig& config, std::vector<float> rope_freqs)
    : c_(config), rope_freqs_(std::move(rope_freqs)) {
    neox_ = c_.arch.rope == RopeStyle::Neox;
    const std::string& scaling = c_.rope_scaling.type;
    if (scaling == "linear") {
        freq_scale_ = c_.rope_scaling.factor > 0.0f ? 1.0f / c_.rope_scaling.factor : 1.0f;
    } else if (scaling == "llama3") {
        if (!c_.has_rope_freqs)
            throw Error(ErrorKind::Unsupported, "reference forward: llama3 rope scaling without a rope_freqs.weight tensor");
    } else if (scaling != "none" && !scaling.empty()) {
        throw Error(ErrorKind::Unsupported, "reference forward: rope scaling '" + scaling + "' is not implemented");
    }
}

namespace {
std::shared_ptr<const HostWeights> require(std::shared_ptr<const HostWeights> w) {
    if (!w) throw Error(ErrorKind::InvalidArgument, "ReferenceLlama: no weights");
    return w;
}
}  // namespace

ReferenceLlama::ReferenceLlama(std::shared_ptr<const HostWeights> weights, uint32_t max_context)
    : w_(require(std::move(weights))), layer_(w_->config, w_->rope_freqs) {
    const ModelConfig& c = w_->config;
    max_ctx_ = max_context ? max_context : c.n_ctx;
    if (max_ctx_ == 0) throw Error(ErrorKind::InvalidArgument, "ReferenceLlama: max_context is 0 and the model gives no context length");
    const size_t kv_floats = size_t(c.n_layers) * max_ctx_ * c.n_kv_heads * c.head_dim;
    k_cache_.assign(kv_floats, 0.0f);
    v_cache_.assign(kv_floats, 0.0f);
}

// Rotates the first rope_dim dimensions of every head of n rows at positions pos, pos+1, ...
// The angle follows ggml_rope_cache_init step for step (float theta, multiplied by
// theta_scale once per pair) so that positions far into the window match llama.cpp's
// rounding, not just its formula: theta_i = p * freq_scale * base^(-2i/rope_dim) / ff_i.
// Local (sliding-window) layers take their own base and no position scaling, as llama.cpp.
void ReferenceLayer::rope(uint32_t layer, float* x, uint32_t n_heads, uint32_t n, uint32_t pos) const {
    const ModelConfig& c = c_;
    const uint32_t d = c.rope_dim;
    const float theta_scale = std::pow(c.layer_rope_base(layer), -2.0f / float(d));
    const float freq_scale = c.layer_is_local(layer) ? 1.0f : freq_scale_;
    std::vector<float> cos_t(d / 2), sin_t(d / 2);
    for (uint32_t t = 0; t < n; ++t) {
        float theta = float(pos + t);
        for (uint32_t i = 0; i < d / 2; ++i) {
            const float ff = rope_freqs_.empty() ? 1.0f : rope_freqs_[i];
            const float angle = freq_scale * (theta / ff);
            cos_t[i] = std::cos(angle);
            sin_t[i] = std::sin(angle);
            theta *= theta_scale;
        }
        for (uint32_t h = 0; h < n_heads; ++h) {
            float* v = x + (size_t(t) * n_heads + h) * c.head_dim;
            for (uint32_t i = 0; i < d / 2; ++i) {
                const uint32_t a = neox_ ? i : 2 * i;
                const uint32_t b = neox_ ? i + d / 2 : 2 * i + 1;
                const float x0 = v[a], x1 = v[b];
                v[a] = x0 * cos_t[i] - x1 * sin_t[i];
                v[b] = x0 * sin_t[i] + x1 * cos_t[i];
            }
        }
    }
}

// Causal grouped-query attention of n new queries (positions pos..pos+n-1) over the
// cached keys and values 0..pos+n-1 of this layer (the last `window` of them on a local
// layer). out is [n][n_heads * head_dim].
void ReferenceLayer::attention(uint32_t layer, const float* q, uint32_t n, uint32_t pos, const float* k_layer,
                               const float* v_layer, float* out) const {
    const ModelConfig& c = c_;
    const uint32_t hd = c.head_dim;
    const uint32_t q_dim = c.n_heads * hd;
    const uint32_t kv_dim = c.n_kv_heads * hd;
    const uint32_t group = c.n_heads / c.n_kv_heads;
    const uint32_t n_keys = pos + n;
    const float scale = c.attn_scale;
    const uint32_t window = c.layer_window(layer);

    Mat scores(n, n_keys);
    for (uint32_t h = 0; h < c.n_heads; ++h) {
        const uint32_t kvh = h / group;
        const StridedMap qh(q + size_t(h) * hd, n, hd, Eigen::OuterStride<>(q_dim));
        const StridedMap kh(k_layer + size_t(kvh) * hd, n_keys, hd, Eigen::OuterStride<>(kv_dim));
        const StridedMap vh(v_layer + size_t(kvh) * hd, n_keys, hd, Eigen::OuterStride<>(kv_dim));
        scores.noalias() = qh * kh.transpose();
        for (uint32_t t = 0; t < n; ++t) {
            const uint32_t visible = pos + t + 1;  // query at pos+t sees keys first..pos+t
            const uint32_t first = window && visible > window ? visible - window : 0;
            float* row = scores.row(t).data();
            float mx = -INFINITY;
            for (uint32_t j = first; j < visible; ++j) mx = std::max(mx, row[j] * scale);
            float sum = 0.0f;
            for (uint32_t j = first; j < visible; ++j) {
                row[j] = std::exp(row[j] * scale - mx);
                sum += row[j];
            }
            for (uint32_t j = 0; j < first; ++j) row[j] = 0.0f;
            for (uint32_t j = first; j < visible; ++j) row[j] /= sum;
            for (uint32_t j = visible; j < n_keys; ++j) row[j] = 0.0f;
        }
        Eigen::Map<Mat, 0, Eigen::OuterStride<>> oh(out + size_t(h) * hd, n, hd, Eigen::OuterStride<>(q_dim));
        oh.noalias() = scores * vh;
    }
}

void ReferenceLayer::embed(const HostMatrix& token_embd, const int32_t* tokens, uint32_t n, float* xp) const {
    Eigen::Map<Mat> x(xp, n, c_.n_embd);
    for (uint32_t t = 0; t < n; ++t) std::copy_n(token_embd.row(uint32_t(tokens[t])), c_.n_embd, x.row(t).data());
    if (c_.embd_scale != 1.0f) x *= c_.embd_scale;
}

void ReferenceLayer::run(uint32_t l, const HostLayer& L, float* xp, uint32_t n, uint32_t pos, float* k_cache,
                         float* v_cache, const TapFn& tap_fn) const {
    const ModelConfig& c = c_;
    const uint32_t kv_dim = c.n_kv_heads * c.head_dim;
    const auto tap = [&](uint32_t layer, TapPoint p, const Mat& t) {
        if (tap_fn) tap_fn(layer, p, t.data(), uint32_t(t.rows()), uint32_t(t.cols()));
    };
    Eigen::Map<Mat> x(xp, n, c.n_embd);
    Mat xn, q, k, v, attn(n, c.n_heads * c.head_dim), proj, gate, up;
    // A block's output joins the residual stream, normalized first where the model has a
    // post-norm (gemma3).
    const auto add_output = [&](const std::vector<float>& post_norm, const Mat& out) {
        if (post_norm.empty()) {
            x += out;
        } else {
            rms_norm(out, post_norm, c.rms_eps, xn);
            x += xn;
        }
    };
    rms_norm(x, L.attn_norm, c.rms_eps, xn);
    tap(l, TapPoint::AttnInput, xn);
    linear(xn, L.wq, L.bq, q);
    linear(xn, L.wk, L.bk, k);
    linear(xn, L.wv, L.bv, v);
    if (c.arch.qk_norm) {
        head_norm(q, c.head_dim, L.q_norm, c.rms_eps);
        head_norm(k, c.head_dim, L.k_norm, c.rms_eps);
    }
    rope(l, q.data(), c.n_heads, n, pos);
    rope(l, k.data(), c.n_kv_heads, n, pos);
    std::copy_n(k.data(), size_t(n) * kv_dim, k_cache + size_t(pos) * kv_dim);
    std::copy_n(v.data(), size_t(n) * kv_dim, v_cache + size_t(pos) * kv_dim);
    attention(l, q.data(), n, pos, k_cache, v_cache, attn.data());
    tap(l, TapPoint::AttnOutput, attn);
    linear(attn, L.wo, {}, proj);
    add_output(L.attn_post_norm, proj);

    rms_norm(x, L.ffn_norm, c.rms_eps, xn);
    tap(l, TapPoint::FfnInput, xn);
    linear(xn, L.w_gate, {}, gate);
    linear(xn, L.w_up, {}, up);
    if (c.arch.activation == Activation::GeluTanh)
        gate = gate.unaryExpr([](float g) { return gelu_tanh(g); }).cwiseProduct(up);
    else
        gate = gate.unaryExpr([](float g) { return silu(g); }).cwiseProduct(up);
    tap(l, TapPoint::FfnDownInput, gate);
    linear(gate, L.w_down, {}, proj);
    add_output(L.ffn_post_norm, proj);
}

void ReferenceLlama::eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) {
    const ModelConfig& c = w_->config;
    if (n == 0) throw Error(ErrorKind::InvalidArgument, "ReferenceLlama::eval: no tokens");
    if (pos > cached_)
        throw Error(ErrorKind::InvalidArgument, "ReferenceLlama::eval: position " + std::to_string(pos) +
                                                    " leaves a gap after the " + std::to_string(cached_) + " cached positions");
    if (uint64_t(pos) + n > max_ctx_)
        throw Error(ErrorKind::InvalidArgument, "ReferenceLlama::eval: positions " + std::to_string(pos) + ".." +
                                                    std::to_string(uint64_t(pos) + n - 1) + " exceed the context of " +
                                                    std::to_string(max_ctx_) + " positions");
    for (uint32_t t = 0; t < n; ++t)
        if (tokens[t] < 0 || uint32_t(tokens[t]) >= c.n_vocab)
            throw Error(ErrorKind::InvalidArgument, "ReferenceLlama::eval: token id " + std::to_string(tokens[t]) +
                                                        " outside the vocabulary of " + std::to_string(c.n_vocab));

    Mat x(n, c.n_embd);  // the residual stream
    layer_.embed(w_->token_embd, tokens, n, x.data());
    const size_t layer_floats = size_t(max_ctx_) * c.n_kv_heads * c.head_dim;
    for (uint32_t l = 0; l < c.n_layers; ++l)
        layer_.run(l, w_->layers[l], x.data(), n, pos, k_cache_.data() + l * layer_floats,
                   v_cache_.data() + l * layer_floats, tap_);
    cached_ = pos + n;

    // Only the rows whose logits are wanted go through the (vocabulary-sized) head.
    Mat xn;
    const Mat last = all_logits ? x : Mat(x.bottomRows(1));
    rms_norm(last, w_->output_norm, c.rms_eps, xn);
    Mat out;
    linear(xn, w_->lm_head(), {}, out);
    std::copy_n(out.data(), size_t(out.size()), logits);
}

}  // namespace glowq

// A decoder's weights on Vulkan, and the forward pass as a graph per (chunk size, logits
// mode); the architecture table's traits pick the kernels' variants.
#include "glowq/model/vulkan_llama.hpp"

#include <algorithm>
#include <cstring>

#include "glowq/error.hpp"
#include "glowq/ops/push_constants.hpp"
#include "vulkan_weights.hpp"

namespace glowq {

uint64_t estimate_device_bytes(const GgufFile& file) {
    uint64_t total = 0;
    for (const GgufTensor& t : file.tensors()) {
        switch (t.type) {
            case GgmlType::Q4_0:  // int4 codes plus an fp16 scale per 32 (the scale-only form)
                total += t.n_elements / 2 + t.n_elements / 32 * 2;
                break;
            case GgmlType::Q4_1:  // int4 codes plus an fp16 scale and offset per 32
                total += t.n_elements / 2 + t.n_elements / 32 * 4;
                break;
            case GgmlType::I32:
            case GgmlType::F16:
                total += t.n_bytes;
                break;
            case GgmlType::Q8_0: {  // kept as Q8 on its own (upload_stacked), fp16 when fused
                bool fused = false;
                for (const ModuleGroup& g : input_sharing_groups())
                    for (Tensor m : g.members)
                        fused = fused || (g.members.size() > 1 &&
                                          t.name.find(std::string(".") + tensor_base(m) + ".") != std::string_view::npos);
                total += fused || t.cols() % 32 ? t.n_elements * 2 : t.n_bytes;
                break;
            }
            default:  // matrices of other types go to fp16, vectors to fp32
                total += t.n_dims >= 2 && t.ne[1] > 1 ? t.n_elements * 2 : t.n_elements * 4;
        }
    }
    return total;
}

std::string device_forward_unsupported(const ModelConfig& c) {
    if (c.rope_scaling.type != "none" && c.rope_scaling.type != "linear")
        return "RoPE scaling '" + c.rope_scaling.type + "' is not supported yet";
    if (c.has_rope_freqs) return "per-dimension RoPE frequencies (rope_freqs) are not supported yet";
    return "";
}

std::string device_calibration_unsupported(const ModelConfig& c, uint32_t window) {
    if (const std::string why = device_forward_unsupported(c); !why.empty()) return why;
    if (window > kMaxChunk) return "windows over " + std::to_string(kMaxChunk) + " tokens";
    if (c.n_ctx && window > c.n_ctx) return "windows longer than the model's context of " + std::to_string(c.n_ctx);
    return "";
}

uint64_t calibration_device_bytes(const GgufFile& file, uint32_t window) {
    const ModelConfig c = read_model_config(file);
    uint64_t sums = 0;
    for (size_t p = 0; p < kTapPoints; ++p) sums += uint64_t(tap_dim(c, TapPoint(p))) * (tap_dim(c, TapPoint(p)) + 1) * 4;
    const uint64_t kv = uint64_t(window) * c.n_kv_heads * c.head_dim * 4;
    const uint64_t activations = uint64_t(window) * (4 * c.n_embd + (c.n_heads + 2 * c.n_kv_heads) * c.head_dim +
                                                     c.n_heads * c.head_dim + 3 * c.n_ff) * 4;
    return estimate_device_bytes(file) + sums + kv + activations;
}

namespace {

void check_fits(const vk::Context& ctx, const GgufFile& file) {
    const uint64_t need = estimate_device_bytes(file);
    const uint64_t have = ctx.available_device_memory();
    if (have && need > have)
        throw Error(ErrorKind::OutOfMemory, file.name() + ": the model needs about " + vk::format_mib(need) +
                                                " of device memory; " + ctx.caps().name + " has " + vk::format_mib(have) +
                                                " available");
}

}  // namespace

// The q/k/v biases and q/k norm weights rope_kv reads: appended to the qkv matrix's binding
// where it is one part (which is where a GlowQ correction's A is, also read by rope_kv),
// else (per-module corrections: a part per member) in a buffer of their own, from word 4
// so that word 0 still means none.
void VulkanLlamaWeights::load_qkv_sections(const GgufFile& file, uint32_t l, DeviceLayer& L) {
    const uint32_t hd = cfg_.head_dim, qd = cfg_.n_heads * hd, kvd = cfg_.n_kv_heads * hd;
    std::vector<float> bias, norms;
    if (cfg_.attn_bias)
        for (Tensor m : input_sharing_groups()[0].members) {
            const std::vector<float> b = read_vector(file, tensor_name(m, l, "bias"), m == Tensor::AttnQ ? qd : kvd);
            bias.insert(bias.end(), b.begin(), b.end());
        }
    if (cfg_.arch.qk_norm) {
        norms = read_vector(file, tensor_name(Tensor::AttnQNorm, l), hd);
        const std::vector<float> k = read_vector(file, tensor_name(Tensor::AttnKNorm, l), hd);
        norms.insert(norms.end(), k.begin(), k.end());
    }
    if (bias.empty() && norms.empty()) return;
    if (L.qkv.w.parts.size() == 1) {
        if (!bias.empty()) L.qkv_bias_word = L.qkv.w.attach_consumer_section(alloc_, bias);
        if (!norms.empty()) L.qk_norm_word = L.qkv.w.attach_consumer_section(alloc_, norms);
        return;
    }
    std::vector<float> own(4, 0.0f);
    if (!bias.empty()) L.qkv_bias_word = uint32_t(own.size());
    own.insert(own.end(), bias.begin(), bias.end());
    if (!norms.empty()) L.qk_norm_word = uint32_t(own.size());
    own.insert(own.end(), norms.begin(), norms.end());
    L.qkv_sections = alloc_.upload(own.data(), own.size() * 4);
}

VulkanLlamaWeights::VulkanLlamaWeights(vk::Context& ctx, const GgufFile& file, const LoadProgress& progress)
    : ctx_(ctx), cfg_(read_model_config(file)), alloc_(ctx) {
    if (const std::string why = device_forward_unsupported(cfg_); !why.empty())
        throw Error(ErrorKind::Unsupported, file.name() + ": " + why);
    check_fits(ctx, file);
    const uint32_t steps = cfg_.n_layers + 2;
    auto report = [&](uint32_t done) {
        if (progress && !progress(float(done) / float(steps)))
            throw Error(ErrorKind::Cancelled, file.name() + ": loading cancelled");
    };
    report(0);

    const uint32_t d = cfg_.n_embd, hd = cfg_.head_dim, kvd = cfg_.n_kv_heads * hd, qd = cfg_.n_heads * hd;
    embed_ = upload_stacked(alloc_, file, {tensor_name(Tensor::TokenEmbd)});
    if (!cfg_.tied_output)
        lm_head_ = std::make_unique<ops::DeviceMatrix>(upload_stacked(alloc_, file, {tensor_name(Tensor::Output)}));
    out_norm_ = upload_vector(alloc_, file, tensor_name(Tensor::OutputNorm), d);
    // Each tensor's mapped pages are dropped once it is on the device: loading holds about
    // one layer of the file in memory (docs/android.md).
    auto evict = [&](const std::string& prefix) {
        for (const GgufTensor& t : file.tensors())
            if (t.name.substr(0, prefix.size()) == prefix) file.evict(t);
    };
    evict(tensor_base(Tensor::TokenEmbd) + std::string("."));
    evict(tensor_base(Tensor::Output));
    report(1);
    for (uint32_t l = 0; l < cfg_.n_layers; ++l) {
        DeviceLayer L;
        const std::string attn_norm = tensor_name(Tensor::AttnNorm, l), ffn_norm = tensor_name(Tensor::FfnNorm, l);
        L.attn_norm = upload_vector(alloc_, file, attn_norm, d);
        L.ffn_norm = upload_vector(alloc_, file, ffn_norm, d);
        const auto& groups = input_sharing_groups();  // qkv, gate_up, attn_output, ffn_down
        auto load = [&](DeviceProjection& dst, const ModuleGroup& group, uint32_t cols) {
            std::vector<std::string> modules;
            for (Tensor m : group.members) modules.push_back(tensor_base(m));
            Projection p = upload_projection(alloc_, file, l, modules, cols);
            dst.w = std::move(p.w);
            dst.b = std::move(p.b);
            max_r_ = std::max(max_r_, dst.b.rows);
        };
        load(L.qkv, groups[0], d);
        load(L.o, groups[2], qd);
        load(L.gate_up, groups[1], d);
        load(L.down, groups[3], cfg_.n_ff);
        load_qkv_sections(file, l, L);
        if (cfg_.arch.post_norms) {
            L.attn_post_norm = upload_vector(alloc_, file, tensor_name(Tensor::AttnPostNorm, l), d);
            L.ffn_post_norm = upload_vector(alloc_, file, tensor_name(Tensor::FfnPostNorm, l), d);
        }
        // The norms' weights also go with the products they feed, for GEMVs that fold the
        // norm in (VulkanLlama::add_normed_projection).
        if (L.qkv.w.type == ops::WeightType::Int4) L.qkv.w.attach_input_norm(alloc_, read_vector(file, attn_norm, d));
        if (L.gate_up.w.type == ops::WeightType::Int4) L.gate_up.w.attach_input_norm(alloc_, read_vector(file, ffn_norm, d));
        // And with the products that finish the residual stream before them (o, the previous
        // layer's down), which can then write x times them for the next GEMV. With post-norms
        // the products do not finish it.
        const bool resid = !cfg_.arch.post_norms;
        if (resid && L.o.w.type == ops::WeightType::Int4) L.o.w.attach_output_norm(alloc_, read_vector(file, ffn_norm, d));
        if (resid && l > 0 && layers_[l - 1].down.w.type == ops::WeightType::Int4)
            layers_[l - 1].down.w.attach_output_norm(alloc_, read_vector(file, attn_norm, d));
        if (L.qkv.w.rows != qd + 2 * kvd || L.qkv.w.cols != d || L.gate_up.w.rows != 2 * cfg_.n_ff ||
            L.down.w.cols != cfg_.n_ff)
            throw Error(ErrorKind::InvalidModel, file.name() + ": layer " + std::to_string(l) +
                                                     " tensor shapes do not match the model's hyper-parameters");
        layers_.push_back(std::move(L));
        evict("blk." + std::to_string(l) + ".");
        report(l + 2);
    }
    report(steps);
}

uint64_t VulkanLlamaWeights::weight_bytes() const {
    uint64_t b = embed_.weight_bytes() + (lm_head_ ? lm_head_->weight_bytes() : 0);
    for (const auto& L : layers_)
        for (const DeviceProjection* p : {&L.qkv, &L.o, &L.gate_up, &L.down}) b += p->w.weight_bytes() + p->b.weight_bytes();
    return b;
}

uint64_t VulkanLlamaWeights::correction_bytes() const {
    uint64_t b = 0;
    for (const auto& L : layers_)
        for (const DeviceProjection* p : {&L.qkv, &L.o, &L.gate_up, &L.down}) b += p->w.lowrank_bytes() + p->b.weight_bytes();
    return b;
}

// The bytes of an fp16 matrix's rows (o's B, copied after the cache).
static uint64_t f16_bytes(const ops::DeviceMatrix& m) { return uint64_t(m.rows) * GQ_F16_ROW_WORDS(uint64_t(m.cols)) * 4; }

uint32_t default_chunk(const vk::DeviceCaps& caps) { return caps.type == "cpu" ? kDefaultChunkCpu : kDefaultChunkGpu; }

VulkanLlama::VulkanLlama(vk::Context& ctx, const GgufFile& file, const VulkanModelOptions& options)
    : VulkanLlama(std::make_shared<VulkanLlamaWeights>(ctx, file), options) {}

VulkanLlama::VulkanLlama(std::shared_ptr<const VulkanLlamaWeights> weights, const VulkanModelOptions& options)
    : weights_(std::move(weights)),
      ctx_(weights_->context()),
      options_(options),
      cfg_(weights_->config()),
      stream_(ctx_),
      alloc_(ctx_) {
    if (options_.chunk == 0) options_.chunk = default_chunk(ctx_.caps());
    if (options_.chunk > kMaxChunk)
        throw Error(ErrorKind::InvalidArgument, "prefill chunk must be in 1.." + std::to_string(kMaxChunk) +
                                                    " (0: the device's default), got " + std::to_string(options_.chunk));
    max_context_ = std::max(1u, options_.max_context);
    if (cfg_.n_ctx) max_context_ = std::min(max_context_, cfg_.n_ctx);

    const uint32_t d = cfg_.n_embd, hd = cfg_.head_dim, kvd = cfg_.n_kv_heads * hd, qd = cfg_.n_heads * hd;
    kv_half_bytes_ = uint64_t(max_context_) * kvd * 2;  // K or V: fp16, kvd even
    // One split per head on CPU devices; on GPUs split decode attention over the KV length
    // so a few heads still fill the device.
    splits_ = ctx_.caps().type == "cpu" ? 1 : 8;
    // Calibration runs one layer at a time: one cache serves them all.
    for (uint32_t l = 0; l < (options_.calibration ? 1 : cfg_.n_layers); ++l) {
        const ops::DeviceMatrix& ob = weights_->layers()[l].o.b;
        if (!o_b_in_cache(weights_->layers()[l].o)) {
            kv_.push_back(alloc_.allocate(2 * kv_half_bytes_));
            continue;
        }
        const uint64_t b_bytes = f16_bytes(ob);
        kv_.push_back(alloc_.allocate(kv_b_word() * 4 + b_bytes));
        std::vector<uint8_t> b(b_bytes);
        alloc_.read(ob.parts[0].weights, b.data(), b_bytes);
        alloc_.write(kv_.back(), b.data(), b_bytes, kv_b_word() * 4);
    }
    const uint64_t C = options_.chunk;
    tokens_ = alloc_.allocate(C * 4, vk::MemoryUsage::HostWrite);
    // The residual stream; then x times the next norm's weights and the sums of squares of
    // the workgroups that wrote it (at most one per row), for GEMVs that fold that norm in.
    x_ = alloc_.allocate((2 * uint64_t(xg_word()) + C * d) * 4);
    xn_ = alloc_.allocate(C * d * 4);
    // qkv_ and gate_up_ hold R after the products (from word C x rows) where the GEMV
    // computes it (add_normed_projection).
    const uint64_t R = weights_->max_lowrank();
    qkv_ = alloc_.allocate(C * (qd + 2 * kvd + R) * 4);
    // The attention output; after it, decode's split scratch, whose counters start at zero.
    attn_scratch_word_ = uint32_t(C * qd);
    const uint64_t scratch =
        ops::attention_scratch_words(ops::AttentionShape{cfg_.n_heads, cfg_.n_kv_heads, hd}, 1, splits_);
    // Then o's R in parts for decode (o_r_in_parts): a part per head.
    attn_parts_word_ = uint32_t(GQ_ALIGN_WORDS(attn_scratch_word_ + scratch));
    attn_ = alloc_.allocate((attn_parts_word_ + uint64_t(cfg_.n_heads) * weights_->max_lowrank()) * 4);
    if (scratch) alloc_.write(attn_, std::vector<uint32_t>(scratch, 0u).data(), scratch * 4, uint64_t(attn_scratch_word_) * 4);
    gate_up_ = alloc_.allocate(C * (2 * cfg_.n_ff + R) * 4);
    // The activations; after them, down's R in parts for decode (down_r_in_parts).
    act_ = alloc_.allocate((act_parts_word() + uint64_t(ops::silu_mul_parts(cfg_.n_ff)) * R) * 4);
    if (weights_->max_lowrank()) lowrank_r_ = alloc_.allocate(C * weights_->max_lowrank() * 4);

    if (options_.calibration) {
        for (size_t p = 0; p < kTapPoints; ++p)
            moments_.push_back(ops::allocate_moments(alloc_, tap_dim(cfg_, TapPoint(p)), options_.moments_slice_bytes));
        return;
    }
    // Record the decode graph and a prefill graph now: this compiles every pipeline they
    // use at load time rather than inside the first prompt's time to first token.
    graph(1, Logits::Last);
    if (C > 1) graph(uint32_t(C), Logits::Last);
}

VulkanLlama::~VulkanLlama() {
    graphs_.clear();
    profile_graphs_.clear();
}

uint64_t VulkanLlama::kv_bytes(uint32_t n) const {
    return uint64_t(n) * cfg_.n_kv_heads * cfg_.head_dim * 2 * 2 * cfg_.n_layers;
}

void VulkanLlama::read_kv(uint32_t n, uint8_t* out) {
    if (options_.calibration) throw Error(ErrorKind::InvalidArgument, "an executor made for calibration keeps no cache");
    if (n > cached_) throw Error(ErrorKind::InvalidArgument, "read_kv beyond the cached positions");
    const uint64_t per = uint64_t(n) * cfg_.n_kv_heads * cfg_.head_dim * 2;
    for (uint32_t l = 0; l < cfg_.n_layers; ++l) {
        alloc_.read(kv_[l], out, per);
        alloc_.read(kv_[l], out + per, per, kv_half_bytes_);
        out += 2 * per;
    }
}

void VulkanLlama::write_kv(uint32_t n, const uint8_t* in) {
    if (options_.calibration) throw Error(ErrorKind::InvalidArgument, "an executor made for calibration keeps no cache");
    if (n > max_context_) throw Error(ErrorKind::ContextFull, "write_kv beyond the context");
    const uint64_t per = uint64_t(n) * cfg_.n_kv_heads * cfg_.head_dim * 2;
    for (uint32_t l = 0; l < cfg_.n_layers; ++l) {
        alloc_.write(kv_[l], in, per);
        alloc_.write(kv_[l], in + per, per, kv_half_bytes_);
        in += 2 * per;
    }
    cached_ = n;
}

// A corrected group first projects its input once (R = X B^T, all members' R side by side
// for per-module corrections), then the fused int4 product adds A R in its epilogue.
std::optional<uint32_t> VulkanLlama::add_projection(vk::Graph& g, const DeviceProjection& p, const vk::Buffer& x,
                                                    const vk::Buffer& y, uint32_t T, bool accumulate,
                                                    const std::string& label, const DeviceProjection* next,
                                                    const ops::MatmulOptions::RParts* r_in_x) {
    ops::MatmulOptions o = product_options();
    o.accumulate = accumulate;
    if (r_in_x) {
        o.lowrank_r = &x;
        o.r_stride = p.b.rows;
        o.r_parts = *r_in_x;
    } else if (p.corrected()) {
        for (auto& d : ops::matmul(ctx_, p.b, x, lowrank_r_, T)) {
            d.label = label + ".lr_b:" + d.label;
            g.add(std::move(d));
        }
        o.lowrank_r = &lowrank_r_;
        o.r_stride = p.b.rows;
    }
    o.resid_out = next && folds_norm(*next, T) && ops::resid_out_supported(ctx_, p.w, T, o);
    if (o.resid_out) {
        o.xg_word = xg_word();
        o.ss_word = 2 * xg_word();
    }
    std::optional<uint32_t> partials;
    for (auto& disp : ops::matmul(ctx_, p.w, x, y, T, o)) {
        if (o.resid_out) partials = disp.groups[0];
        disp.label = label + ":" + disp.label;
        g.add(std::move(disp));
    }
    return partials;
}

// Decode on a CPU driver: a dispatch costs lavapipe 0.07 ms or more however small (the
// output norm's, 576 floats), and down's B (64 x n_ff, 0.24 ms) was one of its own per
// layer; SiLU's workgroups now each multiply their 64 columns by B and down's GEMV sums the
// parts (docs/design-notes.md). GPUs keep B's dispatch: not measured there.
bool VulkanLlama::down_r_in_parts(const DeviceProjection& down, uint32_t T) const {
    if (options_.calibration || T != 1 || !down.corrected() || ctx_.caps().type != "cpu") return false;
    return ops::partial_r_supported(ctx_, down.b, cfg_.n_ff) &&
           ops::r_parts_supported(ctx_, down.w, T, product_options());
}

// The same for o's B (0.16 ms a layer on lavapipe): attention's workgroups each hold a
// head's whole output. Attention has no binding left for B, so a copy of it lies after the
// layer's cache (74 KB a layer for a rank-64 SmolLM2).
bool VulkanLlama::o_b_in_cache(const DeviceProjection& o) const {
    if (options_.calibration || !o.corrected() || ctx_.caps().type != "cpu" || splits_ != 1) return false;
    const ops::DeviceMatrix& b = o.b;
    // The cache's binding with B after it must still fit one binding.
    const uint64_t bytes = kv_b_word() * 4 + f16_bytes(b);
    return ops::attention_partial_r_supported(ctx_) && b.type == ops::WeightType::F16 && b.parts.size() == 1 &&
           b.cols == cfg_.n_heads * cfg_.head_dim && bytes <= ctx_.caps().max_storage_buffer_range &&
           ops::r_parts_supported(ctx_, o.w, 1, product_options());
}

bool VulkanLlama::o_r_in_parts(uint32_t l, uint32_t T) const {
    return T == 1 && o_b_in_cache(weights_->layers()[l].o);
}

// Whether a group after a norm runs with the norm folded into its GEMV: q/k/v or gate/up
// with the fused variants, uncorrected or with one B to compute as extra rows.
// A corrected group's prompt on a CPU driver keeps A R in its GEMV: the consumers add A R
// with a workgroup per token, reading all of A once per token, where the GEMV reads it once
// per 8; on lavapipe the fused form took a GlowQ r64 SmolLM2's 8-token prompt from 1.1 to
// 1.5 s (docs/design-notes.md).
bool VulkanLlama::folds_norm(const DeviceProjection& p, uint32_t T) const {
    if (options_.calibration) return false;  // the normalized input must land in xn_ for its sums
    if (p.corrected() && T > 1 && ctx_.caps().type == "cpu") return false;
    ops::MatmulOptions o = product_options();
    o.norm_input = true;
    const bool fuse_b = p.corrected() && p.w.parts.size() == 1 && p.b.parts.size() == 1 && p.b.type == ops::WeightType::F16;
    return ops::fused_gemv_supported(ctx_, p.w, T, o) && (!p.corrected() || fuse_b);
}

// A group whose input is the residual stream's RMSNorm (q/k/v, gate/up): where the GEMV
// has the fused variants, one dispatch normalizes x as it loads it, multiplies, and for a
// corrected group also computes R = B norm(x) into y's buffer after y (from word chunk x
// rows); the consumer then adds A R (returned). With pre_partials, the product before it
// already wrote x times the norm's weights and its sums of squares (add_projection).
// Elsewhere: the norm's own dispatch, then add_projection.
std::optional<ops::LowrankInput> VulkanLlama::add_normed_projection(vk::Graph& g, const DeviceProjection& p,
                                                                    const vk::Buffer& norm, const vk::Buffer& y,
                                                                    uint32_t T, const std::string& label,
                                                                    std::optional<uint32_t> pre_partials,
                                                                    const ops::DeviceMoments* tap) {
    if (folds_norm(p, T)) {
        ops::MatmulOptions o = product_options();
        o.norm_input = true;
        o.norm_eps = cfg_.rms_eps;
        if (pre_partials) {
            o.norm_pre = true;
            o.x_word = xg_word();
            o.ss_word = 2 * xg_word();
            o.n_partials = *pre_partials;
        }
        std::optional<ops::LowrankInput> lr;
        if (p.corrected()) {
            o.b_rows = &p.b;
            o.r_word = options_.chunk * p.w.rows;
            lr = ops::LowrankInput{&p.w, o.r_word, p.b.rows};
        }
        for (auto& d : ops::matmul(ctx_, p.w, x_, y, T, o)) {
            d.label = label + ":" + d.label;
            g.add(std::move(d));
        }
        return lr;
    }
    vk::Dispatch n = ops::rmsnorm(ctx_, x_, norm, xn_, cfg_.n_embd, T, 0, cfg_.rms_eps);
    n.label = label + "_norm:" + n.label;
    g.add(std::move(n));
    if (tap)
        for (auto& d : ops::accumulate_moments(ctx_, g.step_buffer(), xn_, T, *tap)) {
            d.label = label + "_moments:" + d.label;
            g.add(std::move(d));
        }
    add_projection(g, p, xn_, y, T, false, label);
    return std::nullopt;
}

std::optional<uint32_t> VulkanLlama::add_layer(vk::Graph& g, uint32_t l, uint32_t T, std::optional<uint32_t> pre,
                                               bool taps) {
    const uint32_t d = cfg_.n_embd;
    const uint32_t splits = T == 1 ? splits_ : 1;
    const float rope_scale = cfg_.rope_scaling.type == "linear" ? 1.0f / cfg_.rope_scaling.factor : 1.0f;
    const bool post_norms = cfg_.arch.post_norms;
    auto add = [&](std::vector<vk::Dispatch> ds, const std::string& label) {
        for (auto& n : ds) {
            n.label = label + ":" + n.label;
            g.add(std::move(n));
        }
    };
    auto tap = [&](TapPoint point, const vk::Buffer& x, const std::string& label) {
        if (taps) add(ops::accumulate_moments(ctx_, g.step_buffer(), x, T, moments_[size_t(point)]), label);
    };
    // A block's output: added to the residual stream by its product, or with post-norms
    // written to xn_ and added normalized by the norm's dispatch.
    auto add_block_output = [&](const DeviceProjection& p, const vk::Buffer& in, const vk::Buffer& post_norm,
                                const DeviceProjection* next, const std::string& label,
                                const ops::MatmulOptions::RParts* r_in_x = nullptr) -> std::optional<uint32_t> {
        if (!post_norms) return add_projection(g, p, in, x_, T, true, label, next, r_in_x);
        add_projection(g, p, in, xn_, T, false, label, nullptr, r_in_x);
        add({ops::rmsnorm(ctx_, xn_, post_norm, x_, d, T, 0, cfg_.rms_eps, true)}, label + "_post_norm");
        return std::nullopt;
    };
    const DeviceLayer& L = weights_->layers()[l];
    const std::string p = "L" + std::to_string(l);
    const bool local = cfg_.layer_is_local(l);
    const ops::AttentionShape shape{cfg_.n_heads,  cfg_.n_kv_heads,
                                    cfg_.head_dim, cfg_.rope_dim,
                                    cfg_.layer_rope_base(l), local ? 1.0f : rope_scale,
                                    cfg_.arch.rope == RopeStyle::Neox, cfg_.attn_scale,
                                    cfg_.layer_window(l)};
    const ops::QkvSections sections{L.sections_binding(), L.qkv_bias_word, L.qk_norm_word, cfg_.rms_eps};
    const auto tap_of = [&](TapPoint point) { return taps ? &moments_[size_t(point)] : nullptr; };
    const auto qkv_lr =
        add_normed_projection(g, L.qkv, L.attn_norm, qkv_, T, p + ".qkv", pre, tap_of(TapPoint::AttnInput));
    const ops::KvCache kv{&kv_[options_.calibration ? 0 : l], uint32_t(kv_half_bytes_ / 4)};
    add({ops::rope_kv(ctx_, g.step_buffer(), qkv_, kv, shape, T, qkv_lr ? &*qkv_lr : nullptr, &sections)},
        p + (qkv_lr ? ".rope_kv+lr" : ".rope_kv"));
    std::optional<ops::AttentionPartialR> o_r;
    std::optional<ops::MatmulOptions::RParts> o_parts;
    if (o_r_in_parts(l, T)) {
        o_r = ops::AttentionPartialR{L.o.b.rows, uint32_t(kv_b_word()), attn_parts_word_};
        o_parts = ops::MatmulOptions::RParts{cfg_.n_heads, T * L.o.b.rows, attn_parts_word_};
    }
    add({ops::attention(ctx_, g.step_buffer(), qkv_, kv, attn_, shape, T, splits, attn_scratch_word_,
                        o_r ? &*o_r : nullptr)},
        p + (o_r ? ".attn+o_b" : ".attn"));
    tap(TapPoint::AttnOutput, attn_, p + ".o_moments");
    pre = add_block_output(L.o, attn_, L.attn_post_norm, &L.gate_up, p + ".o", o_parts ? &*o_parts : nullptr);
    const auto gate_up_lr =
        add_normed_projection(g, L.gate_up, L.ffn_norm, gate_up_, T, p + ".gate_up", pre, tap_of(TapPoint::FfnInput));
    const bool gelu = cfg_.arch.activation == Activation::GeluTanh;
    std::optional<ops::PartialR> down_r;
    std::optional<ops::MatmulOptions::RParts> down_parts;
    if (down_r_in_parts(L.down, T)) {
        down_r = ops::PartialR{&L.down.b, act_parts_word()};
        down_parts = ops::MatmulOptions::RParts{ops::silu_mul_parts(cfg_.n_ff), T * L.down.b.rows, act_parts_word()};
    }
    add({ops::silu_mul(ctx_, gate_up_, act_, cfg_.n_ff, T, gate_up_lr ? &*gate_up_lr : nullptr, gelu,
                       down_r ? &*down_r : nullptr)},
        p + (gate_up_lr ? ".silu_mul+lr" : ".silu_mul") + (down_r ? "+down_b" : ""));
    tap(TapPoint::FfnDownInput, act_, p + ".down_moments");
    const bool last = l + 1 == cfg_.n_layers;
    return add_block_output(L.down, act_, L.ffn_post_norm, last ? nullptr : &weights_->layers()[l + 1].qkv, p + ".down",
                            down_parts ? &*down_parts : nullptr);
}

void VulkanLlama::build(vk::Graph& g, uint32_t T, Logits mode) {
    const uint32_t d = cfg_.n_embd;
    auto add = [&](std::vector<vk::Dispatch> ds, const std::string& label) {
        for (auto& n : ds) {
            n.label = label + ":" + n.label;
            g.add(std::move(n));
        }
    };
    const ops::MatmulOptions plain = product_options();
    add(ops::embed(ctx_, tokens_, weights_->embed(), x_, T, cfg_.embd_scale), "embed");
    // Set when the last product into x_ also wrote x_ times the next norm's weights.
    std::optional<uint32_t> pre;
    for (uint32_t l = 0; l < cfg_.n_layers; ++l) pre = add_layer(g, l, T, pre, false);
    if (mode == Logits::None) return;
    const uint32_t rows = mode == Logits::All ? T : 1;
    add({ops::rmsnorm(ctx_, x_, weights_->out_norm(), xn_, d, rows, T - rows, cfg_.rms_eps)}, "output_norm");
    add(ops::matmul(ctx_, weights_->lm_head(), xn_, logits_buffer(mode), rows, plain), "lm_head");
}

void VulkanLlama::run_layer_calibration(uint32_t l, float* x, bool first) {
    if (!options_.calibration)
        throw Error(ErrorKind::InvalidArgument, "run_layer_calibration needs an executor made for calibration");
    if (l >= cfg_.n_layers) throw Error(ErrorKind::InvalidArgument, "no layer " + std::to_string(l));
    const uint32_t T = options_.chunk;
    if (T > max_context_)
        throw Error(ErrorKind::InvalidArgument, "calibration windows of " + std::to_string(T) +
                                                    " tokens exceed the context of " + std::to_string(max_context_));
    auto& g = layer_graphs_[l];
    if (!g) {
        g = std::make_unique<vk::Graph>(ctx_, alloc_, vk::GraphOptions{}, &stream_);
        add_layer(*g, l, T, std::nullopt, true);
        g->record();
    }
    const uint64_t bytes = uint64_t(T) * cfg_.n_embd * 4;
    alloc_.write(x_, x, bytes);
    g->step()[0] = 0;
    g->step()[GQ_STEP_MOMENTS_ADD] = first ? 0 : 1;
    g->run();
    alloc_.read(x_, x, bytes);
    cached_ = 0;  // the cache holds this layer's window only
}

void VulkanLlama::read_moments(TapPoint point, const ops::MomentsSlice& slice, float* abs_out) {
    if (!options_.calibration)
        throw Error(ErrorKind::InvalidArgument, "read_moments needs an executor made for calibration");
    ops::read_moments(alloc_, moments_[size_t(point)], slice, abs_out);
}

// Every token's logits (perplexity) need chunk x vocabulary floats, 262 MB for Llama 3 at a
// 512-token chunk; generation needs the last token's only. Each is allocated when first
// needed and kept: recorded graphs hold it.
const vk::Buffer& VulkanLlama::logits_buffer(Logits mode) {
    vk::Buffer& b = mode == Logits::All ? logits_all_ : logits_last_;
    if (!b.valid())
        b = alloc_.allocate(uint64_t(mode == Logits::All ? options_.chunk : 1) * cfg_.n_vocab * 4,
                            vk::MemoryUsage::Readback);
    return b;
}

vk::Graph& VulkanLlama::graph(uint32_t T, Logits mode) {
    auto key = std::make_pair(T, int(mode));
    auto it = graphs_.find(key);
    if (it != graphs_.end()) return *it->second;
    // Prefill graphs for odd chunk sizes come and go; keep the cache small.
    if (graphs_.size() >= 8) {
        for (auto g = graphs_.begin(); g != graphs_.end(); ++g)
            if (g->first.first != 1 && g->first.first != options_.chunk) {
                graphs_.erase(g);
                break;
            }
    }
    auto g = std::make_unique<vk::Graph>(ctx_, alloc_, vk::GraphOptions{}, &stream_);
    build(*g, T, mode);
    g->record();
    return *graphs_.emplace(key, std::move(g)).first->second;
}

void VulkanLlama::eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) {
    if (n == 0) throw Error(ErrorKind::InvalidArgument, "eval of zero tokens");
    if (pos > cached_)
        throw Error(ErrorKind::InvalidArgument, "eval at position " + std::to_string(pos) + " leaves a gap after the " +
                                                    std::to_string(cached_) + " cached positions");
    if (uint64_t(pos) + n > max_context_)
        throw Error(ErrorKind::ContextFull, "context full: " + std::to_string(pos) + " + " + std::to_string(n) +
                                                " tokens exceed the context of " + std::to_string(max_context_));
    check_tokens(tokens, n);
    cached_ = std::min(cached_, pos);  // positions from pos on are rewritten (or lost on failure)
    const uint32_t C = options_.chunk, V = cfg_.n_vocab;
    for (uint32_t done = 0; done < n;) {
        if (cancel_ && cancel_->load(std::memory_order_relaxed))
            throw Error(ErrorKind::Cancelled, "cancelled after " + std::to_string(done) + " of " + std::to_string(n) +
                                                  " prompt tokens");
        const uint32_t T = std::min(C, n - done);
        const bool last = done + T == n;
        const Logits mode = all_logits ? Logits::All : last ? Logits::Last : Logits::None;
        vk::Graph& g = graph(T, mode);
        std::memcpy(tokens_.mapped(), tokens + done, T * 4);
        g.step()[0] = pos + done;
        g.run();
        cached_ = pos + done + T;
        if (mode == Logits::All) alloc_.read(logits_all_, logits + size_t(done) * V, uint64_t(T) * V * 4);
        if (mode == Logits::Last) alloc_.read(logits_last_, logits, uint64_t(V) * 4);
        done += T;
    }
}

void VulkanLlama::check_tokens(const int32_t* tokens, uint32_t n) const {
    for (uint32_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || uint32_t(tokens[i]) >= cfg_.n_vocab)
            throw Error(ErrorKind::InvalidArgument, "token id " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                                                        std::to_string(cfg_.n_vocab));
}

std::vector<vk::NodeTiming> VulkanLlama::profile_step(const int32_t* tokens, uint32_t n, uint32_t pos, int reps) {
    if (n == 0 || n > options_.chunk || pos > cached_ || uint64_t(pos) + n > max_context_)
        throw Error(ErrorKind::InvalidArgument, "profile_step of " + std::to_string(n) + " tokens at position " +
                                                    std::to_string(pos) + " with " + std::to_string(cached_) +
                                                    " cached positions");
    check_tokens(tokens, n);
    auto& g = profile_graphs_[n];
    if (!g) {
        g = std::make_unique<vk::Graph>(ctx_, alloc_, vk::GraphOptions{true}, &stream_);
        build(*g, n, Logits::Last);
        g->record();
    }
    std::vector<std::vector<vk::NodeTiming>> runs;
    for (int r = 0; r < std::max(1, reps); ++r) {
        std::memcpy(tokens_.mapped(), tokens, size_t(n) * 4);
        g->step()[0] = pos;
        g->run();
        runs.push_back(g->timings());
    }
    cached_ = pos + n;
    std::vector<vk::NodeTiming> out = runs[0];
    for (size_t i = 0; i < out.size(); ++i) {
        std::vector<double> ms;
        for (const auto& run : runs) ms.push_back(run[i].ms);
        std::nth_element(ms.begin(), ms.begin() + long(ms.size() / 2), ms.end());
        out[i].ms = ms[ms.size() / 2];
    }
    return out;
}

}  // namespace glowq

// Kernel selection and push constants for the decoder-layer kernels.
#include "glowq/ops/transformer_ops.hpp"

#include <algorithm>
#include <cmath>

#include "glowq/error.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::ops {

using vk::Arg;
using vk::Dispatch;
using vk::ShaderId;

// Workgroup size of the row-wise kernels (rmsnorm, rope_kv): 64 on CPU drivers, where a
// workgroup runs on one core; up to 1024 on GPUs, where a decode step runs one workgroup
// and its lanes' loops over a 4096-wide row wait on memory latency (an H100: 35 us with
// 64 lanes, 12 us with 256).
static uint32_t row_kernel_workgroup(const vk::DeviceCaps& caps) {
    if (caps.type == "cpu") return 64;
    uint32_t wg = 64;  // a power of two: rmsnorm reduces by halving
    while (wg * 2 <= std::min<uint32_t>(1024, caps.max_workgroup_invocations)) wg *= 2;
    return wg;
}

std::vector<Dispatch> embed(vk::Context& ctx, const vk::Buffer& tokens, const DeviceMatrix& table,
                            const vk::Buffer& out, uint32_t n_tokens, float scale) {
    if (table.type != WeightType::Int4 && table.type != WeightType::Q8 && table.type != WeightType::F16)
        throw Error(ErrorKind::Unsupported, "embedding tables must be int4, Q8 or fp16");
    const ShaderId shader = table.type == WeightType::Int4 ? ShaderId::embed_q4
                            : table.type == WeightType::Q8 ? ShaderId::embed_q8
                                                           : ShaderId::embed_f16;
    std::vector<Dispatch> ds;
    for (const DeviceMatrixPart& part : table.parts) {
        push::Embed push{table.cols, part.rows, table.group_size, part.so_word, scale, part.row0, table.rows,
                         table.scale_only ? 1u : 0u};
        Dispatch d;
        d.kernel = &ctx.kernel({shader, {}});
        // Every part writes only its own tokens' rows: the dispatches may run in any order.
        d.args = {Arg::in(tokens), Arg::in(part.weights), ds.empty() ? Arg::out(out) : Arg::inout(out)};
        d.push_constants(push);
        d.groups[0] = n_tokens;
        ds.push_back(std::move(d));
    }
    return ds;
}

Dispatch rmsnorm(vk::Context& ctx, const vk::Buffer& x, const vk::Buffer& w, const vk::Buffer& out, uint32_t dim,
                 uint32_t n_rows, uint32_t row0, float eps, bool add) {
    push::RmsNorm push{dim, row0, eps};
    Dispatch d;
    d.kernel = &ctx.kernel({add ? ShaderId::rmsnorm_add : ShaderId::rmsnorm, {row_kernel_workgroup(ctx.caps())}});
    d.args = {Arg::in(x), Arg::in(w), add ? Arg::inout(out) : Arg::out(out)};
    d.push_constants(push);
    d.groups[0] = n_rows;
    return d;
}

static void check_shape(const AttentionShape& s) {
    if (s.n_kv == 0 || s.n_heads % s.n_kv || s.head_dim % 2 || s.head_dim > GQ_ATTENTION_MAX_HEAD_DIM ||
        s.rope_dim > s.head_dim)
        throw Error(ErrorKind::Unsupported, "attention shape: heads " + std::to_string(s.n_heads) + ", kv heads " +
                                                std::to_string(s.n_kv) + ", head dim " + std::to_string(s.head_dim) +
                                                " (needs an even head dim up to " + std::to_string(GQ_ATTENTION_MAX_HEAD_DIM) +
                                                " and kv heads dividing heads)");
}

// The A of a LowrankInput: its rank, first word and buffer, checked against the rows the
// consumer corrects and the R it reads.
static const DeviceMatrixPart& lowrank_part(const LowrankInput& lr, uint32_t rows, const vk::Buffer& input,
                                            uint32_t tokens) {
    const DeviceMatrix* m = lr.matrix;
    if (!m || m->lr_rank == 0 || m->parts.size() != 1 || m->rows != rows)
        throw Error(ErrorKind::InvalidArgument, "a consumer's low-rank input needs a one-part matrix of " +
                                                    std::to_string(rows) + " rows with A attached");
    if (lr.r_stride < m->lr_rank || input.size() < (uint64_t(lr.r_word) + uint64_t(tokens) * lr.r_stride) * 4)
        throw Error(ErrorKind::InvalidArgument, "a consumer's low-rank input: R lies outside its buffer");
    return m->parts[0];
}

// Subgroup shuffles over subgroups of at least 8 lanes that fill the workgroup: what the
// broadcast forms (LR_BCAST, B_PARTIAL) need.
static bool subgroups_fill(const vk::DeviceCaps& caps, uint32_t workgroup) {
    return caps.subgroup_shuffle && caps.subgroup_min_size >= 8 && caps.subgroup_max_size > 0 &&
           workgroup % caps.subgroup_max_size == 0;
}

// The form a consumer's A R takes (lowrank_input.glsl). adjacent: Llama's RoPE pairs or
// SiLU, whose lanes all reach every row's A R; workgroup: the per-lane variants' size.
static LowrankForm lowrank_form(const vk::Context& ctx, const LowrankInput& lr, bool adjacent, uint32_t workgroup) {
    const auto& caps = ctx.caps();
    const bool coop = adjacent && lr.matrix->lr_rank % 8 == 0;
    const bool bcast = adjacent && subgroups_fill(caps, workgroup);
    if (lr.form == LowrankForm::Cooperative && !coop)
        throw Error(ErrorKind::Unsupported, "the cooperative low-rank input needs a rank that is a multiple of 8 (got " +
                                                std::to_string(lr.matrix->lr_rank) + ") and, for RoPE, adjacent pairs");
    if (lr.form == LowrankForm::Broadcast && !bcast)
        throw Error(ErrorKind::Unsupported, "the broadcast low-rank input needs subgroup shuffles over subgroups of at "
                                            "least 8 lanes that fill the workgroup and, for RoPE, adjacent pairs");
    if (lr.form != LowrankForm::Auto) return lr.form;
    if (caps.type != "cpu") return coop ? LowrankForm::Cooperative : LowrankForm::PerLane;
    return bcast ? LowrankForm::Broadcast : LowrankForm::PerLane;
}

// Workgroup of the cooperative consumers: a quarter of it holds pairs or columns, so 64
// lanes make many workgroups (the wide row-kernel workgroup left a Llama-3-8B RoPE with
// A R on three of an H200's 132 multiprocessors).
constexpr uint32_t kLowrankCoopWorkgroup = GQ_SILU_MUL_WORKGROUP;  // the same for RoPE

Dispatch rope_kv(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& qkv, const KvCache& kv,
                 const AttentionShape& s, uint32_t n_tokens, const LowrankInput* lr, const QkvSections* sections) {
    check_shape(s);
    const uint32_t qkv_rows = (s.n_heads + 2 * s.n_kv) * s.head_dim;
    push::RopeKv push{s.n_heads, s.n_kv, s.head_dim, s.rope_dim, s.freq_base, s.freq_scale, kv.v_word,
                      0, 0, 0, 0, s.neox ? 1u : 0u, 0, 0, 0.0f};
    const uint32_t wg = row_kernel_workgroup(ctx.caps());
    Dispatch d;
    d.args = {Arg::in(step), Arg::inout(qkv), Arg::out(*kv.buffer)};
    const vk::Buffer* binding3 = nullptr;
    if (lr) {
        const DeviceMatrixPart& part = lowrank_part(*lr, qkv_rows, qkv, n_tokens);
        push.rank = lr->matrix->lr_rank;
        push.a_word = part.a_word;
        push.r_word = lr->r_word;
        push.r_stride = lr->r_stride;
        binding3 = &part.weights;
    }
    if (sections && (sections->bias_word || sections->norm_word)) {
        if (!sections->binding || (binding3 && binding3 != sections->binding))
            throw Error(ErrorKind::InvalidArgument, "rope_kv: the biases and q/k norms must be in one buffer, the "
                                                    "low-rank input's matrix binding when there is one");
        const uint64_t end = uint64_t(std::max(sections->bias_word + (sections->bias_word ? qkv_rows : 0),
                                               sections->norm_word + (sections->norm_word ? 2 * s.head_dim : 0)));
        if (sections->binding->size() < end * 4)
            throw Error(ErrorKind::InvalidArgument, "rope_kv: the biases or q/k norms lie outside their buffer");
        push.bias_word = sections->bias_word;
        push.norm_word = sections->norm_word;
        push.eps = sections->eps;
        binding3 = sections->binding;
    }
    // A head at a time where a pair's halves lie apart (NEOX) or the head is normalized.
    const bool heads = s.neox || push.bias_word || push.norm_word;
    // Binding 3 is declared by every variant but the plain one; with nothing to read there
    // it is qkv again.
    if (binding3 || heads) d.args.push_back(Arg::in(binding3 ? *binding3 : qkv));
    const LowrankForm form = lr ? lowrank_form(ctx, *lr, !heads, wg) : LowrankForm::PerLane;
    const bool coop = form == LowrankForm::Cooperative;
    const ShaderId shader = heads ? (lr ? ShaderId::rope_kv_heads_lr : ShaderId::rope_kv_heads)
                            : !lr ? ShaderId::rope_kv
                            : coop ? ShaderId::rope_kv_lr_coop
                            : form == LowrankForm::Broadcast ? ShaderId::rope_kv_lr_bcast
                                                              : ShaderId::rope_kv_lr;
    const uint32_t group_wg = coop ? kLowrankCoopWorkgroup : wg, pairs = coop ? group_wg / GQ_LR_COOP_SHARE : group_wg;
    d.kernel = &ctx.kernel({shader, {group_wg}});
    d.push_constants(push);
    d.groups[0] = heads ? s.n_heads + s.n_kv : ((s.n_heads + s.n_kv) * s.head_dim / 2 + pairs - 1) / pairs;
    d.groups[1] = n_tokens;
    return d;
}

uint64_t attention_scratch_words(const AttentionShape& s, uint32_t n_tokens, uint32_t splits) {
    return splits > 1 ? GQ_ATTENTION_SCRATCH_WORDS(uint64_t(n_tokens), s.n_heads, s.head_dim, splits) : 0;
}

Dispatch attention(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& qkv, const KvCache& kv,
                   const vk::Buffer& out, const AttentionShape& s, uint32_t n_tokens, uint32_t splits,
                   uint32_t scratch_word, const AttentionPartialR* next) {
    check_shape(s);
    splits = std::max(1u, splits);
    const uint64_t out_words = uint64_t(n_tokens) * s.n_heads * s.head_dim;
    if (out.size() < out_words * 4)
        throw Error(ErrorKind::InvalidArgument, "attention: the output buffer holds fewer than T x n_heads x head_dim floats");
    if (splits > 1 && (scratch_word < out_words ||
                       out.size() < (scratch_word + attention_scratch_words(s, n_tokens, splits)) * 4))
        throw Error(ErrorKind::InvalidArgument,
                    "attention: the splits' scratch must lie in the output buffer, after the output");
    const float scale = s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(float(s.head_dim));
    push::Attention push{s.n_heads, s.n_kv, s.head_dim, splits, scale, kv.v_word, s.window, scratch_word, 0, 0, 0};
    if (next) {
        if (!attention_partial_r_supported(ctx))
            throw Error(ErrorKind::Unsupported, "attention: the next product's R in parts needs subgroup shuffles over 8 "
                                                "lanes or more");
        if (splits != 1 || next->rank == 0)
            throw Error(ErrorKind::InvalidArgument, "attention: the next product's R in parts needs one split and a rank");
        const uint64_t b_end = next->b_word + uint64_t(next->rank) * GQ_F16_ROW_WORDS(uint64_t(s.n_heads) * s.head_dim);
        if (next->b_word % 4 != 0 || next->b_word < 2 * uint64_t(kv.v_word) || kv.buffer->size() < b_end * 4)
            throw Error(ErrorKind::InvalidArgument, "attention: the next product's B must lie in the cache's buffer after "
                                                    "V, from a multiple of 4 words");
        const uint64_t end = next->word + uint64_t(s.n_heads) * n_tokens * next->rank;
        if (next->word < out_words + attention_scratch_words(s, n_tokens, splits) || out.size() < end * 4)
            throw Error(ErrorKind::InvalidArgument, "attention: the next product's R parts must lie in the output's "
                                                    "buffer after the output");
        push.b_rank = next->rank;
        push.b_word = next->b_word;
        push.bp_word = next->word;
    }
    Dispatch a;
    a.kernel = &ctx.kernel({next ? ShaderId::attention_bcast_bpart : ShaderId::attention, {}});
    a.args = {Arg::in(step), Arg::in(qkv), Arg::in(*kv.buffer), splits > 1 ? Arg::inout(out) : Arg::out(out)};
    a.push_constants(push);
    a.groups[0] = s.n_heads;
    a.groups[1] = n_tokens;
    a.groups[2] = splits;
    return a;
}

bool attention_partial_r_supported(const vk::Context& ctx) { return subgroups_fill(ctx.caps(), GQ_ATTENTION_WORKGROUP); }

uint32_t silu_mul_parts(uint32_t n_ff) { return (n_ff + GQ_SILU_MUL_WORKGROUP - 1) / GQ_SILU_MUL_WORKGROUP; }

bool partial_r_supported(const vk::Context& ctx, const DeviceMatrix& b, uint32_t n_ff) {
    return subgroups_fill(ctx.caps(), GQ_SILU_MUL_WORKGROUP) && b.type == WeightType::F16 && b.parts.size() == 1 &&
           b.cols == n_ff && b.rows > 0;
}

Dispatch silu_mul(vk::Context& ctx, const vk::Buffer& gate_up, const vk::Buffer& out, uint32_t n_ff, uint32_t n_tokens,
                  const LowrankInput* lr, bool gelu, const PartialR* next) {
    push::SiluMul push{n_ff, 0, 0, 0, 0, gelu ? 1u : 0u, 0, 0};
    Dispatch d;
    d.args = {Arg::in(gate_up), Arg::out(out)};
    if (lr) {
        const DeviceMatrixPart& part = lowrank_part(*lr, 2 * n_ff, gate_up, n_tokens);
        push.rank = lr->matrix->lr_rank;
        push.a_word = part.a_word;
        push.r_word = lr->r_word;
        push.r_stride = lr->r_stride;
        d.args.push_back(Arg::in(part.weights));
    }
    LowrankForm form = lr ? lowrank_form(ctx, *lr, true, GQ_SILU_MUL_WORKGROUP) : LowrankForm::PerLane;
    if (next) {
        if (!next->b || !partial_r_supported(ctx, *next->b, n_ff))
            throw Error(ErrorKind::Unsupported, "silu_mul: the next product's R in parts needs its fp16 B in one part "
                                                "with n_ff columns and subgroup shuffles over 8 lanes or more");
        if (lr && lr->form != LowrankForm::Auto && lr->form != LowrankForm::Broadcast)
            throw Error(ErrorKind::Unsupported, "silu_mul: the next product's R in parts comes with the broadcast A R only");
        if (lr) form = LowrankForm::Broadcast;  // the device has it (partial_r_supported)
        const uint64_t end = uint64_t(next->word) + uint64_t(silu_mul_parts(n_ff)) * n_tokens * next->b->rows;
        if (uint64_t(next->word) < uint64_t(n_tokens) * n_ff || out.size() < end * 4)
            throw Error(ErrorKind::InvalidArgument, "silu_mul: the next product's R parts must lie in the output's "
                                                    "buffer after the output");
        push.b_rank = next->b->rows;
        push.bp_word = next->word;
    }
    const bool coop = form == LowrankForm::Cooperative;
    const ShaderId shader = !lr ? (next ? ShaderId::silu_mul_bcast_bpart : ShaderId::silu_mul)
                            : coop ? ShaderId::silu_mul_lr_coop
                            : form == LowrankForm::Broadcast ? (next ? ShaderId::silu_mul_lr_bcast_bpart
                                                                     : ShaderId::silu_mul_lr_bcast)
                                                              : ShaderId::silu_mul_lr;
    if (next) d.args.push_back(Arg::in(next->b->parts[0].weights));
    d.kernel = &ctx.kernel({shader, {}});
    d.push_constants(push);
    const uint32_t cols = GQ_SILU_MUL_WORKGROUP / (coop ? GQ_LR_COOP_SHARE : 1);
    d.groups[0] = (n_ff + cols - 1) / cols;
    d.groups[1] = n_tokens;
    return d;
}

}  // namespace glowq::ops

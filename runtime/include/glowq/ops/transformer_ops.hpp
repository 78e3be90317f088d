// The non-matmul kernels of a Llama decoder layer as graph nodes. Activations are
// row-major per token; the KV caches are per layer, fp16 pairs packed in uint32.
#pragma once
#include <cstdint>
#include <vector>

#include "glowq/ops/matmul.hpp"
#include "glowq/vk/graph.hpp"

namespace glowq::ops {

// out[t] = dequantized row tokens[t] of table (int4, Q8 or fp16 DeviceMatrix) times scale:
// a dispatch per part of the table.
std::vector<vk::Dispatch> embed(vk::Context& ctx, const vk::Buffer& tokens, const DeviceMatrix& table,
                                const vk::Buffer& out, uint32_t n_tokens, float scale = 1.0f);

// out[t] = x[row0 + t] * rsqrt(mean(x^2) + eps) * w, for rows t < n_rows; with add,
// out[t] += that instead (a post-norm's residual add).
vk::Dispatch rmsnorm(vk::Context& ctx, const vk::Buffer& x, const vk::Buffer& w, const vk::Buffer& out, uint32_t dim,
                     uint32_t n_rows, uint32_t row0, float eps, bool add = false);

struct AttentionShape {
    uint32_t n_heads, n_kv, head_dim, rope_dim;
    float freq_base, freq_scale;
    bool neox = false;      // RoPE rotates (i, i + rope_dim/2) instead of (2i, 2i+1)
    float scale = 0.0f;     // multiplies q·k; 0: 1/sqrt(head_dim)
    uint32_t window = 0;    // a query sees its last `window` positions (itself included); 0: all
};

// What rope_kv does to q/k/v before RoPE beyond Llama's: biases added (q|k|v rows) and a
// per-head RMSNorm of q and of k (q's weights, then k's, head_dim each), fp32 sections of
// one buffer: the qkv product's one-part matrix binding (DeviceMatrix::
// attach_consumer_section), which must be where a LowrankInput's A is too, or a buffer of
// their own. Word 0: none.
struct QkvSections {
    const vk::Buffer* binding = nullptr;
    uint32_t bias_word = 0, norm_word = 0;
    float eps = 0.0f;
};

// One layer's KV cache in one buffer (one binding): K from word 0, V from word v_word,
// each [position][n_kv * head_dim / 2] fp16 pairs.
struct KvCache {
    const vk::Buffer* buffer = nullptr;
    uint32_t v_word = 0;
};

// A corrected product whose consumer adds the correction A R (the GEMV wrote R after its
// output, MatmulOptions::b_rows): the matrix holding A (one part) and where R lies in the
// consumer's input buffer (token t's from word r_word + t * r_stride).
// How the consumer computes A R: a lane per input row; the same with R passed between
// the lanes by subgroup shuffles (CPU drivers; subgroups of 8 lanes or more, Llama's RoPE
// pairs); or the workgroup's lanes together on each row (GPUs; rank a multiple of 8,
// Llama's RoPE pairs). Auto: by the device.
enum class LowrankForm { Auto, PerLane, Cooperative, Broadcast };

struct LowrankInput {
    const DeviceMatrix* matrix = nullptr;
    uint32_t r_word = 0, r_stride = 0;
    LowrankForm form = LowrankForm::Auto;
};

// RoPE on q and k of the fused qkv rows, then k and v into the cache at step[0] + t; with
// lr, q, k and v gain A R first; with sections, the biases and q/k norms.
vk::Dispatch rope_kv(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& qkv, const KvCache& kv,
                     const AttentionShape& s, uint32_t n_tokens, const LowrankInput* lr = nullptr,
                     const QkvSections* sections = nullptr);

// Causal attention of the q part of qkv against the cache into out (T x n_heads*head_dim
// from word 0): one dispatch. With several splits over the KV length (GPU decode) their
// partial results and counters live in out from scratch_word (at least T*n_heads*head_dim),
// attention_scratch_words of them, zero before the first use (the kernel leaves them so).
// With next (one split), also the next product's R in parts (AttentionPartialR).
struct AttentionPartialR;
vk::Dispatch attention(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& qkv, const KvCache& kv,
                       const vk::Buffer& out, const AttentionShape& s, uint32_t n_tokens, uint32_t splits,
                       uint32_t scratch_word = 0, const AttentionPartialR* next = nullptr);
uint64_t attention_scratch_words(const AttentionShape& s, uint32_t n_tokens, uint32_t splits);

// The next product's R = B out computed by attention in parts, one per head (the B_PARTIAL
// variant), so that product (o, MatmulOptions::r_parts) needs no dispatch of its own for
// it. Attention has no binding left for B: it reads a copy in the cache's buffer, rank rows
// of n_heads * head_dim fp16 columns (GQ_F16_ROW_WORDS words each) from word b_word, a
// multiple of 4 after V. Part h of token t at word word + (h * T + t) * rank of out.
struct AttentionPartialR {
    uint32_t rank = 0, b_word = 0, word = 0;
};
// Whether the device has the variant (subgroup shuffles over subgroups of at least 8
// lanes that fill the workgroup).
bool attention_partial_r_supported(const vk::Context& ctx);

// The next product's R = B out computed by silu_mul in parts, one per workgroup of columns
// (the B_PARTIAL variants), so that product (down, MatmulOptions::r_parts) needs no dispatch
// of its own for it: B fp16, one part, n_ff columns; part g of token t at word
// word + (g * T + t) * b->rows of out.
struct PartialR {
    const DeviceMatrix* b = nullptr;
    uint32_t word = 0;
};
// How many parts silu_mul writes for n_ff columns, and whether the device has the variants
// (subgroup shuffles over subgroups of at least 8 lanes that fill the workgroup).
uint32_t silu_mul_parts(uint32_t n_ff);
bool partial_r_supported(const vk::Context& ctx, const DeviceMatrix& b, uint32_t n_ff);

// out[t][i] = act(gu[t][i]) * gu[t][n_ff + i], act SiLU or (gelu) GELU's tanh form; with
// lr, gate and up gain A R first; with next, the next product's R in parts (PartialR).
vk::Dispatch silu_mul(vk::Context& ctx, const vk::Buffer& gate_up, const vk::Buffer& out, uint32_t n_ff,
                      uint32_t n_tokens, const LowrankInput* lr = nullptr, bool gelu = false,
                      const PartialR* next = nullptr);

}  // namespace glowq::ops

// A decoder of any architecture in the table (architecture.hpp) on a Vulkan device, in two
// parts:
// - VulkanLlamaWeights: the int4/fp16 weights on the device, immutable after loading and
//   shared by any number of executors on any threads;
// - VulkanLlama: one executor (a session's state): per-layer fp16 KV caches, activations,
//   its own command stream, and the forward pass as command-buffer graphs. A graph is
//   recorded once per (tokens per chunk, logits wanted) and replayed: decoding a token
//   replays the T=1 graph with the position in its step buffer, with no re-recording and
//   no allocation.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/model/forward.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/ops/moments.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq {

struct VulkanModelOptions {
    uint32_t max_context = 2048;  // KV cache positions (capped by the model's trained context)
    uint32_t chunk = 0;           // prefill tokens per graph replay; 0: default_chunk() for the device
    ops::IntDot int_dot = ops::IntDot::Auto;  // the decode GEMVs' products (ops/int_dot.hpp)
    // The quantizer's calibration (run_layer_calibration): every group input is written to
    // a buffer of its own (no norm folded into a GEMV) and summed there, and no generation
    // graph is recorded. moments_slice_bytes: see ops::allocate_moments (tests).
    bool calibration = false;
    uint64_t moments_slice_bytes = 0;
};

// Prefill tokens per graph replay when none is asked for: 512 on GPUs, where each chunk
// reads the weights once (Llama-2-7B pp512 on an H200: 1532 tok/s against 988 with
// 128-token chunks; llama.cpp's ubatch is 512 too), 128 on CPU drivers, whose products
// take the GEMV path at any token count and where a chunk is the cancel latency.
constexpr uint32_t kDefaultChunkGpu = 512, kDefaultChunkCpu = 128;
constexpr uint32_t kMaxChunk = 4096;  // the largest chunk an executor takes
uint32_t default_chunk(const vk::DeviceCaps& caps);

// The modules of one input-sharing group, fused by rows, and the group's low-rank
// correction (B: R = X B^T once per group; A on the fused matrix) when it has one.
struct DeviceProjection {
    ops::DeviceMatrix w;
    ops::DeviceMatrix b;  // 0 rows: uncorrected
    bool corrected() const { return b.rows > 0; }
};

struct DeviceLayer {
    // Also attached to qkv.w and gate_up.w where they are int4 (the GEMV folds the norm in).
    vk::Buffer attn_norm, ffn_norm;
    vk::Buffer attn_post_norm, ffn_post_norm;  // architectures with post-norms (gemma3), else empty
    DeviceProjection qkv, o, gate_up, down;
    // What rope_kv reads (ops::QkvSections): the q/k/v biases (qwen2) and the q/k norms'
    // weights (gemma3), words 0 where the model has none; in qkv.w's binding where it is one
    // part, else in qkv_sections.
    uint32_t qkv_bias_word = 0, qk_norm_word = 0;
    vk::Buffer qkv_sections;
    const vk::Buffer* sections_binding() const {
        return qkv_sections.valid() ? &qkv_sections : qkv.w.parts.size() == 1 ? &qkv.w.parts[0].weights : nullptr;
    }
};

// Called with the fraction loaded in [0, 1]; returning false cancels the load
// (Error of kind Cancelled).
using LoadProgress = std::function<bool(float)>;

class VulkanLlamaWeights {
public:
    // Refuses (OutOfMemory, naming both sizes) a model the device cannot hold, before
    // allocating anything.
    VulkanLlamaWeights(vk::Context& ctx, const GgufFile& file, const LoadProgress& progress = {});
    VulkanLlamaWeights(const VulkanLlamaWeights&) = delete;
    VulkanLlamaWeights& operator=(const VulkanLlamaWeights&) = delete;

    vk::Context& context() const { return ctx_; }
    const ModelConfig& config() const { return cfg_; }
    uint64_t weight_bytes() const;      // device bytes of all weights, corrections included
    uint64_t correction_bytes() const;  // device bytes of the low-rank factors A and B
    uint32_t max_lowrank() const { return max_r_; }  // widest R of any group

    const ops::DeviceMatrix& embed() const { return embed_; }
    const ops::DeviceMatrix& lm_head() const { return lm_head_ ? *lm_head_ : embed_; }
    const vk::Buffer& out_norm() const { return out_norm_; }
    const std::vector<DeviceLayer>& layers() const { return layers_; }

private:
    void load_qkv_sections(const GgufFile& file, uint32_t layer, DeviceLayer& L);

    vk::Context& ctx_;
    ModelConfig cfg_;
    vk::Allocator alloc_;
    ops::DeviceMatrix embed_;
    std::unique_ptr<ops::DeviceMatrix> lm_head_;  // null when the output is tied to embed_
    vk::Buffer out_norm_;
    std::vector<DeviceLayer> layers_;
    uint32_t max_r_ = 0;
};

// Why the device forward cannot run a model (RoPE it does not implement), or "" when it can.
std::string device_forward_unsupported(const ModelConfig& config);
// The same for calibration with windows of `window` tokens (VulkanModelOptions::
// calibration): also windows past kMaxChunk or the model's context.
std::string device_calibration_unsupported(const ModelConfig& config, uint32_t window);

// Device bytes a model file will need as weights (an estimate from its tensors, within a
// few percent), for refusing a model before allocating it.
uint64_t estimate_device_bytes(const GgufFile& file);
// And for calibration with windows of `window` tokens (VulkanModelOptions::calibration):
// the weights, one layer's KV cache and activations, and the four inputs' sums.
uint64_t calibration_device_bytes(const GgufFile& file, uint32_t window);

class VulkanLlama : public Forward {
public:
    explicit VulkanLlama(std::shared_ptr<const VulkanLlamaWeights> weights, const VulkanModelOptions& options = {});
    // Loads its own weights from the file (tests and tools with one executor per model).
    VulkanLlama(vk::Context& ctx, const GgufFile& file, const VulkanModelOptions& options = {});
    ~VulkanLlama() override;

    const ModelConfig& config() const override { return weights_->config(); }
    uint32_t max_context() const override { return max_context_; }
    // Between prefill chunks, a set cancel flag (set_cancel_flag) stops eval with an
    // Error of kind Cancelled; the chunks already run stay in the cache.
    void eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) override;

    const VulkanLlamaWeights& weights() const { return *weights_; }
    uint64_t weight_bytes() const { return weights_->weight_bytes(); }
    uint64_t correction_bytes() const { return weights_->correction_bytes(); }
    uint32_t chunk() const { return options_.chunk; }

    // A flag any thread may set; eval checks it between chunks (null: none).
    void set_cancel_flag(const std::atomic<bool>* flag) { cancel_ = flag; }

    // The KV cache of positions [0, n) as bytes (layer by layer: K then V, fp16), and back.
    uint32_t cached() const { return cached_; }
    uint64_t kv_bytes(uint32_t n) const;
    void read_kv(uint32_t n, uint8_t* out);
    void write_kv(uint32_t n, const uint8_t* in);
    // Forgets positions from n on (the next eval may start at n).
    void truncate(uint32_t n) { cached_ = std::min(cached_, n); }

    // Frees the recorded graphs; the next eval records afresh (tests compare the two).
    void drop_graphs() { graphs_.clear(); }
    // Calibration (options.calibration; GLOWQ.md section 4): layer l alone over chunk()
    // tokens of residual stream x (host, chunk() x n_embd floats, replaced by the layer's
    // output) from an empty cache, summing its four group inputs' x x^T and |x| on the
    // device: afresh when first, else added to the sums since. read_moments then hands them
    // back (ops::read_moments) for one input, by TapPoint.
    void run_layer_calibration(uint32_t l, float* x, bool first);
    void read_moments(TapPoint point, const ops::MomentsSlice& slice, float* abs_out);

    // Where a step's time goes, without profiling the model's own graphs: a graph for n
    // tokens (1: a decode step; at most the prefill chunk) recorded apart with a timestamp
    // and a barrier after every dispatch (so each time is the dispatch's own) is replayed
    // `reps` times at position pos (at most the cached positions; the cache then holds
    // pos + n), and each dispatch's median time is returned.
    std::vector<vk::NodeTiming> profile_step(const int32_t* tokens, uint32_t n, uint32_t pos, int reps);

private:
    enum class Logits { None, Last, All };
    vk::Graph& graph(uint32_t tokens, Logits mode);
    void build(vk::Graph& g, uint32_t tokens, Logits mode);
    // Layer l's dispatches (taps: calibration's sums of its four inputs); pre as for
    // add_normed_projection, and returned for the next layer.
    std::optional<uint32_t> add_layer(vk::Graph& g, uint32_t l, uint32_t tokens, std::optional<uint32_t> pre,
                                      bool taps);
    const vk::Buffer& logits_buffer(Logits mode);
    // A product that adds to the residual stream x_; with next (the group reading the next
    // norm of x_, when it folds that norm in) it also writes x_ times that norm's weights
    // and its sums of squares, and returns how many partial sums per token. With r_in_x, a
    // corrected group's R is already in x's buffer in parts (silu_mul's PartialR).
    std::optional<uint32_t> add_projection(vk::Graph& g, const DeviceProjection& p, const vk::Buffer& x,
                                           const vk::Buffer& y, uint32_t tokens, bool accumulate,
                                           const std::string& label, const DeviceProjection* next = nullptr,
                                           const ops::MatmulOptions::RParts* r_in_x = nullptr);
    // Whether down's R comes in parts from the SiLU dispatch (decode on CPU drivers).
    bool down_r_in_parts(const DeviceProjection& down, uint32_t tokens) const;
    // Whether o's B is copied after the layer's cache (o_b_in_cache), and whether o's R
    // comes in parts from attention (decode on CPU drivers, where that copy exists).
    bool o_b_in_cache(const DeviceProjection& o) const;
    bool o_r_in_parts(uint32_t layer, uint32_t tokens) const;
    bool folds_norm(const DeviceProjection& p, uint32_t tokens) const;
    // The options every weight product starts from (the int8 dot-product choice), so the
    // checks above ask about the kernel the product will run.
    ops::MatmulOptions product_options() const {
        ops::MatmulOptions o;
        o.int_dot = options_.int_dot;
        return o;
    }
    // Where act_ holds down's R in parts (after the chunk's activations, 16-byte aligned).
    uint32_t act_parts_word() const { return uint32_t(GQ_ALIGN_WORDS(uint64_t(options_.chunk) * cfg_.n_ff)); }
    // Where x_ holds x times the next norm's weights (16-byte aligned, after the stream);
    // the sums of squares follow from twice this word.
    uint32_t xg_word() const { return uint32_t(GQ_ALIGN_WORDS(uint64_t(options_.chunk) * cfg_.n_embd)); }
    std::optional<ops::LowrankInput> add_normed_projection(vk::Graph& g, const DeviceProjection& p,
                                                           const vk::Buffer& norm, const vk::Buffer& y,
                                                           uint32_t tokens, const std::string& label,
                                                           std::optional<uint32_t> pre_partials,
                                                           const ops::DeviceMoments* tap = nullptr);
    void check_tokens(const int32_t* tokens, uint32_t n) const;

    std::shared_ptr<const VulkanLlamaWeights> weights_;
    vk::Context& ctx_;
    VulkanModelOptions options_;
    const ModelConfig& cfg_;
    uint32_t max_context_ = 0;
    uint32_t cached_ = 0;  // positions currently valid in the KV cache
    const std::atomic<bool>* cancel_ = nullptr;
    vk::Stream stream_;
    vk::Allocator alloc_;
    // Per layer: K, then V from byte kv_half_bytes_, then with o_b_in_cache o's B from
    // word kv_b_word().
    std::vector<vk::Buffer> kv_;
    uint64_t kv_half_bytes_ = 0;
    uint64_t kv_b_word() const { return GQ_ALIGN_WORDS(2 * kv_half_bytes_ / 4); }
    // activations, sized for `chunk` tokens
    vk::Buffer tokens_, x_, xn_, qkv_, attn_, gate_up_, act_, logits_last_, logits_all_, lowrank_r_;
    uint32_t attn_scratch_word_ = 0;  // where attention's split scratch starts in attn_
    uint32_t attn_parts_word_ = 0;    // and o's R in parts after it (o_r_in_parts)
    uint32_t splits_ = 1;
    std::map<std::pair<uint32_t, int>, std::unique_ptr<vk::Graph>> graphs_;
    std::map<uint32_t, std::unique_ptr<vk::Graph>> profile_graphs_;  // profile_step's, by tokens
    std::map<uint32_t, std::unique_ptr<vk::Graph>> layer_graphs_;    // run_layer_calibration's, by layer
    std::vector<ops::DeviceMoments> moments_;                         // by TapPoint (calibration)
};

}  // namespace glowq

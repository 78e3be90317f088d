// A Llama-family model on a Vulkan device: int4/fp16 weights on the device, per-layer fp16
// KV caches, and the forward pass as command-buffer graphs. A graph is recorded once per
// (tokens per chunk, logits wanted) and replayed: decoding a token replays the T=1 graph
// with the position in its step buffer, with no re-recording and no allocation.
#pragma once
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/model/forward.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq {

struct VulkanModelOptions {
    uint32_t max_context = 2048;  // KV cache positions (capped by the model's trained context)
    uint32_t chunk = 128;         // prefill tokens per graph replay
};

// The modules of one input-sharing group, fused by rows, and the group's low-rank
// correction (B: R = X B^T once per group; A on the fused matrix) when it has one.
struct DeviceProjection {
    ops::DeviceMatrix w;
    ops::DeviceMatrix b;  // 0 rows: uncorrected
    bool corrected() const { return b.rows > 0; }
};

struct DeviceLayer {
    vk::Buffer attn_norm, ffn_norm;
    DeviceProjection qkv, o, gate_up, down;
    vk::Buffer kcache, vcache;
};

class VulkanLlama : public Forward {
public:
    VulkanLlama(vk::Context& ctx, const GgufFile& file, const VulkanModelOptions& options = {});
    ~VulkanLlama() override;

    const ModelConfig& config() const override { return cfg_; }
    uint32_t max_context() const override { return max_context_; }
    void eval(const int32_t* tokens, uint32_t n, uint32_t pos, float* logits, bool all_logits) override;

    uint64_t weight_bytes() const;      // device bytes of all weights, corrections included
    uint64_t correction_bytes() const;  // device bytes of the low-rank factors A and B
    // Frees the recorded graphs; the next eval records afresh (tests compare the two).
    void drop_graphs() { graphs_.clear(); }
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
    void add_projection(vk::Graph& g, const DeviceProjection& p, const vk::Buffer& x, const vk::Buffer& y,
                        uint32_t tokens, bool accumulate, const std::string& label);

    vk::Context& ctx_;
    VulkanModelOptions options_;
    ModelConfig cfg_;
    uint32_t max_context_ = 0;
    uint32_t cached_ = 0;  // positions currently valid in the KV cache
    vk::Allocator alloc_;
    ops::DeviceMatrix embed_, lm_head_own_;
    const ops::DeviceMatrix* lm_head_ = nullptr;  // &embed_ when the output is tied
    vk::Buffer out_norm_;
    std::vector<DeviceLayer> layers_;
    // activations, sized for `chunk` tokens
    vk::Buffer tokens_, x_, xn_, qkv_, attn_, partial_, gate_up_, act_, logits_, lowrank_r_;
    uint32_t splits_ = 1;
    std::map<std::pair<uint32_t, int>, std::unique_ptr<vk::Graph>> graphs_;
    std::map<uint32_t, std::unique_ptr<vk::Graph>> profile_graphs_;  // profile_step's, by tokens
};

}  // namespace glowq

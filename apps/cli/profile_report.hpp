// Where a decode step's GPU time goes, by kernel kind, from a profiled graph's timings,
// with the achieved GB/s of every weight product against the device's copy bandwidth.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "glowq/vk/graph.hpp"

namespace glowq::cli {

struct KindTime {
    std::string kind;  // "qkv:matmul_q4_gemv", "attn:attention", ...
    double ms = 0;
    int dispatches = 0;
    uint64_t weight_bytes = 0;  // 0 for kernels that read no weights
    double gbps() const { return ms > 0 ? double(weight_bytes) / (ms * 1e6) : 0.0; }
};

// Dispatches per layer (labels "L<n>.…"): the most any layer has, how many layers, and how
// many dispatches lie outside every layer (embedding, output norm and projection).
struct LayerDispatches {
    int most = 0, layers = 0, outside = 0;
};
LayerDispatches layer_dispatches(const std::vector<vk::NodeTiming>& timings);

// Sums node times by label with the layer prefix removed ("L3.qkv:x" -> "qkv:x"), largest first.
std::vector<KindTime> time_by_kind(const std::vector<vk::NodeTiming>& timings);
// copy_gbps > 0 adds each weight product's share of it.
void print_profile(FILE* out, const std::vector<vk::NodeTiming>& timings, double copy_gbps = 0);
// The same as a JSON object: {"step_ms":..,"dispatches":..,"dispatches_per_layer":..,"layers":..,
// "dispatches_outside_layers":..,"kinds":[{kind, ms, share, dispatches, weight_bytes, gbps}]}
std::string profile_json(const std::vector<vk::NodeTiming>& timings);

}  // namespace glowq::cli

// Where a decode step's GPU time goes, by kernel kind, from a profiled graph's timings.
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
};

// Sums node times by label with the layer prefix removed ("L3.qkv:x" -> "qkv:x"), largest first.
std::vector<KindTime> time_by_kind(const std::vector<vk::NodeTiming>& timings);
void print_profile(FILE* out, const std::vector<vk::NodeTiming>& timings);

}  // namespace glowq::cli

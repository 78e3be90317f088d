// Timing graphs with GPU timestamps, and the device's copy bandwidth: the yardstick the
// benchmarks compare every weight product's GB/s against, measured in the same run.
#pragma once
#include <cstdint>

#include "glowq/vk/context.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/memory.hpp"
#include "stats.hpp"

namespace glowq::cli {

// Runs a profiled graph warmup + reps times; a sample is the sum of its nodes' times.
Stats time_graph(vk::Graph& g, int warmup, int reps);

// Bytes read + written per second by a copy of `bytes` bytes (median over reps); the
// timing statistics go to st. Use a buffer well over the device's cache size.
double copy_bandwidth_gbps(vk::Context& ctx, vk::Allocator& alloc, uint64_t bytes, int warmup, int reps, Stats& st);

}  // namespace glowq::cli

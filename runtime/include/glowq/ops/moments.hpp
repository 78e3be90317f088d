// The quantizer's calibration sums on a device (GLOWQ.md section 4; second_moments.comp):
// for a group input of width dim, S = sum over tokens of x x^T in fp32 (its tiles on and
// below the diagonal) and a = sum of |x|. S is held in row slices, each within one binding's
// range: an 11008-wide S is 485 MB, and a binding is only guaranteed 128 MiB.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "glowq/vk/graph.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq::ops {

struct DeviceMoments {
    uint32_t dim = 0;
    uint32_t slice_rows = 0;          // rows per slice (the last may hold fewer), a tile multiple
    std::vector<vk::Buffer> slices;   // slice k: rows [k * slice_rows, ...) of S, dim floats each
    vk::Buffer abs_sum;               // dim floats
};

// Slices of at most max_slice_bytes (0: the device's binding range, at most 2 GiB; tests
// ask for less, to have several). Throws Error(Unsupported) where one tile of rows exceeds a binding.
DeviceMoments allocate_moments(vk::Allocator& alloc, uint32_t dim, uint64_t max_slice_bytes = 0);

// Adds the sums over the first n_tokens rows of x (dim floats each, from word 0) to m, or
// replaces them where step word GQ_STEP_MOMENTS_ADD is 0: a dispatch per slice.
std::vector<vk::Dispatch> accumulate_moments(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& x,
                                             uint32_t n_tokens, const DeviceMoments& m);

// Reads the sums back: slice(row0, rows, s) for the rows in order, a piece of at most
// 64 MiB at a time (rows x dim floats, valid on and below the diagonal: columns j <= row),
// then abs_out (dim floats).
using MomentsSlice = std::function<void(uint32_t row0, uint32_t rows, const float* s)>;
void read_moments(vk::Allocator& alloc, const DeviceMoments& m, const MomentsSlice& slice, float* abs_out);

}  // namespace glowq::ops

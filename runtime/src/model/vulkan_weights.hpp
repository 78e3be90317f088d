// Internal: GGUF tensors to device matrices. q/k/v and gate/up are fused by rows; in GlowQ
// files (loader/include/glowq/loader/glowq_format.hpp) a group's low-rank correction comes
// along: B for R = X B^T, and A on the fused matrix.
#pragma once
#include <string>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/ops/matmul.hpp"

namespace glowq {

// Uploads the named tensors stacked by rows as one matrix: int4 when every part imports
// to int4 with one group size (Q4_0/Q4_1 exactly), else fp16.
ops::DeviceMatrix upload_stacked(vk::Allocator& alloc, const GgufFile& file, const std::vector<std::string>& names);

// The modules of one input-sharing group, fused, with their correction if the file has one.
struct Projection {
    ops::DeviceMatrix w;
    ops::DeviceMatrix b;  // rows = R columns (0 rows: no correction)
    bool corrected() const { return b.rows > 0; }
};

// Layer `layer`'s modules (llama.cpp names, e.g. {"attn_q","attn_k","attn_v"}) reading
// `cols` inputs: from `.weight` tensors in llama.cpp files, from `.q4/.scale/.offset`
// (+ `.lr_a`/`.lr_b`) in GlowQ files.
Projection upload_projection(vk::Allocator& alloc, const GgufFile& file, uint32_t layer,
                             const std::vector<std::string>& modules, uint32_t cols);

// An fp32 vector tensor (norm weights), checked to hold `expect` values; and on the device.
std::vector<float> read_vector(const GgufFile& file, const std::string& name, uint32_t expect);
vk::Buffer upload_vector(vk::Allocator& alloc, const GgufFile& file, const std::string& name, uint32_t expect);

}  // namespace glowq

// Internal: GGUF tensors to device matrices (q/k/v and gate/up fused by rows).
#pragma once
#include <string>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/ops/matmul.hpp"

namespace glowq {

// Uploads the named tensors stacked by rows as one matrix: int4 when every part imports
// to int4 with one group size (Q4_0/Q4_1 exactly), else fp16.
ops::DeviceMatrix upload_stacked(vk::Allocator& alloc, const GgufFile& file, const std::vector<std::string>& names);

// An fp32 vector tensor (norm weights) on the device.
vk::Buffer upload_vector(vk::Allocator& alloc, const GgufFile& file, const std::string& name, uint32_t expect);

}  // namespace glowq

// What a Vulkan device can do, as glowq needs to know it: read once at device selection,
// printed by `glowq info`, and used to pick kernel variants and workgroup shapes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace glowq::vk {

struct MemoryHeapInfo {
    uint64_t size = 0;
    bool device_local = false;
    bool host_visible = false;  // some memory type of this heap is host-visible
};

struct DeviceCaps {
    uint32_t index = 0;
    std::string name;
    std::string type;  // discrete, integrated, virtual, cpu, other
    uint32_t vendor_id = 0, device_id = 0;
    std::string vendor;
    uint32_t api_version = 0;
    uint32_t driver_version = 0;
    std::string driver_name, driver_info;  // empty before Vulkan 1.2

    uint32_t subgroup_size = 0;
    uint32_t subgroup_min_size = 0, subgroup_max_size = 0;  // equal unless size control
    bool subgroup_size_control = false;
    bool subgroup_basic = false, subgroup_arithmetic = false, subgroup_shuffle = false,
         subgroup_ballot = false;  // in compute shaders

    uint32_t max_shared_memory = 0;
    uint32_t max_workgroup_invocations = 0;
    uint32_t max_workgroup_size[3] = {0, 0, 0};
    uint32_t max_workgroup_count[3] = {0, 0, 0};
    uint64_t max_storage_buffer_range = 0;
    uint64_t min_storage_buffer_offset_alignment = 0;
    uint32_t max_push_constants = 0;
    uint32_t max_storage_buffers_per_stage = 0;  // maxPerStageDescriptorStorageBuffers
    uint32_t max_memory_allocations = 0;         // maxMemoryAllocationCount

    bool storage_buffer_16bit = false, storage_buffer_8bit = false;
    bool shader_float16 = false, shader_int8 = false, shader_int16 = false, shader_int64 = false;
    bool integer_dot_product = false;  // VK_KHR_shader_integer_dot_product
    bool integer_dot_product_4x8_accelerated = false;
    bool cooperative_matrix = false;   // VK_KHR_cooperative_matrix (none of glowq's kernels use it yet)
    bool half_conversion = true;       // the driver's packHalf2x16/unpackHalf2x16 work (driver_quirks.hpp)

    bool timestamps = false;  // compute queue writes timestamps
    float timestamp_period_ns = 0.0f;
    uint32_t timestamp_valid_bits = 0;

    bool unified_memory = false;  // device-local memory that the host can map
    std::vector<MemoryHeapInfo> heaps;

    // What glowq turned off or lowered below what the driver reports, and why: a limits
    // profile, a driver quirk (with its source) or an option.
    std::vector<std::string> adjustments;

    std::string api_version_string() const;
    std::string to_text() const;  // the human report of `glowq info`
    std::string to_json() const;
};

}  // namespace glowq::vk

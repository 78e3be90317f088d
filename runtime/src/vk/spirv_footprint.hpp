// What a compute shader asks of a device, read from its SPIR-V with the specialization
// constants applied: workgroup size, shared memory, storage-buffer bindings and the
// capabilities that map to optional features. Kernel creation checks it against the
// device's (possibly lowered) capabilities, so a kernel outside a limits profile fails
// on the machine that tests it instead of on the phone that runs it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/vk/device_caps.hpp"

namespace glowq::vk {

struct ShaderFootprint {
    uint32_t local_size[3] = {1, 1, 1};
    uint64_t shared_bytes = 0;      // Workgroup variables, packed (scalars 4 bytes)
    uint32_t storage_buffers = 0;   // distinct bindings of storage-buffer variables
    bool subgroup_basic = false, subgroup_arithmetic = false, subgroup_shuffle = false, subgroup_ballot = false;
    bool float16 = false, int8 = false, int16 = false, int64 = false;
    bool storage16 = false, storage8 = false, integer_dot = false, cooperative_matrix = false;

    uint32_t invocations() const { return local_size[0] * local_size[1] * local_size[2]; }
};

// Throws glowq::Error (Internal) on SPIR-V it cannot read or a specialization expression
// it cannot evaluate. spec[i] is the value of constant_id i.
ShaderFootprint spirv_footprint(const uint32_t* words, size_t count, const std::vector<uint32_t>& spec);

// Empty if the device can run it; else what it lacks, one reason per entry.
std::vector<std::string> footprint_violations(const ShaderFootprint& f, const DeviceCaps& caps);

}  // namespace glowq::vk

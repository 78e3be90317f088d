// What glowq lets itself use on a device: the driver's report, lowered by a limits profile
// (the Android baseline), by known driver bugs (driver_quirks.hpp) and by options that force
// features off. Kernels and workgroup shapes are chosen from the result alone, and every
// pipeline is checked against it when it is created (kernel.cpp), so a kernel that would
// exceed a profile's limits fails on the machine that tests it, not on a phone.
#pragma once
#include <cstdint>
#include <string>

#include "glowq/vk/device_caps.hpp"

namespace glowq::vk {

enum class LimitsProfile {
    Device,           // what the driver reports
    AndroidBaseline,  // what the Android Baseline Profile 2022 guarantees on every Android 10+ device
};

// Features that can be forced off (a bit mask; the C API's GLOWQ_FEATURE_* have the same values).
enum Feature : uint32_t {
    kFeatureSubgroupOps = 1u << 0,        // every subgroup operation
    kFeatureFp16Math = 1u << 1,           // shaderFloat16
    kFeatureStorage16 = 1u << 2,          // 16-bit storage buffer access
    kFeatureStorage8 = 1u << 3,           // 8-bit storage buffer access
    kFeatureIntegerDot = 1u << 4,         // VK_KHR_shader_integer_dot_product
    kFeatureCooperativeMatrix = 1u << 5,  // VK_KHR_cooperative_matrix
    kFeatureSubgroupSize = 1u << 6,       // trusting the reported subgroup size
    kFeatureHalfConversion = 1u << 7,     // the driver's fp16 pack/unpack (else shaders convert in software)
    kFeatureAll = (1u << 8) - 1,
};

// The Android Baseline Profile 2022's compute limits (VP_ANDROID_baseline_2022), which
// kernels are designed to (docs/android.md).
struct AndroidBaselineLimits {
    static constexpr uint32_t shared_memory = 16384;
    static constexpr uint32_t workgroup_invocations = 128;
    static constexpr uint32_t workgroup_size[3] = {128, 128, 64};
    static constexpr uint32_t storage_buffers_per_stage = 4;
    static constexpr uint64_t storage_buffer_range = uint64_t(128) << 20;
    static constexpr uint64_t storage_buffer_offset_alignment = 256;
    static constexpr uint32_t memory_allocations = 4096;
    static constexpr uint32_t push_constants = 128;
};

// The features of the mask that caps has.
uint32_t features_present(const DeviceCaps& caps);

void apply_limits_profile(DeviceCaps& caps, LimitsProfile profile);
// Turns off the features in `mask` that caps has, noting `why` in caps.adjustments.
void disable_features(DeviceCaps& caps, uint32_t mask, const std::string& why);
// The names of the features in a mask, comma-separated ("subgroup ops, fp16 math").
std::string feature_names(uint32_t mask);

// A comma-separated list of feature keys (subgroup-ops, fp16-math, storage16, storage8,
// integer-dot, cooperative-matrix, subgroup-size, fp16-conversion) as a mask; false if a key
// is unknown.
bool parse_feature_keys(const std::string& list, uint32_t& mask);

const char* limits_profile_name(LimitsProfile profile);  // "device", "android-baseline"
// Parses a profile name; false if it is none.
bool parse_limits_profile(const std::string& name, LimitsProfile& out);

}  // namespace glowq::vk

// Limits profiles and forced-off features, applied to a device's capabilities.
#include "glowq/vk/device_profile.hpp"

#include <algorithm>
#include <iterator>

namespace glowq::vk {

constexpr uint32_t AndroidBaselineLimits::workgroup_size[3];

uint32_t features_present(const DeviceCaps& c) {
    uint32_t m = 0;
    if (c.subgroup_basic || c.subgroup_arithmetic || c.subgroup_shuffle || c.subgroup_ballot) m |= kFeatureSubgroupOps;
    if (c.shader_float16) m |= kFeatureFp16Math;
    if (c.storage_buffer_16bit) m |= kFeatureStorage16;
    if (c.storage_buffer_8bit) m |= kFeatureStorage8;
    if (c.integer_dot_product) m |= kFeatureIntegerDot;
    if (c.cooperative_matrix) m |= kFeatureCooperativeMatrix;
    if (c.subgroup_size > 0 && (c.subgroup_min_size > 1 || c.subgroup_size_control)) m |= kFeatureSubgroupSize;
    if (c.half_conversion) m |= kFeatureHalfConversion;
    return m;
}

std::string feature_names(uint32_t mask) {
    static const char* names[] = {"subgroup ops",  "fp16 math",          "16-bit storage", "8-bit storage",
                                  "integer dot product", "cooperative matrix", "reported subgroup size",
                                  "fp16 conversion"};
    std::string out;
    for (uint32_t i = 0; i < 8; ++i)
        if (mask & (1u << i)) out += (out.empty() ? "" : ", ") + std::string(names[i]);
    return out;
}

void disable_features(DeviceCaps& c, uint32_t mask, const std::string& why) {
    const uint32_t off = mask & features_present(c);
    if (!off) return;
    if (off & kFeatureSubgroupOps) {
        c.subgroup_basic = c.subgroup_arithmetic = c.subgroup_shuffle = c.subgroup_ballot = false;
        c.subgroup_size_control = false;
    }
    if (off & kFeatureFp16Math) c.shader_float16 = false;
    if (off & kFeatureStorage16) c.storage_buffer_16bit = false;
    if (off & kFeatureStorage8) c.storage_buffer_8bit = false;
    if (off & kFeatureIntegerDot) c.integer_dot_product = c.integer_dot_product_4x8_accelerated = false;
    if (off & kFeatureCooperativeMatrix) c.cooperative_matrix = false;
    if (off & kFeatureHalfConversion) c.half_conversion = false;
    if (off & kFeatureSubgroupSize) {
        // Kernels whose grid depends on the subgroup size need min == max == size: say the
        // size may be anything from 1 to 128 lanes.
        c.subgroup_size_control = false;
        c.subgroup_min_size = 1;
        c.subgroup_max_size = std::max<uint32_t>(128, c.subgroup_size);
    }
    c.adjustments.push_back(feature_names(off) + " off: " + why);
}

void apply_limits_profile(DeviceCaps& c, LimitsProfile profile) {
    if (profile == LimitsProfile::Device) return;
    using B = AndroidBaselineLimits;
    c.max_shared_memory = std::min(c.max_shared_memory, B::shared_memory);
    c.max_workgroup_invocations = std::min(c.max_workgroup_invocations, B::workgroup_invocations);
    for (int i = 0; i < 3; ++i) c.max_workgroup_size[i] = std::min(c.max_workgroup_size[i], B::workgroup_size[i]);
    c.max_storage_buffers_per_stage = std::min(c.max_storage_buffers_per_stage, B::storage_buffers_per_stage);
    c.max_storage_buffer_range = std::min(c.max_storage_buffer_range, B::storage_buffer_range);
    c.min_storage_buffer_offset_alignment = std::max(c.min_storage_buffer_offset_alignment, B::storage_buffer_offset_alignment);
    c.max_memory_allocations = std::min(c.max_memory_allocations, B::memory_allocations);
    c.max_push_constants = std::min(c.max_push_constants, B::push_constants);
    c.shader_int8 = c.shader_int16 = c.shader_int64 = false;  // 32-bit integers only
    c.adjustments.push_back("limits lowered to the Android Baseline Profile 2022 (16 KiB shared memory, 128 "
                            "invocations, 4 storage buffers per stage, 128 MiB ranges, 4096 allocations, "
                            "no 8/16/64-bit integers)");
    disable_features(c, kFeatureSubgroupOps | kFeatureFp16Math | kFeatureStorage16 | kFeatureStorage8 |
                            kFeatureIntegerDot | kFeatureCooperativeMatrix,
                     "not guaranteed by the Android Baseline Profile 2022");
}

const char* limits_profile_name(LimitsProfile p) {
    return p == LimitsProfile::AndroidBaseline ? "android-baseline" : "device";
}

bool parse_feature_keys(const std::string& list, uint32_t& mask) {
    static const char* keys[] = {"subgroup-ops",       "fp16-math",     "storage16",      "storage8", "integer-dot",
                                 "cooperative-matrix", "subgroup-size", "fp16-conversion"};
    mask = 0;
    size_t at = 0;
    while (at <= list.size()) {
        const size_t end = std::min(list.find(',', at), list.size());
        const std::string key = list.substr(at, end - at);
        const auto* k = std::find(std::begin(keys), std::end(keys), key);
        if (k == std::end(keys)) return false;
        mask |= 1u << (k - std::begin(keys));
        at = end + 1;
    }
    return true;
}

bool parse_limits_profile(const std::string& name, LimitsProfile& out) {
    if (name == "device") out = LimitsProfile::Device;
    else if (name == "android-baseline") out = LimitsProfile::AndroidBaseline;
    else return false;
    return true;
}

}  // namespace glowq::vk

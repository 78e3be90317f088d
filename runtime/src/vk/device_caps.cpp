// Reads a physical device's capabilities (only the structures its API version or
// extensions promise, so old drivers are not handed unknown sTypes) and formats them.
#include "glowq/vk/device_caps.hpp"

#include <vulkan/vulkan.h>

#include <cstring>
#include <sstream>

#include "device_caps_query.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq::vk {

static bool has_extension(VkPhysicalDevice pd, const char* name) {
    uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> exts(count);
    vkEnumerateDeviceExtensionProperties(pd, nullptr, &count, exts.data());
    for (const auto& e : exts)
        if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

static std::string vendor_name(uint32_t id) {
    switch (id) {
        case 0x1002: return "AMD";
        case 0x10DE: return "NVIDIA";
        case 0x8086: return "Intel";
        case 0x13B5: return "ARM";
        case 0x5143: return "Qualcomm";
        case 0x1010: return "ImgTec";
        case 0x106B: return "Apple";
        case 0x10005: return "Mesa";
        default: return "unknown";
    }
}

static const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
        default: return "other";
    }
}

DeviceCaps query_device_caps(VkPhysicalDevice pd, uint32_t index, uint32_t instance_api) {
    DeviceCaps c;
    c.index = index;
    VkPhysicalDeviceProperties base{};
    vkGetPhysicalDeviceProperties(pd, &base);
    const uint32_t api = std::min(base.apiVersion, instance_api);
    const bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
    const bool size_ctl_ext = v13 || has_extension(pd, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    const bool dot_ext = v13 || has_extension(pd, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);

    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceSubgroupSizeControlPropertiesEXT size_ctl{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
    VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR dot_props{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
    props.pNext = &subgroup;
    void** tail = &subgroup.pNext;
    if (size_ctl_ext) { *tail = &size_ctl; tail = &size_ctl.pNext; }
    if (v12) { *tail = &driver; tail = &driver.pNext; }
    if (dot_ext) { *tail = &dot_props; tail = &dot_props.pNext; }
    vkGetPhysicalDeviceProperties2(pd, &props);

    VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    VkPhysicalDevice16BitStorageFeatures f16s{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDevice8BitStorageFeatures f8s{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
    VkPhysicalDeviceShaderFloat16Int8Features f16i8{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDeviceSubgroupSizeControlFeaturesEXT size_feat{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
    VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot_feat{
        VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
    feats.pNext = &f16s;
    tail = &f16s.pNext;
    if (v12) {
        *tail = &f8s; tail = &f8s.pNext;
        *tail = &f16i8; tail = &f16i8.pNext;
    }
    if (size_ctl_ext) { *tail = &size_feat; tail = &size_feat.pNext; }
    if (dot_ext) { *tail = &dot_feat; tail = &dot_feat.pNext; }
    vkGetPhysicalDeviceFeatures2(pd, &feats);

    c.name = base.deviceName;
    c.type = type_name(base.deviceType);
    c.vendor_id = base.vendorID;
    c.device_id = base.deviceID;
    c.vendor = vendor_name(base.vendorID);
    c.api_version = base.apiVersion;
    c.driver_version = base.driverVersion;
    if (v12) {
        c.driver_name = driver.driverName;
        c.driver_info = driver.driverInfo;
    }
    c.subgroup_size = subgroup.subgroupSize;
    c.subgroup_min_size = c.subgroup_max_size = subgroup.subgroupSize;
    if (size_ctl_ext && size_feat.subgroupSizeControl && size_feat.computeFullSubgroups &&
        (size_ctl.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT)) {
        c.subgroup_size_control = true;
        c.subgroup_min_size = size_ctl.minSubgroupSize;
        c.subgroup_max_size = size_ctl.maxSubgroupSize;
    }
    const bool in_compute = subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT;
    c.subgroup_basic = in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
    c.subgroup_arithmetic = in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    c.subgroup_shuffle = in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
    c.subgroup_ballot = in_compute && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT);

    const VkPhysicalDeviceLimits& lim = base.limits;
    c.max_shared_memory = lim.maxComputeSharedMemorySize;
    c.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; ++i) {
        c.max_workgroup_size[i] = lim.maxComputeWorkGroupSize[i];
        c.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
    }
    c.max_storage_buffer_range = lim.maxStorageBufferRange;
    c.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
    c.max_push_constants = lim.maxPushConstantsSize;
    c.max_storage_buffers_per_stage = lim.maxPerStageDescriptorStorageBuffers;
    c.max_memory_allocations = lim.maxMemoryAllocationCount;
    c.cooperative_matrix = has_extension(pd, "VK_KHR_cooperative_matrix");

    c.storage_buffer_16bit = f16s.storageBuffer16BitAccess;
    c.storage_buffer_8bit = v12 && f8s.storageBuffer8BitAccess;
    c.shader_float16 = v12 && f16i8.shaderFloat16;
    c.shader_int8 = v12 && f16i8.shaderInt8;
    c.shader_int16 = feats.features.shaderInt16;
    c.shader_int64 = feats.features.shaderInt64;
    c.integer_dot_product = dot_ext && dot_feat.shaderIntegerDotProduct;
    c.integer_dot_product_4x8_accelerated =
        c.integer_dot_product && dot_props.integerDotProduct4x8BitPackedSignedAccelerated;

    uint32_t qcount = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qcount, nullptr);
    std::vector<VkQueueFamilyProperties> queues(qcount);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &qcount, queues.data());
    for (const auto& q : queues)
        if ((q.queueFlags & VK_QUEUE_COMPUTE_BIT) && q.timestampValidBits > 0) {
            c.timestamps = true;
            c.timestamp_valid_bits = q.timestampValidBits;
            break;
        }
    c.timestamp_period_ns = lim.timestampPeriod;

    VkPhysicalDeviceMemoryProperties mem{};
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    c.heaps.resize(mem.memoryHeapCount);
    for (uint32_t h = 0; h < mem.memoryHeapCount; ++h) {
        c.heaps[h].size = mem.memoryHeaps[h].size;
        c.heaps[h].device_local = mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    }
    const VkMemoryPropertyFlags unified = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                          VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    for (uint32_t t = 0; t < mem.memoryTypeCount; ++t) {
        const auto flags = mem.memoryTypes[t].propertyFlags;
        if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) c.heaps[mem.memoryTypes[t].heapIndex].host_visible = true;
        // A discrete GPU's small host-visible BAR window is not unified memory.
        if ((flags & unified) == unified && base.deviceType != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)
            c.unified_memory = true;
    }
    return c;
}

std::string DeviceCaps::api_version_string() const {
    std::ostringstream s;
    s << VK_API_VERSION_MAJOR(api_version) << "." << VK_API_VERSION_MINOR(api_version) << "."
      << VK_API_VERSION_PATCH(api_version);
    return s.str();
}

static const char* yes(bool b) { return b ? "yes" : "no"; }


std::string DeviceCaps::to_text() const {
    std::ostringstream s;
    s << "[" << index << "] " << name << "  (" << type << ", " << vendor << " 0x" << std::hex
      << vendor_id << ":0x" << device_id << std::dec << ")\n";
    s << "    Vulkan " << api_version_string() << ", driver "
      << (driver_name.empty() ? std::to_string(driver_version) : driver_name + " " + driver_info) << "\n";
    s << "    subgroup: size " << subgroup_size;
    if (subgroup_size_control) s << " (control " << subgroup_min_size << ".." << subgroup_max_size << ")";
    s << ", basic " << yes(subgroup_basic) << ", arithmetic " << yes(subgroup_arithmetic)
      << ", shuffle " << yes(subgroup_shuffle) << ", ballot " << yes(subgroup_ballot) << "\n";
    s << "    workgroup: " << max_workgroup_invocations << " invocations, size " << max_workgroup_size[0]
      << "x" << max_workgroup_size[1] << "x" << max_workgroup_size[2] << ", shared memory "
      << max_shared_memory / 1024 << " KiB\n";
    s << "    storage buffer range " << format_mib(max_storage_buffer_range) << ", offset alignment "
      << min_storage_buffer_offset_alignment << ", " << max_storage_buffers_per_stage
      << " per stage, push constants " << max_push_constants << " B, " << max_memory_allocations
      << " allocations\n";
    s << "    16-bit storage " << yes(storage_buffer_16bit) << ", 8-bit storage " << yes(storage_buffer_8bit)
      << ", fp16 math " << yes(shader_float16) << ", int8 math " << yes(shader_int8) << ", int16 "
      << yes(shader_int16) << ", int64 " << yes(shader_int64) << "\n";
    s << "    integer dot product " << yes(integer_dot_product) << " (4x8 packed accelerated "
      << yes(integer_dot_product_4x8_accelerated) << "), cooperative matrix " << yes(cooperative_matrix) << "\n";
    s << "    timestamps " << yes(timestamps);
    if (timestamps) s << " (" << timestamp_valid_bits << " bits, " << timestamp_period_ns << " ns/tick)";
    s << ", unified memory " << yes(unified_memory) << "\n";
    for (size_t h = 0; h < heaps.size(); ++h)
        s << "    heap " << h << ": " << format_mib(heaps[h].size) << (heaps[h].device_local ? ", device-local" : "")
          << (heaps[h].host_visible ? ", host-visible" : "") << "\n";
    for (const auto& a : adjustments) s << "    adjusted: " << a << "\n";
    return s.str();
}

static std::string json_string(const std::string& v) {
    std::string out = "\"";
    for (char ch : v) {
        if (ch == '"' || ch == '\\') { out += '\\'; out += ch; }
        else if (static_cast<unsigned char>(ch) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", ch);
            out += buf;
        } else out += ch;
    }
    return out + "\"";
}

std::string DeviceCaps::to_json() const {
    std::ostringstream s;
    s << "{\"index\":" << index << ",\"name\":" << json_string(name) << ",\"type\":" << json_string(type)
      << ",\"vendor\":" << json_string(vendor) << ",\"vendor_id\":" << vendor_id << ",\"device_id\":" << device_id
      << ",\"api_version\":" << json_string(api_version_string()) << ",\"driver_version\":" << driver_version
      << ",\"driver_name\":" << json_string(driver_name) << ",\"driver_info\":" << json_string(driver_info)
      << ",\"subgroup_size\":" << subgroup_size << ",\"subgroup_min_size\":" << subgroup_min_size
      << ",\"subgroup_max_size\":" << subgroup_max_size
      << ",\"subgroup_size_control\":" << (subgroup_size_control ? "true" : "false")
      << ",\"subgroup_arithmetic\":" << (subgroup_arithmetic ? "true" : "false")
      << ",\"subgroup_shuffle\":" << (subgroup_shuffle ? "true" : "false")
      << ",\"max_shared_memory\":" << max_shared_memory
      << ",\"max_workgroup_invocations\":" << max_workgroup_invocations
      << ",\"max_storage_buffer_range\":" << max_storage_buffer_range
      << ",\"storage_buffer_16bit\":" << (storage_buffer_16bit ? "true" : "false")
      << ",\"storage_buffer_8bit\":" << (storage_buffer_8bit ? "true" : "false")
      << ",\"shader_float16\":" << (shader_float16 ? "true" : "false")
      << ",\"shader_int8\":" << (shader_int8 ? "true" : "false")
      << ",\"integer_dot_product\":" << (integer_dot_product ? "true" : "false")
      << ",\"timestamps\":" << (timestamps ? "true" : "false")
      << ",\"timestamp_period_ns\":" << timestamp_period_ns
      << ",\"max_storage_buffers_per_stage\":" << max_storage_buffers_per_stage
      << ",\"max_memory_allocations\":" << max_memory_allocations
      << ",\"cooperative_matrix\":" << (cooperative_matrix ? "true" : "false")
      << ",\"unified_memory\":" << (unified_memory ? "true" : "false") << ",\"adjustments\":[";
    for (size_t i = 0; i < adjustments.size(); ++i) s << (i ? "," : "") << json_string(adjustments[i]);
    s << "],\"heaps\":[";
    for (size_t h = 0; h < heaps.size(); ++h)
        s << (h ? "," : "") << "{\"size\":" << heaps[h].size
          << ",\"device_local\":" << (heaps[h].device_local ? "true" : "false") << "}";
    s << "]}";
    return s.str();
}

}  // namespace glowq::vk

// Known driver bugs, keyed on vendor, device and driver version, in the manner of ncnn's
// gpu.cpp: each entry names the features that are broken there and the public report that
// shows it. The Context applies the matching entries to the device's capabilities before
// any kernel is chosen (ContextOptions::driver_quirks turns this off for experiments).
#pragma once
#include <cstdint>
#include <vector>

#include "glowq/vk/device_caps.hpp"

namespace glowq::vk {

struct DriverQuirk {
    uint32_t vendor_id = 0;
    const char* device_name = nullptr;  // case-insensitive substring of deviceName; null: any
    // Case-insensitive substrings of VkPhysicalDeviceDriverProperties::driverName (Vulkan
    // 1.2): the entry needs driver_name in it, and applies unless unless_driver is in it.
    // A driver that does not say its name (before 1.2) is taken as the vendor's own.
    const char* driver_name = nullptr;
    const char* unless_driver = nullptr;
    // Applies while the driver's version is below this (VkPhysicalDeviceProperties::
    // driverVersion, in the vendor's own encoding); 0: every version.
    uint32_t driver_below = 0;
    // Applies while the device reports a Vulkan version below this; 0: any.
    uint32_t api_below = 0;
    uint32_t when_lacking = 0;  // applies only if the device lacks all of these (vk::Feature mask)
    uint32_t features_off = 0;  // vk::Feature mask
    const char* problem = "";
    const char* source = "";    // a public report (URL)
    // Non-null: only where glowq itself runs on this CPU architecture ("aarch64"), for
    // drivers that compile shaders for the host CPU (llvmpipe).
    const char* host_arch = nullptr;
};

const std::vector<DriverQuirk>& driver_quirks();
std::vector<const DriverQuirk*> matching_quirks(const DeviceCaps& caps);
// Turns off what the matching entries list, noting each in caps.adjustments.
void apply_driver_quirks(DeviceCaps& caps);

}  // namespace glowq::vk

// Internal: capability query used by list_devices() and Context.
#pragma once
#include <vulkan/vulkan.h>

#include "glowq/vk/device_caps.hpp"

namespace glowq::vk {
DeviceCaps query_device_caps(VkPhysicalDevice pd, uint32_t index, uint32_t instance_api);
}

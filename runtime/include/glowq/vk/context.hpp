// The Vulkan context: instance (with the Khronos validation layer on request), the chosen
// physical device and its capabilities, one compute queue, and the pipeline cache.
// Everything glowq does on the GPU goes through one Context; nothing is global.
#pragma once
#include <vulkan/vulkan.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "glowq/vk/device_caps.hpp"

namespace glowq::vk {

enum class LogLevel { Debug, Info, Warning, Error };
using LogFn = std::function<void(LogLevel, const std::string&)>;

struct ContextOptions {
    // Turn on VK_LAYER_KHRONOS_validation (with synchronization validation). The
    // environment variable GLOWQ_VALIDATION=1 forces it on; then a missing layer is an error.
    bool validation = false;
    // Device by index ("1") or case-insensitive name substring ("llvmpipe"). Empty: the
    // environment variable GLOWQ_DEVICE, else the first discrete GPU, else integrated, ...
    std::string device;
    LogFn log;  // the library never prints on its own
};

// Devices visible to the Vulkan loader, without creating a logical device.
std::vector<DeviceCaps> list_devices();

class Kernel;
struct KernelDesc;

class Context {
public:
    explicit Context(const ContextOptions& options = {});
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    const DeviceCaps& caps() const { return caps_; }
    VkDevice device() const { return device_; }
    VkPhysicalDevice physical_device() const { return physical_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return queue_family_; }
    bool validation_enabled() const { return validation_; }

    // Validation messages (warnings and errors) seen since creation or the last clear.
    std::vector<std::string> validation_messages() const;
    void clear_validation_messages();

    // Compiled pipelines are cached per (shader, specialization constants).
    Kernel& kernel(const KernelDesc& desc);

    // Records commands into a one-time command buffer, submits it and waits.
    void submit_and_wait(const std::function<void(VkCommandBuffer)>& record);
    // Submits a pre-recorded command buffer and waits for it.
    void submit_and_wait(VkCommandBuffer cmd);

    VkCommandPool command_pool() const { return command_pool_; }
    void log(LogLevel level, const std::string& message) const;

private:
    void release();
    static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
        VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
        const VkDebugUtilsMessengerCallbackDataEXT* data, void* user);

    LogFn log_;
    bool validation_ = false;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool command_pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    DeviceCaps caps_;

    mutable std::mutex messages_mutex_;
    std::vector<std::string> messages_;
    std::map<std::string, std::unique_ptr<Kernel>> kernels_;
};

// Throws glowq::Error naming the failed call when result is not VK_SUCCESS.
void check(VkResult result, const char* what);
const char* result_name(VkResult result);

}  // namespace glowq::vk

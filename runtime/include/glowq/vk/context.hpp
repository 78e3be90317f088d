// The Vulkan context: instance (with the Khronos validation layer on request), the chosen
// physical device and its capabilities, one compute queue, and the pipeline cache; or the
// same adopted from a host application that renders with Vulkan. Everything glowq does on
// the GPU goes through one Context; nothing is global, nothing is read from the
// environment (programs map their variables to ContextOptions).
//
// Thread safety: the kernel cache and every queue submit are locked, so any number of
// threads may build graphs and submit through one Context. Command pools are not
// thread-safe in Vulkan: each thread that records and submits on its own uses its own
// Stream; the context's default stream serializes its users.
#pragma once
#include <vulkan/vulkan.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "glowq/vk/device_caps.hpp"
#include "glowq/vk/device_profile.hpp"

namespace glowq::vk {

enum class LogLevel { Debug, Info, Warning, Error };
using LogFn = std::function<void(LogLevel, const std::string&)>;

// A host application's device, adopted instead of creating one. The context destroys
// none of these handles. lock/unlock (both or neither) are the host's lock around every
// use of the queue: the context takes it around each submit.
struct AdoptedDevice {
    VkInstance instance = VK_NULL_HANDLE;
    VkPhysicalDevice physical = VK_NULL_HANDLE;
    VkDevice device = VK_NULL_HANDLE;
    VkQueue queue = VK_NULL_HANDLE;
    uint32_t queue_family = 0;
    std::function<void()> lock, unlock;
};

struct ContextOptions {
    // Turn on VK_LAYER_KHRONOS_validation (with synchronization validation). A missing
    // layer is logged and ignored, or an error when validation_required is set.
    bool validation = false;
    bool validation_required = false;
    // Device by index ("1") or case-insensitive name substring ("llvmpipe"). Empty: the
    // first discrete GPU, else integrated, virtual, cpu.
    std::string device;
    LogFn log;  // the library never prints on its own
    // Set: use the host's device (device and validation above are then ignored).
    std::shared_ptr<AdoptedDevice> adopt;
    // Use no more than this profile guarantees (also on an adopted device).
    LimitsProfile limits = LimitsProfile::Device;
    // Features (a mask of vk::Feature) to leave unused whatever the device reports.
    uint32_t disable_features = 0;
    // Turn off what driver_quirks.hpp lists as broken on this device and driver.
    bool driver_quirks = true;
};

// Devices visible to the Vulkan loader, without creating a logical device: as the driver
// reports them (apply_policy gives what a Context with given options would use).
std::vector<DeviceCaps> list_devices();
// Driver quirks, the limits profile and forced-off features, as a Context applies them.
void apply_policy(DeviceCaps& caps, const ContextOptions& options);

class Kernel;
struct KernelDesc;
class Context;

// A command pool and a fence: what one thread needs to record and submit on its own.
// Its users are serialized by its mutex (recording, submitting and waiting).
class Stream {
public:
    explicit Stream(Context& ctx);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    VkCommandPool pool() const { return pool_; }
    std::mutex& mutex() { return mutex_; }
    // Submits a command buffer of this stream's pool and waits for it.
    void submit_and_wait(VkCommandBuffer cmd);
    // Records into a one-time command buffer, submits it and waits.
    void submit_and_wait(const std::function<void(VkCommandBuffer)>& record);

private:
    void submit_locked(VkCommandBuffer cmd);
    Context& ctx_;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkFence fence_ = VK_NULL_HANDLE;
    std::mutex mutex_;
};

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

    bool adopted() const { return adopted_ != nullptr; }
    // Bytes of device memory a new allocation may take now: the largest device-local heap,
    // less what others use where VK_EXT_memory_budget reports it (0: unknown).
    uint64_t available_device_memory() const;

    // Compiled pipelines are cached per (shader, specialization constants); thread-safe.
    Kernel& kernel(const KernelDesc& desc);

    // Every VkDeviceMemory allocation goes through these, so the count stays within the
    // device's (or the limits profile's) maxMemoryAllocationCount with a clear error.
    void count_allocation(uint64_t bytes);
    void uncount_allocation(uint64_t bytes) {
        allocations_.fetch_sub(1);
        allocated_bytes_.fetch_sub(bytes);
    }
    // Live device memory allocations and their bytes, over every allocator of this context.
    uint32_t allocation_count() const { return allocations_.load(); }
    uint64_t allocated_bytes() const { return allocated_bytes_.load(); }

    // The default stream, shared (and serialized) by everything that has none of its own.
    Stream& default_stream() { return *default_stream_; }
    // Records commands into a one-time command buffer, submits it and waits (default stream).
    void submit_and_wait(const std::function<void(VkCommandBuffer)>& record);

    // vkQueueSubmit under the queue lock (the host's, for an adopted queue).
    VkResult queue_submit(const VkSubmitInfo& info, VkFence fence);
    void log(LogLevel level, const std::string& message) const;

private:
    void release();
    void adopt(const std::shared_ptr<AdoptedDevice>& adopted);
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
    DeviceCaps caps_;
    std::shared_ptr<AdoptedDevice> adopted_;
    std::unique_ptr<Stream> default_stream_;

    mutable std::mutex messages_mutex_;
    std::vector<std::string> messages_;
    std::mutex kernels_mutex_;
    std::map<std::string, std::unique_ptr<Kernel>> kernels_;
    std::mutex queue_mutex_;  // own queue; an adopted one uses the host's lock
    std::atomic<uint32_t> allocations_{0};
    std::atomic<uint64_t> allocated_bytes_{0};
};

// Throws glowq::Error naming the failed call when result is not VK_SUCCESS.
void check(VkResult result, const char* what);
const char* result_name(VkResult result);

}  // namespace glowq::vk

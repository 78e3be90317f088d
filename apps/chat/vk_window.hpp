// The app's window and its Vulkan device: GLFW window, instance, surface, a device with
// one queue that draws, presents and computes (the model runs on it too, through the
// engine's adoption), swapchain, render pass, per-frame command buffers. Every use of the
// queue takes queue_mutex(): the engine's submits, this window's submits and presents.
#pragma once
#include <vulkan/vulkan.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace glowq::chat_app {

struct WindowOptions {
    int width = 1100, height = 720;
    bool validation = false;
    std::function<void(const std::string&)> on_validation;  // validation messages
};

class VkWindow {
public:
    explicit VkWindow(const WindowOptions& options);
    ~VkWindow();
    VkWindow(const VkWindow&) = delete;
    VkWindow& operator=(const VkWindow&) = delete;

    GLFWwindow* glfw() const { return window_; }
    VkInstance instance() const { return instance_; }
    VkPhysicalDevice physical_device() const { return physical_; }
    VkDevice device() const { return device_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return family_; }
    VkRenderPass render_pass() const { return render_pass_; }
    uint32_t image_count() const { return uint32_t(images_.size()); }
    VkDescriptorPool descriptor_pool() const { return descriptor_pool_; }
    std::mutex& queue_mutex() { return queue_mutex_; }
    std::string device_name() const;

    // Records `draw` inside the render pass of the next swapchain image, submits and
    // presents. With capture set, also copies the image to host memory (capture_rgba()).
    // Returns false when the frame was skipped (minimized window, swapchain rebuilt).
    bool frame(const std::function<void(VkCommandBuffer)>& draw, bool capture = false);
    // Runs a one-time command buffer and waits (font upload).
    void submit_now(const std::function<void(VkCommandBuffer)>& record);
    void wait_idle();

    // The last captured frame, RGBA8, row-major.
    const std::vector<uint8_t>& capture_rgba() const { return capture_; }
    uint32_t capture_width() const { return capture_w_; }
    uint32_t capture_height() const { return capture_h_; }

private:
    void create_swapchain();
    void destroy_swapchain();

    GLFWwindow* window_ = nullptr;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    VkSurfaceKHR surface_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t family_ = 0;
    VkSurfaceFormatKHR format_{};
    VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
    VkExtent2D extent_{};
    VkRenderPass render_pass_ = VK_NULL_HANDLE;
    std::vector<VkImage> images_;
    std::vector<VkImageView> views_;
    std::vector<VkFramebuffer> framebuffers_;
    VkCommandPool pool_ = VK_NULL_HANDLE;
    VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
    struct Frame {
        VkCommandBuffer cmd = VK_NULL_HANDLE;
        VkFence fence = VK_NULL_HANDLE;
        VkSemaphore acquired = VK_NULL_HANDLE, rendered = VK_NULL_HANDLE;
    };
    std::vector<Frame> frames_;
    uint32_t frame_index_ = 0;
    std::mutex queue_mutex_;
    std::function<void(const std::string&)> on_validation_;
    std::vector<uint8_t> capture_;
    uint32_t capture_w_ = 0, capture_h_ = 0;
    VkBuffer capture_buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory capture_memory_ = VK_NULL_HANDLE;
    VkDeviceSize capture_size_ = 0;

    static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug(VkDebugUtilsMessageSeverityFlagBitsEXT, VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT*, void*);
};

}  // namespace glowq::chat_app

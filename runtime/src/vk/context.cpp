// Instance, device selection, logical device, validation messages and one-shot submits.
#include "glowq/vk/context.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "device_caps_query.hpp"
#include "glowq/error.hpp"
#include "glowq/vk/fault_injection.hpp"
#include "glowq/vk/driver_quirks.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::vk {

const char* result_name(VkResult r) {
    switch (r) {
        case VK_SUCCESS: return "VK_SUCCESS";
        case VK_NOT_READY: return "VK_NOT_READY";
        case VK_TIMEOUT: return "VK_TIMEOUT";
        case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
        case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
        case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
        default: return "VkResult error";
    }
}

void check(VkResult result, const char* what) {
    if (result == VK_SUCCESS) return;
    const ErrorKind kind = (result == VK_ERROR_OUT_OF_DEVICE_MEMORY || result == VK_ERROR_OUT_OF_HOST_MEMORY)
                               ? ErrorKind::OutOfMemory
                               : ErrorKind::Vulkan;
    throw Error(kind, std::string(what) + " failed: " + result_name(result) + " (" +
                          std::to_string(static_cast<int>(result)) + ")");
}

static bool layer_available(const char* name) {
    uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> layers(count);
    vkEnumerateInstanceLayerProperties(&count, layers.data());
    return std::any_of(layers.begin(), layers.end(),
                       [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, name) == 0; });
}

static uint32_t instance_api_version() {
    uint32_t v = VK_API_VERSION_1_0;
    vkEnumerateInstanceVersion(&v);
    return std::min<uint32_t>(v, VK_API_VERSION_1_3);
}

static VkInstance create_instance(bool validation, const void* pnext) {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "glowq";
    app.pEngineName = "glowq";
    app.apiVersion = instance_api_version();
    if (app.apiVersion < VK_API_VERSION_1_1)
        throw Error(ErrorKind::NoDevice, "the Vulkan loader supports only Vulkan 1.0; glowq needs 1.1 or newer");
    const char* layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char* exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pNext = pnext;
    ci.pApplicationInfo = &app;
    if (validation) {
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = layers;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = exts;
    }
    VkInstance instance = VK_NULL_HANDLE;
    const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        throw Error(ErrorKind::NoDevice,
                    "no Vulkan driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER); install one, "
                    "e.g. Debian's mesa-vulkan-drivers for the lavapipe CPU device");
    check(r, "vkCreateInstance");
    return instance;
}

static std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
    uint32_t count = 0;
    check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "vkEnumeratePhysicalDevices");
    std::vector<VkPhysicalDevice> devices(count);
    check(vkEnumeratePhysicalDevices(instance, &count, devices.data()), "vkEnumeratePhysicalDevices");
    return devices;
}

std::vector<DeviceCaps> list_devices() {
    VkInstance instance = create_instance(false, nullptr);
    std::vector<DeviceCaps> out;
    try {
        const auto devices = physical_devices(instance);
        for (uint32_t i = 0; i < devices.size(); ++i)
            out.push_back(query_device_caps(devices[i], i, instance_api_version()));
    } catch (...) {
        vkDestroyInstance(instance, nullptr);
        throw;
    }
    vkDestroyInstance(instance, nullptr);
    return out;
}

static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// Chooses by index or name substring, else by type: discrete, integrated, virtual, cpu.
static uint32_t select_device(const std::vector<DeviceCaps>& caps, const std::string& want) {
    if (caps.empty())
        throw Error(ErrorKind::NoDevice,
                    "no Vulkan device found; install a driver (e.g. mesa-vulkan-drivers for lavapipe)");
    if (!want.empty()) {
        const bool numeric = std::all_of(want.begin(), want.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
        if (numeric) {
            const unsigned long i = std::strtoul(want.c_str(), nullptr, 10);
            if (i >= caps.size())
                throw Error(ErrorKind::NoDevice, "device index " + want + " is out of range: " +
                                                     std::to_string(caps.size()) + " Vulkan device(s) present");
            return static_cast<uint32_t>(i);
        }
        for (const auto& c : caps)
            if (lower(c.name).find(lower(want)) != std::string::npos) return c.index;
        std::string names;
        for (const auto& c : caps) names += (names.empty() ? "" : ", ") + c.name;
        throw Error(ErrorKind::NoDevice, "no Vulkan device matches '" + want + "' (present: " + names + ")");
    }
    for (const char* type : {"discrete", "integrated", "virtual", "cpu", "other"})
        for (const auto& c : caps)
            if (c.type == type) return c.index;
    return 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL Context::on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                         VkDebugUtilsMessageTypeFlagsEXT types,
                                                         const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                         void* user) {
    auto* self = static_cast<Context*>(user);
    const std::string text = data && data->pMessage ? data->pMessage : "(no message)";
    const bool warning = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    // General messages come from the loader (e.g. another architecture's ICD file that it
    // cannot load on a multiarch system): worth a log line, not a failed validation.
    const bool from_layer = types & (VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT);
    if (warning && from_layer) {
        std::lock_guard<std::mutex> lock(self->messages_mutex_);
        self->messages_.push_back(text);
    }
    self->log(!warning ? LogLevel::Debug : from_layer ? LogLevel::Warning : LogLevel::Info,
              (from_layer ? "vulkan validation: " : "vulkan loader: ") + text);
    return VK_FALSE;
}

Context::Context(const ContextOptions& options) : log_(options.log) {
    if (options.adopt) {
        adopt(options.adopt);
        apply_policy(caps_, options);
        return;
    }
    validation_ = options.validation || options.validation_required;
    if (validation_ && !layer_available("VK_LAYER_KHRONOS_validation")) {
        if (options.validation_required)
            throw Error(ErrorKind::Unsupported,
                        "validation was requested but VK_LAYER_KHRONOS_validation is not installed "
                        "(Debian package vulkan-validationlayers)");
        log(LogLevel::Warning, "validation requested but VK_LAYER_KHRONOS_validation is missing; running without");
        validation_ = false;
    }

    // Synchronization validation checks every barrier the graph places (or leaves out).
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    features.enabledValidationFeatureCount = 1;
    features.pEnabledValidationFeatures = enables;
    VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mci.pfnUserCallback = &Context::on_debug_message;
    mci.pUserData = this;
    features.pNext = &mci;  // also catches messages from vkCreateInstance itself

    instance_ = create_instance(validation_, validation_ ? &features : nullptr);
    try {
        if (validation_) {
            auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
                vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
            if (!create) throw Error(ErrorKind::Vulkan, "vkCreateDebugUtilsMessengerEXT is not available");
            check(create(instance_, &mci, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
        }
        const auto devices = physical_devices(instance_);
        std::vector<DeviceCaps> all;
        for (uint32_t i = 0; i < devices.size(); ++i)
            all.push_back(query_device_caps(devices[i], i, instance_api_version()));
        const uint32_t chosen = select_device(all, options.device);
        physical_ = devices[chosen];
        caps_ = all[chosen];
        apply_policy(caps_, options);
        if (VK_API_VERSION_MINOR(caps_.api_version) < 1 && VK_API_VERSION_MAJOR(caps_.api_version) == 1)
            throw Error(ErrorKind::Unsupported, caps_.name + " supports only Vulkan 1.0; glowq needs 1.1");

        uint32_t qcount = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(physical_, &qcount, nullptr);
        std::vector<VkQueueFamilyProperties> queues(qcount);
        vkGetPhysicalDeviceQueueFamilyProperties(physical_, &qcount, queues.data());
        bool found = false;
        for (uint32_t i = 0; i < qcount && !found; ++i)
            if (queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT) { queue_family_ = i; found = true; }
        if (!found) throw Error(ErrorKind::Unsupported, caps_.name + " has no compute queue");

        const float priority = 1.0f;
        VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
        qci.queueFamilyIndex = queue_family_;
        qci.queueCount = 1;
        qci.pQueuePriorities = &priority;
        VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
        dci.queueCreateInfoCount = 1;
        dci.pQueueCreateInfos = &qci;
        // The one optional feature a kernel may use (the int8 dot-product GEMV): enabled
        // when the device has it and no option or profile turned it off.
        VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot{
            VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
        const char* dot_extension = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
        if (caps_.integer_dot_product) {
            dot.shaderIntegerDotProduct = VK_TRUE;
            dci.pNext = &dot;
            if (std::min(caps_.api_version, instance_api_version()) < VK_API_VERSION_1_3) {  // (core from 1.3)
                dci.enabledExtensionCount = 1;
                dci.ppEnabledExtensionNames = &dot_extension;
            }
        }
        check(vkCreateDevice(physical_, &dci, nullptr, &device_), "vkCreateDevice");
        vkGetDeviceQueue(device_, queue_family_, 0, &queue_);
        default_stream_ = std::make_unique<Stream>(*this);
    } catch (...) {
        release();
        throw;
    }
}

void Context::adopt(const std::shared_ptr<AdoptedDevice>& a) {
    if (!a->instance || !a->physical || !a->device || !a->queue)
        throw Error(ErrorKind::InvalidArgument, "adopting a device needs its VkInstance, VkPhysicalDevice, VkDevice and VkQueue");
    if (bool(a->lock) != bool(a->unlock))
        throw Error(ErrorKind::InvalidArgument, "an adopted queue's lock needs both lock and unlock");
    uint32_t qcount = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(a->physical, &qcount, nullptr);
    std::vector<VkQueueFamilyProperties> queues(qcount);
    vkGetPhysicalDeviceQueueFamilyProperties(a->physical, &qcount, queues.data());
    if (a->queue_family >= qcount || !(queues[a->queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
        throw Error(ErrorKind::InvalidArgument, "the adopted queue family " + std::to_string(a->queue_family) +
                                                    " does not exist or has no compute support");
    adopted_ = a;
    physical_ = a->physical;
    device_ = a->device;
    queue_ = a->queue;
    queue_family_ = a->queue_family;
    caps_ = query_device_caps(physical_, 0, instance_api_version());
    if (VK_API_VERSION_MAJOR(caps_.api_version) == 1 && VK_API_VERSION_MINOR(caps_.api_version) < 1)
        throw Error(ErrorKind::Unsupported, caps_.name + " supports only Vulkan 1.0; glowq needs 1.1");
    // Optional device features must have been enabled when the host created its device,
    // which glowq cannot see.
    disable_features(caps_, kFeatureIntegerDot, "not known to be enabled on the host's device");
    try {
        default_stream_ = std::make_unique<Stream>(*this);
    } catch (...) {
        release();
        throw;
    }
}

void apply_policy(DeviceCaps& caps, const ContextOptions& options) {
    if (options.driver_quirks) apply_driver_quirks(caps);
    apply_limits_profile(caps, options.limits);
    if (options.disable_features) disable_features(caps, options.disable_features, "turned off by an option");
}

void Context::count_allocation(uint64_t bytes) {
    const uint32_t n = allocations_.fetch_add(1) + 1;
    allocated_bytes_.fetch_add(bytes);
    if (caps_.max_memory_allocations && n > caps_.max_memory_allocations) {
        uncount_allocation(bytes);
        throw Error(ErrorKind::OutOfMemory, "more than " + std::to_string(caps_.max_memory_allocations) +
                                                " device memory allocations on " + caps_.name);
    }
}

Context::~Context() { release(); }

void Context::release() {
    // Every submit waits for its fence, so nothing of ours is in flight here. An adopted
    // device is the host's: never wait on or destroy it.
    if (device_ && !adopted_) vkDeviceWaitIdle(device_);
    kernels_.clear();
    default_stream_.reset();
    if (adopted_) {
        device_ = VK_NULL_HANDLE;
        return;
    }
    if (device_) vkDestroyDevice(device_, nullptr);
    if (messenger_) {
        auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy) destroy(instance_, messenger_, nullptr);
    }
    if (instance_) vkDestroyInstance(instance_, nullptr);
    device_ = VK_NULL_HANDLE;
    messenger_ = VK_NULL_HANDLE;
    instance_ = VK_NULL_HANDLE;
}

void Context::log(LogLevel level, const std::string& message) const {
    if (log_) log_(level, message);
}

std::vector<std::string> Context::validation_messages() const {
    std::lock_guard<std::mutex> lock(messages_mutex_);
    return messages_;
}

void Context::clear_validation_messages() {
    std::lock_guard<std::mutex> lock(messages_mutex_);
    messages_.clear();
}

Kernel& Context::kernel(const KernelDesc& desc) {
    const std::string key = desc.key();
    std::lock_guard<std::mutex> lock(kernels_mutex_);
    auto it = kernels_.find(key);
    if (it == kernels_.end()) it = kernels_.emplace(key, std::make_unique<Kernel>(*this, desc)).first;
    return *it->second;
}

uint64_t Context::available_device_memory() const {
    uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> exts(count);
    vkEnumerateDeviceExtensionProperties(physical_, nullptr, &count, exts.data());
    const bool budget_ext = std::any_of(exts.begin(), exts.end(), [](const VkExtensionProperties& e) {
        return std::strcmp(e.extensionName, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) == 0;
    });
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
    if (budget_ext) props.pNext = &budget;
    vkGetPhysicalDeviceMemoryProperties2(physical_, &props);
    uint64_t best = 0;
    for (uint32_t h = 0; h < props.memoryProperties.memoryHeapCount; ++h) {
        const VkMemoryHeap& heap = props.memoryProperties.memoryHeaps[h];
        if (!(heap.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
        uint64_t avail = heap.size;
        if (budget_ext && budget.heapBudget[h])
            avail = budget.heapBudget[h] > budget.heapUsage[h] ? budget.heapBudget[h] - budget.heapUsage[h] : 0;
        best = std::max(best, avail);
    }
    return best;
}

VkResult Context::queue_submit(const VkSubmitInfo& info, VkFence fence) {
    if (fault::fail(fault::Site::Submit)) return VK_ERROR_DEVICE_LOST;
    if (adopted_ && adopted_->lock) {
        adopted_->lock();
        const VkResult r = vkQueueSubmit(queue_, 1, &info, fence);
        adopted_->unlock();
        return r;
    }
    std::lock_guard<std::mutex> lock(queue_mutex_);
    return vkQueueSubmit(queue_, 1, &info, fence);
}

void Context::submit_and_wait(const std::function<void(VkCommandBuffer)>& record) {
    default_stream_->submit_and_wait(record);
}

Stream::Stream(Context& ctx) : ctx_(ctx) {
    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = ctx.queue_family();
    check(vkCreateCommandPool(ctx.device(), &pci, nullptr, &pool_), "vkCreateCommandPool");
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    const VkResult r = vkCreateFence(ctx.device(), &fci, nullptr, &fence_);
    if (r != VK_SUCCESS) {
        vkDestroyCommandPool(ctx.device(), pool_, nullptr);
        check(r, "vkCreateFence");
    }
}

Stream::~Stream() {
    vkDestroyFence(ctx_.device(), fence_, nullptr);
    vkDestroyCommandPool(ctx_.device(), pool_, nullptr);
}

void Stream::submit_locked(VkCommandBuffer cmd) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    check(vkResetFences(ctx_.device(), 1, &fence_), "vkResetFences");
    check(ctx_.queue_submit(si, fence_), "vkQueueSubmit");
    VkResult r = vkWaitForFences(ctx_.device(), 1, &fence_, VK_TRUE, UINT64_MAX);
    // An injected failure comes after the real wait, so the work it abandons is finished
    // and the fence can be reset, as after a real failure the device would be lost.
    if (r == VK_SUCCESS && fault::fail(fault::Site::FenceWait)) r = VK_ERROR_DEVICE_LOST;
    check(r, "vkWaitForFences");
}

void Stream::submit_and_wait(VkCommandBuffer cmd) {
    std::lock_guard<std::mutex> lock(mutex_);
    submit_locked(cmd);
}

void Stream::submit_and_wait(const std::function<void(VkCommandBuffer)>& record) {
    std::lock_guard<std::mutex> lock(mutex_);
    VkDevice dev = ctx_.device();
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    check(vkAllocateCommandBuffers(dev, &ai, &cmd), "vkAllocateCommandBuffers");
    try {
        VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
        bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
        check(vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
        record(cmd);
        check(vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
        submit_locked(cmd);
    } catch (...) {
        vkFreeCommandBuffers(dev, pool_, 1, &cmd);
        throw;
    }
    vkFreeCommandBuffers(dev, pool_, 1, &cmd);
}

}  // namespace glowq::vk

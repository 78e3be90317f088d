// The embedding API's C++ layer (glowq.h wraps it for C): Engine, Model, Session, Chat.
// Engine: the Vulkan device everything runs on, chosen from options or adopted from a host
// application that renders with Vulkan, and the log callback. Thread-safe: any number of
// models and sessions on any threads share one Engine.
#pragma once
#include <memory>
#include <string>

#include "glowq/vk/context.hpp"

namespace glowq {

struct EngineOptions {
    std::string device;       // index or name substring; empty: the best device present
    bool validation = false;  // Khronos validation layer; an error if it is not installed
    vk::LogFn log;            // (level, message); the library never prints
    std::shared_ptr<vk::AdoptedDevice> adopt;  // set: run on the host's device and queue
    // AndroidBaseline: use only what every Android 10+ device guarantees (docs/android.md).
    vk::LimitsProfile limits = vk::LimitsProfile::Device;
    uint32_t disable_features = 0;  // vk::Feature mask forced off
    bool driver_quirks = true;      // apply vk::driver_quirks()
};

class Engine {
public:
    explicit Engine(const EngineOptions& options = {});
    vk::Context& context() { return *ctx_; }
    const vk::Context& context() const { return *ctx_; }
    const std::string& device_name() const { return ctx_->caps().name; }

private:
    std::unique_ptr<vk::Context> ctx_;
};

}  // namespace glowq

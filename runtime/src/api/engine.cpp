#include "glowq/engine.hpp"

namespace glowq {

Engine::Engine(const EngineOptions& options) {
    vk::ContextOptions co;
    co.device = options.device;
    co.validation = options.validation;
    co.validation_required = options.validation;
    co.log = options.log;
    co.adopt = options.adopt;
    co.limits = options.limits;
    co.disable_features = options.disable_features;
    co.driver_quirks = options.driver_quirks;
    ctx_ = std::make_unique<vk::Context>(co);
}

}  // namespace glowq

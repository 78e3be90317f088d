#include "support/vk_fixture.hpp"

#include <cstdlib>
#include <iostream>
#include <string>

namespace glowq::test {

vk::ContextOptions context_options() {
    vk::ContextOptions opts;
    opts.validation = true;
    // GLOWQ_LIMITS=android-baseline runs the suite within the Android baseline limits.
    if (const char* env = std::getenv("GLOWQ_LIMITS"); env && *env && !vk::parse_limits_profile(env, opts.limits))
        throw std::runtime_error(std::string("GLOWQ_LIMITS must be device or android-baseline, got ") + env);
    return opts;
}

vk::Context& context() {
    const vk::ContextOptions opts = context_options();
    static vk::Context ctx(opts);
    return ctx;
}

VkFixture::VkFixture() : ctx(context()), alloc(ctx) {
    REQUIRE(ctx.validation_enabled());
    ctx.clear_validation_messages();
}

VkFixture::~VkFixture() {
    const auto messages = ctx.validation_messages();
    for (const auto& m : messages) std::cerr << "validation: " << m << "\n";
    CHECK(messages.empty());
    ctx.clear_validation_messages();
}

}  // namespace glowq::test

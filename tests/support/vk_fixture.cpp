#include "support/vk_fixture.hpp"

#include <iostream>

namespace glowq::test {

vk::Context& context() {
    vk::ContextOptions opts;
    opts.validation = true;
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

// Test fixture for runtime tests: one Vulkan context per test process, with the Khronos
// validation layer on (synchronization validation included). Any validation message seen
// during a test fails that test.
#pragma once
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "glowq/vk/context.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq::test {

// The options every test context uses: validation on, and GLOWQ_LIMITS's profile.
vk::ContextOptions context_options();
vk::Context& context();

struct VkFixture {
    vk::Context& ctx;
    vk::Allocator alloc;
    VkFixture();
    ~VkFixture();
};

inline std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& f : v) f = dist(rng);
    return v;
}

}  // namespace glowq::test

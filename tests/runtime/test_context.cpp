// The Vulkan core: device listing, capabilities, validation really catching errors,
// buffer sub-allocation and transfers.
#include <cstring>

#include "glowq/error.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/vk/kernel.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

TEST_CASE("devices are listed with capabilities", "[vk]") {
    const auto devices = vk::list_devices();
    REQUIRE(!devices.empty());
    for (const auto& d : devices) {
        CHECK(!d.name.empty());
        CHECK(d.api_version >= VK_API_VERSION_1_1);
        CHECK(d.subgroup_size >= 1);
        CHECK(d.max_shared_memory >= 16384);            // the Vulkan minimum
        CHECK(d.max_workgroup_invocations >= 128);
        CHECK(d.max_storage_buffer_range >= (1u << 27));
        CHECK(d.to_text().find(d.name) != std::string::npos);
        CHECK(d.to_json().front() == '{');
    }
}

TEST_CASE("an unknown device name is a clear error", "[vk]") {
    vk::ContextOptions o;
    o.device = "no-such-gpu-xyz";
    try {
        vk::Context c(o);
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NoDevice);
        CHECK(std::string(e.what()).find("no-such-gpu-xyz") != std::string::npos);
    }
}

TEST_CASE("the validation layer reports misuse", "[vk]") {
    vk::Context& ctx = test::context();
    REQUIRE(ctx.validation_enabled());
    ctx.clear_validation_messages();
    // A pipeline layout without the push constants the shader reads is invalid usage that
    // the driver may accept silently; the layer must report it.
    try {
        ctx.kernel({"copy_bandwidth", 2, 0, {64}});
    } catch (const Error&) {
        // a driver may also refuse it outright; the layer's message is what counts
    }
    CHECK(!ctx.validation_messages().empty());
    ctx.clear_validation_messages();
}

TEST_CASE_METHOD(test::VkFixture, "buffers round-trip through device memory", "[vk][memory]") {
    for (size_t n : {1u, 3u, 1000u, 300000u}) {
        auto data = test::random_floats(n, uint32_t(n));
        vk::Buffer b = alloc.upload(data.data(), n * 4);
        CHECK(b.size() == n * 4);
        std::vector<float> back(n);
        alloc.read(b, back.data(), n * 4);
        CHECK(std::memcmp(back.data(), data.data(), n * 4) == 0);
    }
}

TEST_CASE_METHOD(test::VkFixture, "sub-allocations share blocks, are aligned and are reused", "[vk][memory]") {
    vk::Allocator small(ctx, 1 << 20);
    std::vector<vk::Buffer> bufs;
    for (int i = 0; i < 10; ++i) bufs.push_back(small.allocate(1000 + i));
    CHECK(small.stats().blocks == 1);
    const auto align = std::max<VkDeviceSize>(256, ctx.caps().min_storage_buffer_offset_alignment);
    for (size_t i = 0; i < bufs.size(); ++i) {
        CHECK(bufs[i].offset() % align == 0);
        for (size_t j = i + 1; j < bufs.size(); ++j)  // no two ranges overlap
            CHECK((bufs[i].offset() + bufs[i].size() <= bufs[j].offset() ||
                   bufs[j].offset() + bufs[j].size() <= bufs[i].offset()));
    }
    const auto used = small.stats().used_bytes;
    bufs.erase(bufs.begin() + 3, bufs.begin() + 6);  // free three in the middle
    CHECK(small.stats().used_bytes < used);
    vk::Buffer again = small.allocate(2500);  // fits into the coalesced hole
    CHECK(small.stats().blocks == 1);
    vk::Buffer big = small.allocate(3 << 20);  // larger than a block: its own block
    CHECK(small.stats().blocks == 2);
    CHECK(big.size() == (3u << 20));
}

TEST_CASE_METHOD(test::VkFixture, "every embedded shader builds a pipeline", "[vk]") {
    const auto names = vk::embedded_shader_names();
    CHECK(names.size() >= 5);
    for (const auto& n : names) {
        const auto spirv = vk::embedded_shader(n);
        CHECK(spirv.count > 5);
        CHECK(spirv.words[0] == 0x07230203u);  // SPIR-V magic
        // Variants that need subgroup operations only where the device has them.
        if ((n.find("subgroup") != std::string::npos || n.find("rows") != std::string::npos) &&
            !ctx.caps().subgroup_arithmetic)
            continue;
        if (n.find("bcast") != std::string::npos && !ctx.caps().subgroup_shuffle) continue;
        // A layout with as many bindings as any shader uses (GQ_MAX_BINDINGS) and as many
        // push-constant bytes as every device allows (maxPushConstantsSize is at least 128)
        // is valid for all of them; the driver compiles each one here, the layer checks it.
        INFO(n);
        CHECK_NOTHROW(ctx.kernel({n, GQ_MAX_BINDINGS, 128, {}}));
    }
    // Fewer bindings than the shader declares is refused before the driver sees it.
    CHECK_THROWS_AS(ctx.kernel({"matmul_q4_gemm_lr", 3, 128, {}}), Error);
    CHECK_THROWS_AS(vk::embedded_shader("no_such_shader"), Error);
}

// The Vulkan core: device listing, capabilities, validation really catching errors,
// buffer sub-allocation and transfers.
#include <cstring>

#include "glowq/error.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/vk/kernel.hpp"
#include "support/vk_fixture.hpp"
#include "vk/spirv_footprint.hpp"

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
    // A push-constant range whose size is not a multiple of 4 is invalid usage that the
    // driver may accept silently; the layer must report it. (The kernels take their
    // interfaces from the registry, so they cannot be asked for a wrong one.)
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, 6};
    VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    plci.pushConstantRangeCount = 1;
    plci.pPushConstantRanges = &range;
    VkPipelineLayout layout = VK_NULL_HANDLE;
    if (vkCreatePipelineLayout(ctx.device(), &plci, nullptr, &layout) == VK_SUCCESS)
        vkDestroyPipelineLayout(ctx.device(), layout, nullptr);
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
    CHECK(glowq_shaders::kShaderCount >= 5);
    for (size_t i = 0; i < glowq_shaders::kShaderCount; ++i) {
        const auto id = vk::ShaderId(i);
        const std::string n = vk::shader_name(id);
        INFO(n);
        const auto spirv = vk::embedded_shader(id);
        CHECK(spirv.count > 5);
        CHECK(spirv.words[0] == 0x07230203u);  // SPIR-V magic
        CHECK(vk::embedded_shader(n).words == spirv.words);
        // The registry's interface is the shader's: as many bindings as it declares, push
        // constants within the Vulkan minimum.
        const auto& entry = glowq_shaders::get(id);
        CHECK(vk::spirv_footprint(spirv.words, spirv.count, {}).storage_buffers == entry.bindings);
        CHECK(entry.bindings <= GQ_MAX_BINDINGS);
        CHECK(entry.push_bytes <= 128);
        // Variants that need subgroup operations only where the device has them.
        if ((n.find("subgroup") != std::string::npos || n.find("rows") != std::string::npos) &&
            !ctx.caps().subgroup_arithmetic)
            continue;
        if (n.find("bcast") != std::string::npos && !ctx.caps().subgroup_shuffle) continue;
        // The driver compiles each one here with the registry's layout; the layer checks it.
        CHECK_NOTHROW(ctx.kernel({id, {}}));
    }
    // The GEMV table names the kernel of each form and variant.
    CHECK(std::string(vk::shader_name(glowq_shaders::gemv(glowq_shaders::GemvForm::rows_dot,
                                                          glowq_shaders::GemvVariant::pre_b))) ==
          "matmul_q4_gemv_rows_dot_pre_b");
    CHECK(std::string(vk::shader_name(glowq_shaders::gemv(glowq_shaders::GemvForm::plain,
                                                          glowq_shaders::GemvVariant::plain))) == "matmul_q4_gemv");
    CHECK_THROWS_AS(vk::embedded_shader("no_such_shader"), Error);
}

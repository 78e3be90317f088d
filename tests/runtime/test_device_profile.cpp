// Limits profiles, forced-off features, driver quirks (on made-up device descriptions) and
// the SPIR-V footprint every kernel is checked against.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/device_profile.hpp"
#include "glowq/vk/driver_quirks.hpp"
#include "glowq/vk/kernel.hpp"
#include "support/vk_fixture.hpp"
#include "vk/spirv_footprint.hpp"

using namespace glowq;

namespace {

constexpr uint32_t make_version(uint32_t major, uint32_t minor, uint32_t patch) {
    return (major << 22) | (minor << 12) | patch;
}

// A capable phone GPU as its driver would describe it.
vk::DeviceCaps phone(uint32_t vendor, const char* name, const char* driver, uint32_t api) {
    vk::DeviceCaps c;
    c.vendor_id = vendor;
    c.name = name;
    c.driver_name = driver;
    c.api_version = api;
    c.subgroup_size = c.subgroup_min_size = c.subgroup_max_size = 64;
    c.subgroup_basic = c.subgroup_arithmetic = c.subgroup_shuffle = c.subgroup_ballot = true;
    c.max_shared_memory = 32768;
    c.max_workgroup_invocations = 1024;
    c.max_workgroup_size[0] = c.max_workgroup_size[1] = 1024;
    c.max_workgroup_size[2] = 64;
    c.max_storage_buffer_range = uint64_t(1) << 30;
    c.min_storage_buffer_offset_alignment = 64;
    c.max_storage_buffers_per_stage = 24;
    c.max_memory_allocations = 1u << 20;
    c.max_push_constants = 256;
    c.storage_buffer_16bit = c.storage_buffer_8bit = c.shader_float16 = true;
    c.integer_dot_product = c.cooperative_matrix = true;
    return c;
}

bool mentions(const vk::DeviceCaps& c, const std::string& text) {
    for (const auto& a : c.adjustments)
        if (a.find(text) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("the Android baseline lowers limits and turns off what it does not guarantee", "[vk][profile]") {
    vk::DeviceCaps c = phone(0x10DE, "desktop", "NVIDIA", make_version(1, 3, 0));
    vk::apply_limits_profile(c, vk::LimitsProfile::AndroidBaseline);
    CHECK(c.max_shared_memory == 16384);
    CHECK(c.max_workgroup_invocations == 128);
    CHECK(c.max_workgroup_size[0] == 128);
    CHECK(c.max_storage_buffers_per_stage == 4);
    CHECK(c.max_storage_buffer_range == (uint64_t(128) << 20));
    CHECK(c.min_storage_buffer_offset_alignment == 256);
    CHECK(c.max_memory_allocations == 4096);
    CHECK_FALSE(c.subgroup_arithmetic);
    CHECK_FALSE(c.subgroup_shuffle);
    CHECK_FALSE(c.shader_float16);
    CHECK_FALSE(c.storage_buffer_16bit);
    CHECK_FALSE(c.integer_dot_product);
    CHECK_FALSE(c.cooperative_matrix);
    CHECK(mentions(c, "Android Baseline"));
    CHECK_FALSE(ops::gemv_rows_supported(c));

    // A weaker device keeps its own, lower limits: the profile never raises one.
    vk::DeviceCaps weak = phone(0x13B5, "Mali-G52", "", make_version(1, 1, 0));
    weak.max_shared_memory = 8192;
    weak.max_workgroup_invocations = 64;
    vk::apply_limits_profile(weak, vk::LimitsProfile::AndroidBaseline);
    CHECK(weak.max_shared_memory == 8192);
    CHECK(weak.max_workgroup_invocations == 64);

    vk::LimitsProfile p;
    CHECK(vk::parse_limits_profile("android-baseline", p));
    CHECK(p == vk::LimitsProfile::AndroidBaseline);
    CHECK_FALSE(vk::parse_limits_profile("android", p));
}

TEST_CASE("driver quirks match vendor, driver and version, and cite their source", "[vk][quirks]") {
    for (const auto& q : vk::driver_quirks()) {
        INFO(q.problem);
        CHECK(q.vendor_id != 0);
        CHECK(q.features_off != 0);
        CHECK(std::string(q.problem).size() > 10);
        const std::string src = q.source;
        // A public report, a peer's source file, or our own reproduction in docs/.
        CHECK((src.find("https://") != std::string::npos || src.find(".cpp") != std::string::npos ||
               src.find(".cc") != std::string::npos || src.find("docs/") != std::string::npos));
    }

    SECTION("a current Adreno on Qualcomm's driver: no cooperative matrix, no subgroup reductions") {
        vk::DeviceCaps c = phone(0x5143, "Adreno (TM) 740", "Qualcomm Technologies Inc. Adreno Vulkan Driver",
                                 make_version(1, 3, 128));
        vk::apply_driver_quirks(c);
        CHECK_FALSE(c.cooperative_matrix);
        CHECK_FALSE(c.subgroup_arithmetic);
        CHECK(c.shader_float16);  // only old drivers (no 16-bit storage) lose fp16 math
        CHECK(c.storage_buffer_16bit);
        CHECK(mentions(c, "ncnn/pull/6719"));
    }
    SECTION("an old Adreno driver without 16-bit storage loses fp16 arithmetic") {
        vk::DeviceCaps c = phone(0x5143, "Adreno (TM) 530", "", make_version(1, 0, 61));
        c.storage_buffer_16bit = false;
        vk::apply_driver_quirks(c);
        CHECK_FALSE(c.shader_float16);
        CHECK(mentions(c, "wrong results"));
    }
    SECTION("turnip keeps subgroup operations but its reported size is not trusted") {
        vk::DeviceCaps c = phone(0x5143, "Turnip Adreno (TM) 650", "turnip Mesa driver", make_version(1, 3, 230));
        c.subgroup_size = c.subgroup_min_size = c.subgroup_max_size = 128;
        REQUIRE(ops::gemv_rows_supported(c));
        vk::apply_driver_quirks(c);
        CHECK(c.subgroup_arithmetic);
        CHECK(c.cooperative_matrix);  // the proprietary driver's coopmat bug is not turnip's
        CHECK(c.subgroup_min_size == 1);
        CHECK_FALSE(ops::gemv_rows_supported(c));
    }
    SECTION("Mali drivers before 1.0.82 lose 16-bit storage; newer ones keep it") {
        vk::DeviceCaps old_mali = phone(0x13B5, "Mali-T880", "", make_version(1, 0, 66));
        vk::apply_driver_quirks(old_mali);
        CHECK_FALSE(old_mali.storage_buffer_16bit);
        vk::DeviceCaps new_mali = phone(0x13B5, "Mali-G715", "Arm Mali driver", make_version(1, 3, 0));
        vk::apply_driver_quirks(new_mali);
        CHECK(new_mali.storage_buffer_16bit);
        CHECK_FALSE(new_mali.cooperative_matrix);  // the stride bug has no version bound
        CHECK(new_mali.subgroup_arithmetic);
    }
    SECTION("PowerVR: no fp16 arithmetic; Rogue GE8xxx report a subgroup size of 1") {
        vk::DeviceCaps c = phone(0x1010, "PowerVR Rogue GE8320", "", make_version(1, 1, 131));
        c.subgroup_size = c.subgroup_min_size = c.subgroup_max_size = 1;
        vk::apply_driver_quirks(c);
        CHECK_FALSE(c.shader_float16);
        CHECK_FALSE(c.subgroup_basic);
    }
    SECTION("llvmpipe with LLVM 15 converts fp16 in software only where glowq runs on arm64") {
        vk::DeviceCaps c = phone(0x10005, "llvmpipe (LLVM 15.0.6, 128 bits)", "llvmpipe", make_version(1, 3, 230));
        vk::apply_driver_quirks(c);
#if defined(__aarch64__)
        CHECK_FALSE(c.half_conversion);
#else
        CHECK(c.half_conversion);
#endif
        vk::DeviceCaps newer = phone(0x10005, "llvmpipe (LLVM 17.0.6, 256 bits)", "llvmpipe", make_version(1, 3, 255));
        vk::apply_driver_quirks(newer);
        CHECK(newer.half_conversion);
    }
    SECTION("a desktop NVIDIA GPU matches nothing") {
        vk::DeviceCaps c = phone(0x10DE, "NVIDIA H100", "NVIDIA", make_version(1, 3, 277));
        CHECK(vk::matching_quirks(c).empty());
        vk::apply_driver_quirks(c);
        CHECK(c.adjustments.empty());
        CHECK(c.cooperative_matrix);
    }
}

TEST_CASE("options force features off on the real device", "[vk][profile]") {
    vk::ContextOptions o = test::context_options();
    o.disable_features = vk::kFeatureSubgroupOps | vk::kFeatureFp16Math;
    vk::Context ctx(o);
    CHECK_FALSE(ctx.caps().subgroup_shuffle);
    CHECK_FALSE(ctx.caps().subgroup_arithmetic);
    CHECK_FALSE(ctx.caps().shader_float16);
    // A kernel that needs what was turned off is refused, naming what it needs.
    try {
        ctx.kernel({vk::ShaderId::matmul_q4_gemv_rows, {64, 2, 1, 1, 1}});
        FAIL("expected the subgroup kernel to be refused");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Unsupported);
        CHECK(std::string(e.what()).find("subgroup") != std::string::npos);
    }
}

TEST_CASE("SPIR-V footprints: workgroup size, shared memory, bindings, features", "[vk][profile]") {
    auto fp = [](const std::string& name, const std::vector<uint32_t>& spec) {
        const auto s = vk::embedded_shader(name);
        return vk::spirv_footprint(s.words, s.count, spec);
    };
    // matmul_q4_gemm: 128 invocations; (128 rows + 8 TT tokens) x 20 floats.
    const auto gemm = fp("matmul_q4_gemm", {});
    CHECK(gemm.invocations() == 128);
    CHECK(gemm.shared_bytes == (128 + 64) * 20 * 4);
    CHECK(fp("matmul_q4_gemm", {2}).shared_bytes == (128 + 16) * 20 * 4);
    CHECK(gemm.storage_buffers == 3);
    CHECK(fp("matmul_q4_gemm_lr", {}).storage_buffers == 4);
    CHECK_FALSE(gemm.subgroup_basic);
    // The Rows GEMV with its specialization: 128 lanes, team_sums[NSG*NR*NTOK] = 4*4*8 floats.
    const auto rows = fp("matmul_q4_gemv_rows", {128, 4, 8, 2, 4});
    CHECK(rows.local_size[0] == 128);
    CHECK(rows.shared_bytes == 4 * 4 * 8 * 4);
    CHECK(rows.subgroup_arithmetic);
    // Specialization changes the workgroup size read from the module.
    CHECK(fp("rmsnorm", {64}).invocations() == 64);
    CHECK(fp("rmsnorm", {32}).invocations() == 32);
    // Every shader stays within 4 storage buffers and uses no 8/16-bit types, only the int8
    // dot-product GEMVs (_dot) use integer dot products, and those that are not subgroup
    // variants use no subgroup operations.
    for (const auto& n : vk::embedded_shader_names()) {
        INFO(n);
        const auto s = vk::embedded_shader(n);
        const auto f = vk::spirv_footprint(s.words, s.count, {64, 1, 1, 1, 1});
        CHECK(f.storage_buffers <= GQ_MAX_BINDINGS);
        CHECK_FALSE((f.float16 || f.storage16 || f.storage8 || f.int8 || f.int16));
        CHECK(f.integer_dot == (n.find("_dot") != std::string::npos));
        const bool subgroup_variant = n.find("subgroup") != std::string::npos || n.find("bcast") != std::string::npos ||
                                      n.find("rows") != std::string::npos;
        if (!subgroup_variant) CHECK_FALSE(f.subgroup_basic);
    }
    // Against a device: the violations name what is missing.
    vk::DeviceCaps c = phone(0x13B5, "Mali", "", make_version(1, 1, 0));
    vk::apply_limits_profile(c, vk::LimitsProfile::AndroidBaseline);
    CHECK(vk::footprint_violations(gemm, c).empty());
    const auto big = fp("matmul_q4_gemv_rows", {256, 2, 1, 1, 8});
    const auto v = vk::footprint_violations(big, c);
    REQUIRE(v.size() >= 2);
    CHECK(v[0].find("workgroup invocations 256") != std::string::npos);
    const auto dot = vk::footprint_violations(fp("matmul_q4_gemv_rows_dot", {64, 2, 1, 1, 2}), c);
    CHECK(std::any_of(dot.begin(), dot.end(),
                      [](const std::string& m) { return m.find("integer dot product") != std::string::npos; }));
}

// The shaders' software fp16 conversions (half.glsl, used where the driver's are broken)
// against IEEE binary16 on the CPU: every special class, and rounding to nearest even.
TEST_CASE("software fp16 conversion in the shaders matches IEEE binary16", "[vk][profile]") {
    vk::ContextOptions o = test::context_options();
    o.disable_features = vk::kFeatureHalfConversion;
    vk::Context ctx(o);
    REQUIRE_FALSE(ctx.caps().half_conversion);
    vk::Allocator alloc(ctx);

    // Unpack: every half bit pattern, gathered as an fp16 embedding row.
    std::vector<uint16_t> all(65536);
    for (uint32_t i = 0; i < all.size(); ++i) all[i] = uint16_t(i);
    const auto table = ops::DeviceMatrix::upload_f16(alloc, all.data(), 1, uint32_t(all.size()));
    const int32_t token = 0;
    vk::Buffer tok = alloc.upload(&token, 4), out = alloc.allocate(all.size() * 4);
    {
        vk::Graph g(ctx, alloc);
        for (auto& d : ops::embed(ctx, tok, table, out, 1)) g.add(std::move(d));
        g.run();
    }
    const auto got = alloc.read_all<float>(out);
    size_t wrong = 0;
    for (uint32_t i = 0; i < all.size(); ++i) {
        const float want = half_to_float(uint16_t(i));
        if (std::isnan(want) ? !std::isnan(got[i]) : std::memcmp(&want, &got[i], 4) != 0) ++wrong;
    }
    CHECK(wrong == 0);

    // Pack: v values stored into the KV cache by rope_kv (no rotation on v).
    std::vector<float> v = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f,
                            6.103515625e-5f, 6.0e-5f, 5.96e-8f, 2.9e-8f, 3.0e-8f, 1e-10f, 0.1f,
                            1.0009765625f, 1.00048828125f, 1.00146484375f, 3.14159f,
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
    auto more = test::random_floats(1000, 5, -70000.0f, 70000.0f);
    v.insert(v.end(), more.begin(), more.end());
    auto tiny = test::random_floats(1000, 6, -1e-4f, 1e-4f);
    v.insert(v.end(), tiny.begin(), tiny.end());
    const uint32_t hd = 256, T = uint32_t((v.size() + hd - 1) / hd);
    v.resize(size_t(T) * hd, 0.25f);
    const ops::AttentionShape s{1, 1, hd, 0, 10000.0f, 1.0f};
    std::vector<float> qkv(size_t(T) * 3 * hd, 0.0f);
    for (uint32_t t = 0; t < T; ++t) std::copy(v.begin() + t * hd, v.begin() + (t + 1) * hd, qkv.begin() + (3 * t + 2) * hd);
    vk::Buffer qkvb = alloc.upload(qkv.data(), qkv.size() * 4);
    const uint32_t v_word = T * hd / 2;  // K of T positions, then V
    vk::Buffer kvb = alloc.allocate(uint64_t(v_word) * 2 * 4);
    {
        vk::Graph g(ctx, alloc);
        g.step()[0] = 0;
        g.add(ops::rope_kv(ctx, g.step_buffer(), qkvb, {&kvb, v_word}, s, T));
        g.run();
    }
    const auto words = alloc.read_all<uint32_t>(kvb);
    wrong = 0;
    for (uint32_t i = 0; i < v.size(); ++i) {
        const uint16_t h = uint16_t(words[v_word + i / 2] >> (16 * (i % 2)));
        if (h != float_to_half(v[i])) ++wrong;
    }
    CHECK(wrong == 0);
    CHECK(ctx.validation_messages().empty());
}

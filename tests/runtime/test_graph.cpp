// The command-buffer graph: barriers only where hazards are, replay with new step values,
// indirect dispatch from the step buffer, per-node timestamps. Synchronization validation
// is on, so a missing barrier would also fail the test through the fixture.
#include "glowq/error.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/kernel.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;
using vk::Arg;

namespace {

// y[i] += step[0] * x[i] for i < step[1]
vk::Dispatch axpy(vk::Context& ctx, const vk::Graph& g, const vk::Buffer& x, const vk::Buffer& y, uint32_t n,
                  VkDeviceSize y_off = 0, VkDeviceSize y_range = 0) {
    vk::Dispatch d;
    d.kernel = &ctx.kernel({vk::ShaderId::test_step_axpy, {}});
    d.args = {Arg::in(g.step_buffer()), Arg::in(x), Arg::inout(y, y_off, y_range)};
    d.groups[0] = (n + 63) / 64;
    return d;
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "independent nodes need no barrier", "[graph]") {
    const uint32_t n = 100;
    auto xv = test::random_floats(n, 1);
    vk::Buffer x = alloc.upload(xv.data(), n * 4);
    std::vector<vk::Buffer> ys;
    for (int i = 0; i < 5; ++i) {
        std::vector<float> zero(n, float(i));
        ys.push_back(alloc.upload(zero.data(), n * 4));
    }
    vk::Graph g(ctx, alloc);
    for (auto& y : ys) g.add(axpy(ctx, g, x, y, n));  // all read x, each writes its own y
    g.step()[0] = 2;
    g.step()[1] = n;
    g.run();
    CHECK(g.barrier_count() == 0);
    for (int i = 0; i < 5; ++i) {
        auto got = alloc.read_all<float>(ys[i]);
        for (uint32_t j = 0; j < n; ++j) CHECK(got[j] == float(i) + 2.0f * xv[j]);
    }
}

TEST_CASE_METHOD(test::VkFixture, "a chain gets one barrier per edge and replays with new step values", "[graph]") {
    const uint32_t n = 300, len = 6;
    std::vector<std::vector<float>> init(len + 1);
    std::vector<vk::Buffer> b;
    for (uint32_t i = 0; i <= len; ++i) {
        init[i] = test::random_floats(n, 10 + i);
        b.push_back(alloc.upload(init[i].data(), n * 4));
    }
    vk::Graph g(ctx, alloc);
    for (uint32_t i = 0; i < len; ++i) g.add(axpy(ctx, g, b[i], b[i + 1], n));  // b[i+1] += a*b[i]
    g.record();
    CHECK(g.barrier_count() == len - 1);
    CHECK(g.barriers_before() == std::vector<size_t>({1, 2, 3, 4, 5}));

    // CPU model of the same chain, replayed with different (a, n) each time.
    std::vector<std::vector<float>> cpu = init;
    const std::pair<uint32_t, uint32_t> steps[] = {{2, n}, {3, 50}, {1, 299}, {0, n}, {5, 1}};
    for (auto [a, count] : steps) {
        g.step()[0] = a;
        g.step()[1] = count;
        g.run();
        for (uint32_t i = 0; i < len; ++i)
            for (uint32_t j = 0; j < count; ++j) cpu[i + 1][j] += float(a) * cpu[i][j];
    }
    // GPUs may contract b + a*x into one fused multiply-add: a few ulps apart from the CPU.
    for (uint32_t i = 0; i <= len; ++i) {
        auto got = alloc.read_all<float>(b[i]);
        for (uint32_t j = 0; j < n; ++j) CHECK(got[j] == Approx(cpu[i][j]).epsilon(1e-6).margin(1e-6));
    }
}

TEST_CASE_METHOD(test::VkFixture, "write-after-read and write-after-write need barriers", "[graph]") {
    const uint32_t n = 64;
    auto v = test::random_floats(n, 3);
    vk::Buffer x = alloc.upload(v.data(), n * 4), y = alloc.upload(v.data(), n * 4), z = alloc.upload(v.data(), n * 4);
    SECTION("write after read") {
        vk::Graph g(ctx, alloc);
        g.add(axpy(ctx, g, x, y, n));  // reads x
        g.add(axpy(ctx, g, z, x, n));  // writes x
        g.record();
        CHECK(g.barriers_before() == std::vector<size_t>({1}));
    }
    SECTION("write after write") {
        vk::Graph g(ctx, alloc);
        g.add(axpy(ctx, g, x, y, n));
        g.add(axpy(ctx, g, z, y, n));
        g.record();
        CHECK(g.barriers_before() == std::vector<size_t>({1}));
    }
    SECTION("read after read") {
        vk::Graph g(ctx, alloc);
        g.add(axpy(ctx, g, x, y, n));
        g.add(axpy(ctx, g, x, z, n));
        g.record();
        CHECK(g.barrier_count() == 0);
    }
}

TEST_CASE_METHOD(test::VkFixture, "hazards are tracked per byte range within one buffer", "[graph]") {
    const uint32_t n = 64;  // 256 bytes per half: offsets stay aligned
    auto v = test::random_floats(2 * n, 4);
    vk::Buffer x = alloc.upload(v.data(), 2 * n * 4), y = alloc.upload(v.data(), 2 * n * 4);
    vk::Graph g(ctx, alloc);
    g.add(axpy(ctx, g, x, y, n, 0, n * 4));      // writes y[0:n]
    g.add(axpy(ctx, g, x, y, n, n * 4, n * 4));  // writes y[n:2n]: disjoint, no barrier
    g.add(axpy(ctx, g, x, y, n, 0, 2 * n * 4));  // writes all of y: overlaps both
    g.step()[0] = 1;
    g.step()[1] = n;
    g.run();
    CHECK(g.barriers_before() == std::vector<size_t>({2}));
    auto got = alloc.read_all<float>(y);
    for (uint32_t j = 0; j < n; ++j) CHECK(got[j] == v[j] + 2.0f * v[j]);
    for (uint32_t j = n; j < 2 * n; ++j) CHECK(got[j] == v[j] + v[j - n]);  // the kernel indexes x from 0
}

TEST_CASE_METHOD(test::VkFixture, "indirect dispatch takes its grid from the step buffer", "[graph]") {
    const uint32_t n = 64 * 5;
    std::vector<float> ones(n, 1.0f), zeros(n, 0.0f);
    vk::Buffer x = alloc.upload(ones.data(), n * 4), y = alloc.upload(zeros.data(), n * 4);
    vk::Graph g(ctx, alloc);
    vk::Dispatch d = axpy(ctx, g, x, y, n);
    d.indirect_step_offset = 16;  // step[4..6] = workgroup counts
    g.add(std::move(d));
    g.step()[0] = 1;
    g.step()[1] = n;
    g.step()[4] = 2;  // only 2 of 5 workgroups run: y[0:128] = 1
    g.step()[5] = 1;
    g.step()[6] = 1;
    g.run();
    auto got = alloc.read_all<float>(y);
    for (uint32_t j = 0; j < n; ++j) CHECK(got[j] == (j < 128 ? 1.0f : 0.0f));
    g.step()[4] = 5;  // all of them, same recorded command buffer
    g.run();
    got = alloc.read_all<float>(y);
    for (uint32_t j = 0; j < n; ++j) CHECK(got[j] == (j < 128 ? 2.0f : 1.0f));
}

TEST_CASE_METHOD(test::VkFixture, "profiling times every node", "[graph]") {
    const uint32_t n = 1 << 16;
    auto v = test::random_floats(n, 5);
    vk::Buffer x = alloc.upload(v.data(), n * 4), y = alloc.upload(v.data(), n * 4), z = alloc.upload(v.data(), n * 4);
    vk::Graph g(ctx, alloc, {true});
    g.add(axpy(ctx, g, x, y, n));
    g.add(axpy(ctx, g, x, z, n));
    g.step()[0] = 1;
    g.step()[1] = n;
    g.run();
    CHECK(g.barrier_count() == 1);  // profiling serializes nodes
    const auto t = g.timings();
    REQUIRE(t.size() == 2);
    for (const auto& nt : t) {
        CHECK(nt.label == "test_step_axpy");
        CHECK(nt.ms > 0.0);
        CHECK(nt.ms < 10000.0);
    }
}

TEST_CASE_METHOD(test::VkFixture, "a whole-run timing keeps independent nodes unserialized", "[graph]") {
    const uint32_t n = 1 << 16;
    auto v = test::random_floats(n, 6);
    vk::Buffer x = alloc.upload(v.data(), n * 4), y = alloc.upload(v.data(), n * 4), z = alloc.upload(v.data(), n * 4);
    vk::Graph g(ctx, alloc, vk::GraphOptions{false, true});
    vk::Dispatch a = axpy(ctx, g, x, y, n), b = axpy(ctx, g, x, z, n);
    a.weight_bytes = 100;
    b.weight_bytes = 23;
    g.add(std::move(a));
    g.add(std::move(b));
    g.step()[0] = 2;
    g.step()[1] = n;
    g.run();
    CHECK(g.barrier_count() == 0);  // y and z are independent: no barrier, unlike profiling
    const auto t = g.timings();
    REQUIRE(t.size() == 1);
    CHECK(t[0].label == "total");
    CHECK(t[0].weight_bytes == 123);
    CHECK(t[0].ms > 0.0);
    CHECK(t[0].ms < 10000.0);
    const auto got = alloc.read_all<float>(z);
    for (uint32_t j = 0; j < n; j += 997) CHECK(got[j] == v[j] + 2.0f * v[j]);
}

TEST_CASE_METHOD(test::VkFixture, "graph misuse is a clear error", "[graph]") {
    vk::Buffer x = alloc.allocate(256);
    vk::Graph g(ctx, alloc);
    vk::Dispatch d = axpy(ctx, g, x, x, 64);
    d.args.pop_back();
    CHECK_THROWS_AS(g.add(d), Error);
    vk::Dispatch e = axpy(ctx, g, x, x, 64);
    e.args[1].offset = 4;  // misaligned, and also beyond nothing
    if (ctx.caps().min_storage_buffer_offset_alignment > 4) CHECK_THROWS_AS(g.add(e), Error);
    vk::Dispatch f = axpy(ctx, g, x, x, 64);
    f.args[1].range = 1024;  // past the end
    CHECK_THROWS_AS(g.add(f), Error);
}

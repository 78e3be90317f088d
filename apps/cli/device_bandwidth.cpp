#include "device_bandwidth.hpp"

#include <algorithm>
#include <vector>

#include "glowq/ops/push_constants.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::cli {

Stats time_graph(vk::Graph& g, int warmup, int reps) {
    std::vector<double> ms;
    for (int i = 0; i < warmup + reps; ++i) {
        g.run();
        double total = 0;
        for (const auto& t : g.timings()) total += t.ms;
        if (i >= warmup) ms.push_back(total);
    }
    return stats_of(ms);
}

double copy_bandwidth_gbps(vk::Context& ctx, vk::Allocator& alloc, uint64_t bytes, int warmup, int reps, Stats& st) {
    vk::Buffer src = alloc.allocate(bytes), dst = alloc.allocate(bytes);
    vk::Graph g(ctx, alloc, {true});
    vk::Dispatch d;
    const uint32_t wg = std::min<uint32_t>(256, ctx.caps().max_workgroup_invocations);
    d.kernel = &ctx.kernel({vk::ShaderId::copy_bandwidth, {wg}});
    d.args = {vk::Arg::in(src), vk::Arg::out(dst)};
    const uint32_t count = uint32_t(bytes / 16);
    d.push_constants(ops::push::Copy{count});
    d.groups[0] = std::min<uint32_t>((count + wg - 1) / wg, 65535);
    g.add(std::move(d));
    st = time_graph(g, warmup, reps);
    return 2.0 * double(bytes) / (st.median * 1e6);
}

}  // namespace glowq::cli

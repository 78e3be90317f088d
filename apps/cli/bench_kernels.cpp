// `glowq bench kernels`: int4 GEMV (decode) and GEMM (prefill) on the matrix shapes of
// real models, timed with GPU timestamps, reported as effective GB/s of weight bytes and
// as a fraction of the copy bandwidth measured in the same run.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "args.hpp"
#include "commands.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/kernel.hpp"
#include "progress.hpp"
#include "stats.hpp"

namespace glowq::cli {

namespace {

struct BenchShape {
    const char* model;
    const char* role;
    uint32_t K, N;  // y (N) = W (N x K) x (K)
};

const BenchShape kShapes[] = {
    {"smollm2-135m", "q/o", 576, 576},      {"smollm2-135m", "k/v", 576, 192},
    {"smollm2-135m", "gate/up", 576, 1536}, {"smollm2-135m", "down", 1536, 576},
    {"smollm2-135m", "lm_head", 576, 49152}, {"llama3-8b", "q/o", 4096, 4096},
    {"llama3-8b", "k/v", 4096, 1024},       {"llama3-8b", "gate/up", 4096, 14336},
    {"llama3-8b", "down", 14336, 4096},
};

// Runs a profiled graph warmup + reps times; the sample is the sum of its nodes' times.
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

// Random codes and plausible scales: timing does not depend on the values.
Int4Matrix random_int4(uint32_t N, uint32_t K, uint32_t g, uint32_t seed) {
    Int4Matrix m = Int4Matrix::zeros(N, K, g);
    std::mt19937 rng(seed);
    for (auto& w : m.codes) w = rng();
    for (uint32_t n = 0; n < N; ++n)  // columns past K keep zero codes, as the layout says
        for (uint32_t k = K; k < m.row_words() * 8; ++k) m.set_code(n, k, 0);
    for (uint32_t n = 0; n < N; ++n)
        for (uint32_t j = 0; j < m.groups(); ++j) m.set_scale_offset(n, j, float_to_half(0.01f), float_to_half(-0.08f));
    return m;
}

double copy_bandwidth_gbps(vk::Context& ctx, vk::Allocator& alloc, uint64_t bytes, int warmup, int reps, Stats& st) {
    vk::Buffer src = alloc.allocate(bytes), dst = alloc.allocate(bytes);
    vk::Graph g(ctx, alloc, {true});
    vk::Dispatch d;
    const uint32_t wg = std::min<uint32_t>(256, ctx.caps().max_workgroup_invocations);
    d.kernel = &ctx.kernel({"copy_bandwidth", 2, sizeof(ops::push::Copy), {wg}});
    d.args = {vk::Arg::in(src), vk::Arg::out(dst)};
    const uint32_t count = uint32_t(bytes / 16);
    d.push_constants(ops::push::Copy{count});
    d.groups[0] = std::min<uint32_t>((count + wg - 1) / wg, 65535);
    g.add(std::move(d));
    st = time_graph(g, warmup, reps);
    return 2.0 * double(bytes) / (st.median * 1e6);  // bytes read + written
}

struct Row {
    BenchShape shape;
    const char* kernel;
    uint32_t tokens;
    uint64_t weight_bytes;
    Stats ms;
    double gbps, of_copy, gflops;
};

}  // namespace

int bench_kernels(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--quiet"},
              {"--device", "--models", "--reps", "--warmup", "--gemm-tokens", "--gemv-tokens", "--group-size", "--json",
               "--copy-mib"});
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq bench kernels [options]\n\n"
            "Times the int4 GEMV (decode) and GEMM (prefill) kernels on the matrix shapes of\n"
            "SmolLM2-135M and Llama-3-8B with GPU timestamps (median, min, max over repetitions,\n"
            "warm-up excluded), and reports GB/s of weight bytes read and the ratio to the\n"
            "device's copy bandwidth measured in the same run (bytes read + written per second),\n"
            "and GFLOP/s (2 K N tokens / time; the figure that matters for the GEMM).\n\n"
            "  --device D         device index or name substring (default: GLOWQ_DEVICE or the best)\n"
            "  --models LIST      smollm2-135m,llama3-8b (default: both)\n"
            "  --reps N           timed repetitions (default 10)\n"
            "  --warmup N         untimed repetitions first (default 2)\n"
            "  --gemv-tokens T    tokens for the GEMV (default 1)\n"
            "  --gemm-tokens T    tokens for the GEMM, 0 to skip it (default 64)\n"
            "  --group-size G     int4 group size 32, 64 or 128 (default 128)\n"
            "  --copy-mib M       copy-bandwidth buffer size (default 64)\n"
            "  --json FILE        also write the results as JSON\n"
            "  --quiet            no progress output\n");
        return 0;
    }
    const int reps = int(args.get_int("--reps", 10, 1, 100000));
    const int warmup = int(args.get_int("--warmup", 2, 0, 1000));
    const uint32_t gemv_tokens = uint32_t(args.get_int("--gemv-tokens", 1, 1, 8));
    const uint32_t gemm_tokens = uint32_t(args.get_int("--gemm-tokens", 64, 0, 4096));
    const uint32_t group = uint32_t(args.get_int("--group-size", 128, 32, 128));
    const uint64_t copy_bytes = uint64_t(args.get_int("--copy-mib", 64, 1, 1024)) << 20;
    const std::string models = args.get("--models", "smollm2-135m,llama3-8b");
    std::vector<BenchShape> shapes;
    for (const auto& s : kShapes)
        if (("," + models + ",").find("," + std::string(s.model) + ",") != std::string::npos) shapes.push_back(s);
    if (shapes.empty()) throw Error(ErrorKind::InvalidArgument, "--models matches none of smollm2-135m, llama3-8b");

    vk::ContextOptions opts;
    opts.device = args.get("--device");
    vk::Context ctx(opts);
    vk::Allocator alloc(ctx);
    const auto& caps = ctx.caps();
    if (!caps.timestamps) throw Error(ErrorKind::Unsupported, caps.name + " has no timestamps on its compute queue");

    Progress progress("bench kernels", shapes.size() * (gemm_tokens ? 2 : 1) + 1, !args.has("--quiet"));
    Stats copy_ms;
    const double copy_gbps = copy_bandwidth_gbps(ctx, alloc, std::min(copy_bytes, caps.max_storage_buffer_range),
                                                 warmup, reps, copy_ms);
    progress.step("copy bandwidth");

    std::vector<Row> rows;
    for (const auto& s : shapes) {
        const Int4Matrix m = random_int4(s.N, s.K, group, s.K * 31 + s.N);
        const auto dm = ops::DeviceMatrix::upload_int4(alloc, m);
        for (uint32_t tokens : {gemv_tokens, gemm_tokens}) {
            if (tokens == 0) continue;
            const bool gemm = tokens == gemm_tokens && tokens != gemv_tokens;
            std::vector<float> xv(size_t(tokens) * s.K, 0.5f);
            vk::Buffer x = alloc.upload(xv.data(), xv.size() * 4);
            vk::Buffer y = alloc.allocate(uint64_t(tokens) * s.N * 4);
            vk::Graph g(ctx, alloc, {true});
            ops::MatmulOptions mo;
            mo.path = gemm ? ops::MatmulPath::Gemm : ops::MatmulPath::Gemv;
            std::string kernel;
            for (auto& d : ops::matmul(ctx, dm, x, y, tokens, mo)) {
                kernel = d.kernel->desc().shader;
                g.add(std::move(d));
            }
            Row r{s, gemm ? "gemm" : "gemv", tokens, dm.weight_bytes(), time_graph(g, warmup, reps), 0, 0, 0};
            r.gbps = double(r.weight_bytes) / (r.ms.median * 1e6);
            r.gflops = 2.0 * s.K * s.N * tokens / (r.ms.median * 1e6);
            r.of_copy = r.gbps / copy_gbps;
            rows.push_back(r);
            progress.step(std::string(s.model) + " " + s.role + " " + r.kernel);
        }
    }
    progress.done();

    std::printf("device: %s (%s), Vulkan %s, driver %s %s\n", caps.name.c_str(), caps.type.c_str(),
                caps.api_version_string().c_str(), caps.driver_name.c_str(), caps.driver_info.c_str());
    std::printf("copy bandwidth: %.2f GB/s (read+write of %llu MiB, median %.3f ms)\n", copy_gbps,
                (unsigned long long)(std::min(copy_bytes, caps.max_storage_buffer_range) >> 20), copy_ms.median);
    std::printf("int4 g=%u, %d reps after %d warm-up; GB/s = weight bytes (codes + scales) / median time\n\n", group,
                reps, warmup);
    std::printf("| model | matrix | K x N | kernel | tokens | median ms | min ms | max ms | weight MiB | GB/s | of copy | GFLOP/s |\n");
    std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : rows)
        std::printf("| %s | %s | %ux%u | %s | %u | %.4f | %.4f | %.4f | %.2f | %.2f | %.0f%% | %.2f |\n", r.shape.model,
                    r.shape.role, r.shape.K, r.shape.N, r.kernel, r.tokens, r.ms.median, r.ms.min, r.ms.max,
                    double(r.weight_bytes) / (1 << 20), r.gbps, 100.0 * r.of_copy, r.gflops);

    if (args.has("--json")) {
        std::ostringstream j;
        j << "{\"device\":" << caps.to_json() << ",\"group_size\":" << group << ",\"reps\":" << reps
          << ",\"warmup\":" << warmup << ",\"copy\":{\"bytes\":" << std::min(copy_bytes, caps.max_storage_buffer_range)
          << ",\"median_ms\":" << copy_ms.median << ",\"gbps\":" << copy_gbps << "},\"results\":[";
        for (size_t i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            j << (i ? "," : "") << "{\"model\":\"" << r.shape.model << "\",\"matrix\":\"" << r.shape.role
              << "\",\"K\":" << r.shape.K << ",\"N\":" << r.shape.N << ",\"kernel\":\"" << r.kernel
              << "\",\"tokens\":" << r.tokens << ",\"median_ms\":" << r.ms.median << ",\"min_ms\":" << r.ms.min
              << ",\"max_ms\":" << r.ms.max << ",\"weight_bytes\":" << r.weight_bytes << ",\"gbps\":" << r.gbps
              << ",\"of_copy\":" << r.of_copy << ",\"gflops\":" << r.gflops << "}";
        }
        j << "]}\n";
        std::ofstream f(args.get("--json"));
        if (!(f << j.str())) throw Error(ErrorKind::Io, "cannot write " + args.get("--json"));
    }
    return 0;
}

}  // namespace glowq::cli

// `glowq bench kernels`: int4 GEMV (decode) and GEMM (prefill) on the matrix shapes of
// real models, timed with GPU timestamps, reported as effective GB/s of weight bytes and
// as a fraction of the copy bandwidth measured in the same run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "args.hpp"
#include "commands.hpp"
#include "model_options.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "glowq/ops/matmul.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/kernel.hpp"
#include "device_bandwidth.hpp"
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

// A GEMV variant to time: "auto" (what the model would use), "lanes" (matmul_q4_gemv's
// choice for the device) or "rows:NR:WG[:KSPLIT]" (matmul_q4_gemv_rows with NR rows per
// team of KSPLIT subgroups and WG invocations per workgroup).
struct GemvVariant {
    std::string name;
    ops::MatmulOptions options;
};

std::vector<GemvVariant> parse_variants(const std::string& list) {
    std::vector<GemvVariant> out;
    std::string item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
        GemvVariant v{item, {}};
        v.options.path = ops::MatmulPath::Gemv;
        // "+dot" / "+float": the Rows kernel's products as int8 dot products, or not.
        const size_t plus = item.find('+');
        if (plus != std::string::npos) {
            const std::string form = item.substr(plus + 1);
            if (form != "dot" && form != "float")
                throw Error(ErrorKind::InvalidArgument, "GEMV variant '" + item + "': the suffix is +dot or +float");
            v.options.int_dot = form == "dot" ? ops::IntDot::On : ops::IntDot::Off;
            item.resize(plus);
        }
        if (item == "lanes") {
            v.options.gemv_kernel = ops::GemvKernel::Lanes;
        } else if (item.rfind("rows", 0) == 0) {
            v.options.gemv_kernel = ops::GemvKernel::Rows;
            unsigned nr = 0, wg = 0, ks = 0;
            if (item != "rows" && std::sscanf(item.c_str(), "rows:%u:%u:%u", &nr, &wg, &ks) < 2)
                throw Error(ErrorKind::InvalidArgument, "GEMV variant '" + item + "': expected rows:NR:WG[:KSPLIT]");
            v.options.k_split = ks;
            v.options.rows_per_subgroup = nr;
            v.options.gemv_workgroup = wg;
        } else if (item != "auto") {
            throw Error(ErrorKind::InvalidArgument, "unknown GEMV variant '" + item + "' (auto, lanes, rows:NR:WG[:KSPLIT])");
        }
        out.push_back(v);
    }
    if (out.empty()) throw Error(ErrorKind::InvalidArgument, "--gemv-variants is empty");
    return out;
}

std::vector<uint32_t> parse_counts(const std::string& list, const char* option, uint32_t max) {
    std::vector<uint32_t> out;
    std::string item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(item.c_str(), &end, 10);
        if (item.empty() || *end || v > max)
            throw Error(ErrorKind::InvalidArgument, std::string(option) + ": '" + item + "' is not a count from 0 to " +
                                                        std::to_string(max));
        if (v) out.push_back(uint32_t(v));
    }
    return out;
}

// GEMM tiles: "auto" (0) or 16, 32, 64 tokens per tile.
std::vector<uint32_t> parse_tiles(const std::string& list) {
    std::vector<uint32_t> out;
    std::string item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
        if (item == "auto") out.push_back(0);
        else if (item == "16" || item == "32" || item == "64") out.push_back(uint32_t(std::stoul(item)));
        else throw Error(ErrorKind::InvalidArgument, "--gemm-tiles: '" + item + "' is not auto, 16, 32 or 64");
    }
    if (out.empty()) throw Error(ErrorKind::InvalidArgument, "--gemm-tiles is empty");
    return out;
}

struct Row {
    BenchShape shape;
    std::string kernel;
    uint32_t tokens;
    uint64_t weight_bytes;
    Stats ms;
    double gbps, of_copy, gflops;
};

}  // namespace

int bench_kernels(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--quiet"},
              {"--device", "--models", "--reps", "--warmup", "--gemm-tokens", "--gemv-tokens", "--group-size", "--json",
               "--copy-mib", "--gemv-variants", "--rotate-mib", "--gemm-tiles", "--features-off"});
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq bench kernels [options]\n\n"
            "Times the int4 GEMV (decode) and GEMM (prefill) kernels on the matrix shapes of\n"
            "SmolLM2-135M and Llama-3-8B with GPU timestamps (median, min, max over repetitions,\n"
            "warm-up excluded), and reports GB/s of weight bytes read and the ratio to the\n"
            "device's copy bandwidth measured in the same run (bytes read + written per second),\n"
            "and GFLOP/s (2 K N tokens / time; the figure that matters for the GEMM).\n\n"
            "  --device D         device index or name substring (default: GLOWQ_DEVICE or the best)\n"
            "  --features-off L   device features to leave unused (see glowq run --help)\n"
            "  --models LIST      smollm2-135m,llama3-8b (default: both)\n"
            "  --reps N           timed repetitions (default 10)\n"
            "  --warmup N         untimed repetitions first (default 2)\n"
            "  --gemv-tokens T    tokens for the GEMV (default 1)\n"
            "  --gemm-tokens L    token counts for the GEMM, comma-separated, 0 to skip it (default 64)\n"
            "  --gemm-tiles L     GEMM tiles to time: auto (the model's choice), 16, 32, 64 tokens\n"
            "                     per tile, comma-separated (default auto)\n"
            "  --group-size G     int4 group size 32, 64 or 128 (default 128)\n"
            "  --copy-mib M       copy-bandwidth buffer size (default 64; use more than the GPU's cache)\n"
            "  --rotate-mib M     cycle through copies of each matrix totalling at least M MiB so\n"
            "                     that it is read from memory, not from the cache (default 256 on\n"
            "                     GPUs, 0 on CPU drivers)\n"
            "  --gemv-variants L  GEMV kernels to time, comma-separated: auto (the model's choice),\n"
            "                     lanes, rows:NR:WG[:KSPLIT]; +dot or +float after one: products as\n"
            "                     int8 dot products or not (default auto)\n"
            "  --json FILE        also write the results as JSON\n"
            "  --quiet            no progress output\n");
        return 0;
    }
    const int reps = int(args.get_int("--reps", 10, 1, 100000));
    const int warmup = int(args.get_int("--warmup", 2, 0, 1000));
    const uint32_t gemv_tokens = uint32_t(args.get_int("--gemv-tokens", 1, 1, 8));
    const std::vector<uint32_t> gemm_tokens = parse_counts(args.get("--gemm-tokens", "64"), "--gemm-tokens", 4096);
    const std::vector<uint32_t> gemm_tiles = parse_tiles(args.get("--gemm-tiles", "auto"));
    const uint32_t group = uint32_t(args.get_int("--group-size", 128, 32, 128));
    const uint64_t copy_bytes = uint64_t(args.get_int("--copy-mib", 64, 1, 1024)) << 20;
    const std::string models = args.get("--models", "smollm2-135m,llama3-8b");
    const std::vector<GemvVariant> variants = parse_variants(args.get("--gemv-variants", "auto"));
    const GemvVariant rows_many = parse_variants("rows")[0];
    std::vector<BenchShape> shapes;
    for (const auto& s : kShapes)
        if (("," + models + ",").find("," + std::string(s.model) + ",") != std::string::npos) shapes.push_back(s);
    if (shapes.empty()) throw Error(ErrorKind::InvalidArgument, "--models matches none of smollm2-135m, llama3-8b");

    const std::shared_ptr<Engine> engine = make_engine(args);
    vk::Context& ctx = engine->context();
    vk::Allocator alloc(ctx);
    const auto& caps = ctx.caps();
    if (!caps.timestamps) throw Error(ErrorKind::Unsupported, caps.name + " has no timestamps on its compute queue");

    const uint64_t rotate_bytes = uint64_t(args.get_int("--rotate-mib", caps.type == "cpu" ? 0 : 256, 0, 65536)) << 20;
    const bool rows_at_gemm = !gemm_tokens.empty() && caps.type != "cpu" && ops::gemv_rows_supported(caps);
    Progress progress("bench kernels",
                      shapes.size() * (variants.size() + gemm_tokens.size() * (gemm_tiles.size() + rows_at_gemm)) + 1,
                      !args.has("--quiet"));
    Stats copy_ms;
    const double copy_gbps = copy_bandwidth_gbps(ctx, alloc, std::min(copy_bytes, caps.max_storage_buffer_range),
                                                 warmup, reps, copy_ms);
    progress.step("copy bandwidth");

    std::vector<Row> rows;
    for (const auto& s : shapes) {
        const Int4Matrix m = random_int4(s.N, s.K, group, s.K * 31 + s.N);
        // Copies of the matrix, cycled through, so that each product reads it from memory.
        std::vector<ops::DeviceMatrix> copies;
        do copies.push_back(ops::DeviceMatrix::upload_int4(alloc, m));
        while (uint64_t(copies.size()) * copies[0].weight_bytes() < rotate_bytes);
        struct Run {
            uint32_t tokens;
            const GemvVariant* variant;  // null: the GEMM with gemm_tile tokens per tile (0: auto)
            uint32_t gemm_tile;
        };
        std::vector<Run> runs;
        for (const auto& v : variants) runs.push_back({gemv_tokens, &v, 0});
        for (uint32_t t : gemm_tokens) {
            for (uint32_t tile : gemm_tiles) runs.push_back({t, nullptr, tile});
            // Where the Rows GEMV runs, also at the GEMM's token counts (8 tokens per pass):
            // the figures that place the switch from one to the other.
            if (rows_at_gemm) runs.push_back({t, &rows_many, 0});
        }
        for (const auto& [tokens, variant, gemm_tile] : runs) {
            const bool gemm = variant == nullptr;
            std::vector<float> xv(size_t(tokens) * s.K, 0.5f);
            vk::Buffer x = alloc.upload(xv.data(), xv.size() * 4);
            // One output per copy: no hazard between the products, so they run back to back
            // as a model's independent dispatches would, timed as a whole.
            std::vector<vk::Buffer> ys;
            for (size_t c = 0; c < copies.size(); ++c) ys.push_back(alloc.allocate(uint64_t(tokens) * s.N * 4));
            vk::Graph g(ctx, alloc, vk::GraphOptions{false, true});
            ops::MatmulOptions mo = gemm ? ops::MatmulOptions{} : variant->options;
            mo.path = gemm ? ops::MatmulPath::Gemm : ops::MatmulPath::Gemv;
            mo.gemm_tile_tokens = gemm_tile;
            std::string kernel;
            for (size_t c = 0; c < copies.size(); ++c)
                for (auto& d : ops::matmul(ctx, copies[c], x, ys[c], tokens, mo)) {
                    kernel = d.kernel->name();
                    g.add(std::move(d));
                }
            if (gemm) {
                kernel = (gemm_tile ? "" : "auto: ") + kernel + " t" +
                         std::to_string(ops::gemm_tile_tokens(s.N, tokens, mo));
            } else {
                const ops::GemvShape gs = ops::gemv_shape(caps, s.N, s.K, tokens, mo);
                kernel = (variant->name == "auto" ? "auto: " : "") + kernel +
                         (gs.rows_kernel ? " nr" + std::to_string(gs.nr) + " ks" + std::to_string(gs.ksplit)
                                          : " rows" + std::to_string(gs.rows)) +
                         " wg" + std::to_string(gs.workgroup);
            }
            Stats per = time_graph(g, warmup, reps);
            for (double* v : {&per.median, &per.min, &per.max}) *v /= double(copies.size());
            Row r{s, gemm ? "gemm: " + kernel : "gemv: " + kernel, tokens, copies[0].weight_bytes(), per, 0, 0, 0};
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
    std::printf("int4 g=%u, %d reps after %d warm-up; GB/s = weight bytes (codes + scales) / median time;\n"
                "each rep runs products over copies of the matrix totalling >= %llu MiB back to back\n"
                "(independent outputs, no barrier between them); the time is the whole run / copies\n\n",
                group, reps, warmup, (unsigned long long)(rotate_bytes >> 20));
    std::printf("| model | matrix | K x N | kernel | tokens | median ms | min ms | max ms | weight MiB | GB/s | of copy | GFLOP/s |\n");
    std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (const auto& r : rows)
        std::printf("| %s | %s | %ux%u | %s | %u | %.4f | %.4f | %.4f | %.2f | %.2f | %.0f%% | %.2f |\n", r.shape.model,
                    r.shape.role, r.shape.K, r.shape.N, r.kernel.c_str(), r.tokens, r.ms.median, r.ms.min, r.ms.max,
                    double(r.weight_bytes) / (1 << 20), r.gbps, 100.0 * r.of_copy, r.gflops);

    if (args.has("--json")) {
        std::ostringstream j;
        j << "{\"device\":" << caps.to_json() << ",\"group_size\":" << group << ",\"reps\":" << reps
          << ",\"warmup\":" << warmup << ",\"rotate_bytes\":" << rotate_bytes << ",\"copy\":{\"bytes\":" << std::min(copy_bytes, caps.max_storage_buffer_range)
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
        write_file_atomic(args.get("--json"), j.str());
    }
    return 0;
}

}  // namespace glowq::cli

// `glowq bench model`: a whole model on a Vulkan device. TTFB as the GlowQ paper measures
// it (a short prompt, time to the first token), decode throughput over 50 greedy tokens,
// and llama-bench's pp512 / tg128; medians with min-max over repetitions after a warm-up.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "args.hpp"
#include "commands.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "profile_report.hpp"
#include "progress.hpp"
#include "stats.hpp"

namespace glowq::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

int32_t argmax(const std::vector<float>& v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

int bench_model(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--quiet", "--profile"},
              {"-m", "--model", "--shape", "--layers", "--device", "--reps", "--prompt", "--decode", "--pp", "--tg",
               "--json"});
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq bench model (-m MODEL | --shape NAME [--layers N]) [options]\n\n"
            "  -m, --model FILE   a GGUF model (llama.cpp Q4_0/Q4_1 or a glowq quantize output)\n"
            "  --shape NAME       a synthetic Q4_0 model of that shape instead (random weights, no\n"
            "                     download): smollm2-135m, llama2-7b, llama3-8b, qwen2.5-0.5b, tiny\n"
            "  --layers N         fewer layers than the shape has\n"
            "  --device D         Vulkan device index or name substring\n"
            "  --reps N           repetitions, medians reported (default 3; one warm-up first)\n"
            "  --prompt N         TTFB prompt tokens (default 16)\n"
            "  --decode N         greedy tokens for the decode throughput (default 50)\n"
            "  --pp N / --tg N    llama-bench's prompt-processing and generation sizes (default 512 / 128)\n"
            "  --profile          also time every dispatch of a decode step and show where it goes\n"
            "  --json FILE        write the results as JSON too\n");
        return 0;
    }
    const int reps = int(args.get_int("--reps", 3, 1, 1000));
    const uint32_t n_prompt = uint32_t(args.get_int("--prompt", 16, 1, 8192));
    const uint32_t n_decode = uint32_t(args.get_int("--decode", 50, 1, 8192));
    const uint32_t n_pp = uint32_t(args.get_int("--pp", 512, 1, 32768));
    const uint32_t n_tg = uint32_t(args.get_int("--tg", 128, 1, 32768));

    std::string path = args.get("-m", args.get("--model"));
    std::string label = path;
    std::string temp;
    if (path.empty()) {
        if (!args.has("--shape")) throw Error(ErrorKind::InvalidArgument, "pass -m MODEL or --shape NAME (see --help)");
        SynthOptions so;
        so.shape = synth_shape(args.get("--shape"));
        if (args.has("--layers")) so.layers = uint32_t(args.get_int("--layers", 1, 1, 1000));
        temp = "/tmp/glowq_bench_" + std::to_string(getpid()) + ".gguf";
        write_synth_model(temp, so);
        path = temp;
        label = "synthetic " + args.get("--shape") + (so.layers ? " (" + std::to_string(*so.layers) + " layers)" : "");
    }
    const GgufFile file = GgufFile::open(path);
    if (!temp.empty()) std::remove(temp.c_str());  // the mapping stays valid
    vk::ContextOptions co;
    co.device = args.get("--device");
    vk::Context ctx(co);
    VulkanModelOptions mo;
    mo.max_context = std::max({n_pp, n_prompt + n_decode, n_tg + 1}) + 1;
    mo.profile = args.has("--profile");
    VulkanLlama model(ctx, file, mo);
    const uint32_t V = model.config().n_vocab;
    std::vector<float> logits(V);
    std::vector<int32_t> tokens(std::max(n_pp, n_prompt));
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 7919 + 11) % V);

    std::vector<double> ttfb, decode, pp, tg;
    Progress progress("bench model", size_t(reps + 1), !args.has("--quiet"));
    for (int r = 0; r <= reps; ++r) {  // r == 0 is the warm-up
        auto t0 = Clock::now();
        model.eval(tokens.data(), n_prompt, 0, logits.data(), false);
        int32_t next = argmax(logits);
        const double first = ms_since(t0);
        t0 = Clock::now();
        for (uint32_t i = 0; i + 1 < n_decode; ++i) {
            model.eval(&next, 1, n_prompt + i, logits.data(), false);
            next = argmax(logits);
        }
        const double dec = ms_since(t0);
        t0 = Clock::now();
        model.eval(tokens.data(), n_pp, 0, logits.data(), false);
        const double p = ms_since(t0);
        next = argmax(logits);
        t0 = Clock::now();
        for (uint32_t i = 0; i < n_tg; ++i) {
            model.eval(&next, 1, i, logits.data(), false);
            next = argmax(logits);
        }
        const double g = ms_since(t0);
        if (r > 0) {
            ttfb.push_back(first);
            decode.push_back((n_decode - 1) * 1000.0 / dec);
            pp.push_back(n_pp * 1000.0 / p);
            tg.push_back(n_tg * 1000.0 / g);
        }
        progress.step(r == 0 ? "warm-up" : "rep " + std::to_string(r));
    }
    progress.done();
    const Stats s_ttfb = stats_of(ttfb), s_dec = stats_of(decode), s_pp = stats_of(pp), s_tg = stats_of(tg);
    const auto& caps = ctx.caps();
    std::printf("model: %s (%.1f MiB of weights on the device, %.2f MiB of them low-rank corrections)\n",
                label.c_str(), model.weight_bytes() / 1048576.0, model.correction_bytes() / 1048576.0);
    std::printf("device: %s (%s), Vulkan %s, driver %s %s\n", caps.name.c_str(), caps.type.c_str(),
                caps.api_version_string().c_str(), caps.driver_name.c_str(), caps.driver_info.c_str());
    std::printf("%d reps after 1 warm-up; median (min-max)\n\n", reps);
    std::printf("| test | value |\n|---|---|\n");
    std::printf("| TTFB, %u-token prompt | %.1f ms (%.1f-%.1f) |\n", n_prompt, s_ttfb.median, s_ttfb.min, s_ttfb.max);
    std::printf("| decode, %u greedy tokens | %.2f tok/s (%.2f-%.2f) |\n", n_decode, s_dec.median, s_dec.min, s_dec.max);
    std::printf("| pp%u | %.2f tok/s (%.2f-%.2f) |\n", n_pp, s_pp.median, s_pp.min, s_pp.max);
    std::printf("| tg%u | %.2f tok/s (%.2f-%.2f) |\n", n_tg, s_tg.median, s_tg.min, s_tg.max);
    if (args.has("--profile")) {
        std::printf("\n");
        print_profile(stdout, model.decode_timings());
    }
    if (args.has("--json")) {
        std::ostringstream j;
        auto js = [&](const char* k, const Stats& s) {
            j << "\"" << k << "\":{\"median\":" << s.median << ",\"min\":" << s.min << ",\"max\":" << s.max << "}";
        };
        j << "{\"model\":\"" << label << "\",\"device\":" << caps.to_json() << ",\"weight_bytes\":" << model.weight_bytes()
          << ",\"correction_bytes\":" << model.correction_bytes() << ",\"reps\":" << reps << ",\"prompt\":" << n_prompt
          << ",\"decode\":" << n_decode << ",\"pp\":" << n_pp << ",\"tg\":" << n_tg << ",";
        js("ttfb_ms", s_ttfb);
        j << ",";
        js("decode_tps", s_dec);
        j << ",";
        js("pp_tps", s_pp);
        j << ",";
        js("tg_tps", s_tg);
        j << "}\n";
        std::ofstream f(args.get("--json"));
        if (!(f << j.str())) throw Error(ErrorKind::Io, "cannot write " + args.get("--json"));
    }
    return 0;
}

}  // namespace glowq::cli

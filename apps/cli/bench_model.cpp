// `glowq bench model`: a whole model on a Vulkan device. TTFB as the GlowQ paper measures
// it (a short prompt, time to the first token), decode throughput over 50 greedy tokens,
// and llama-bench's pp512 / tg128; medians with min-max over repetitions after a warm-up.
// With --shape and --modes, the same synthetic model in several correction modes (plain
// int4, per-module, GlowQ, GlowQ-S), loaded together and measured in alternation.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "args.hpp"
#include "commands.hpp"
#include "device_bandwidth.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "glowq/session.hpp"
#include "model_options.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/quant/synth_quantized.hpp"
#include "profile_report.hpp"
#include "progress.hpp"
#include "stats.hpp"

namespace glowq::cli {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

int32_t argmax(const std::vector<float>& v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

// A correction mode as users name it, and the quantize method that writes it.
struct Mode {
    std::string name;  // none | per-module | glowq | glowq-s
    quant::Method method;
};

std::vector<Mode> parse_modes(const std::string& list) {
    std::vector<Mode> out;
    std::string item;
    std::istringstream in(list);
    while (std::getline(in, item, ',')) {
        if (item == "none") out.push_back({item, quant::Method::Rtn});
        else if (item == "per-module") out.push_back({item, quant::Method::Qera});
        else if (item == "glowq") out.push_back({item, quant::Method::Glowq});
        else if (item == "glowq-s") out.push_back({item, quant::Method::GlowqS});
        else throw Error(ErrorKind::InvalidArgument, "unknown mode '" + item + "' (none, per-module, glowq, glowq-s)");
    }
    if (out.empty()) throw Error(ErrorKind::InvalidArgument, "--modes is empty");
    return out;
}

// One model under test and its measurements.
struct Entry {
    std::string mode;   // "" for a model file or a plain synthetic Q4_0 model
    std::string label;  // what the report calls it
    std::unique_ptr<Session> session;
    VulkanLlama* model = nullptr;  // the session's executor
    std::vector<double> ttfb, decode, pp, tg;
    std::vector<vk::NodeTiming> profile, prompt_profile;
};

// Synthetic models are written to $TMPDIR (default /tmp) and deleted once mapped; an
// 8B shape needs about twice its size there while it loads.
std::string temp_path(const std::string& tag) {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/glowq_bench_" + std::to_string(getpid()) + "_" + tag + ".gguf";
}

// Writes `path` with `write`, maps it and deletes it (the mapping stays valid).
template <class Write> GgufFile write_and_open(const std::string& path, Write write) {
    try {
        write(path);
        GgufFile f = GgufFile::open(path);
        std::remove(path.c_str());
        return f;
    } catch (...) {
        std::remove(path.c_str());
        throw;
    }
}

// A session on the model in `path` (written by `write` first when given, then deleted).
std::unique_ptr<Session> open_session(const std::shared_ptr<Engine>& engine, const std::string& path,
                                      const SessionOptions& so, const std::function<void(const std::string&)>& write = {}) {
    if (!write) return std::make_unique<Session>(Model::load_file(engine, path), so);
    try {
        write(path);
        auto s = std::make_unique<Session>(Model::load_file(engine, path), so);
        std::remove(path.c_str());
        return s;
    } catch (...) {
        std::remove(path.c_str());
        throw;
    }
}

void json_stats(std::ostringstream& j, const char* k, const Stats& s) {
    j << "\"" << k << "\":{\"median\":" << s.median << ",\"min\":" << s.min << ",\"max\":" << s.max << "}";
}

}  // namespace

int bench_model(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--quiet", "--profile"},
              {"-m", "--model", "--shape", "--layers", "--device", "--reps", "--prompt", "--decode", "--pp", "--tg",
               "--json", "--modes", "--rank", "--group-size", "--restore-percent", "--copy-mib", "--chunk",
               "--features-off", "--int-dot"});
    if (args.has("--help") || args.has("-h")) {
        std::string shapes;
        for (const auto& s : synth_shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
        std::printf(
            "usage: glowq bench model (-m MODEL | --shape NAME [--layers N] [--modes LIST]) [options]\n\n"
            "  -m, --model FILE     a GGUF model (llama.cpp's types, or a glowq quantize output)\n"
            "  --shape NAME         a synthetic model of that shape instead (random weights, no\n"
            "                       download): %s\n"
            "  --layers N           fewer layers than the shape has\n"
            "  --modes LIST         with --shape: correction modes to compare, comma-separated, from\n"
            "                       none (int4), per-module, glowq, glowq-s. Each is the shape as\n"
            "                       `glowq quantize` writes it (glowq's int4 layout, fp16 factors) with\n"
            "                       random values; all are loaded and measured in turn each repetition.\n"
            "                       Without --modes: the shape as a llama.cpp Q4_0 file.\n"
            "  --rank R             correction rank for the modes (default 64)\n"
            "  --group-size G       int4 group size for the modes: 32, 64 or 128 (default 128)\n"
            "  --restore-percent P  glowq-s: share of the units (qkv, gate_up, o, down of every\n"
            "                       layer) that keep their correction, drawn at random (default 50)\n"
            "  --device D           Vulkan device index or name substring\n"
            "  --features-off L     device features to leave unused (see glowq run --help)\n"
            "  --int-dot F          auto | on | off: the decode GEMVs' x rounded to int8 and multiplied\n"
            "                       as integer dot products (default auto: off on every device so far)\n"
            "  --reps N             repetitions, medians reported (default 3; one warm-up first)\n"
            "  --prompt N           TTFB prompt tokens (default 16)\n"
            "  --decode N           greedy tokens for the decode throughput (default 50)\n"
            "  --pp N / --tg N      llama-bench's prompt-processing and generation sizes (default 512 / 128)\n"
            "  --chunk N            prompt tokens per graph replay (default: 512 on GPUs, 128 on CPU drivers)\n"
            "  --profile            time every dispatch of a decode step (a separate graph with a barrier\n"
            "                       between dispatches) and report each kind's share and its weight GB/s\n"
            "                       against the device's copy bandwidth, measured in the same run\n"
            "  --copy-mib M         copy-bandwidth buffer for --profile (default 1024; 64 on CPU drivers)\n"
            "  --json FILE          write the results as JSON too\n",
            shapes.c_str());
        return 0;
    }
    const int reps = int(args.get_int("--reps", 3, 1, 1000));
    const uint32_t n_prompt = uint32_t(args.get_int("--prompt", 16, 1, 8192));
    const uint32_t n_decode = uint32_t(args.get_int("--decode", 50, 1, 8192));
    const uint32_t n_pp = uint32_t(args.get_int("--pp", 512, 1, 32768));
    const uint32_t n_tg = uint32_t(args.get_int("--tg", 128, 1, 32768));
    const bool quiet = args.has("--quiet");

    const std::shared_ptr<Engine> engine = make_engine(args);
    vk::Context& ctx = engine->context();
    SessionOptions mo;
    mo.context = std::max({n_pp, n_prompt + n_decode, n_tg + 1}) + 1;
    mo.chunk = uint32_t(args.get_int("--chunk", mo.chunk, 0, 4096));
    const std::string int_dot = args.get("--int-dot", "auto");
    if (int_dot != "auto" && int_dot != "on" && int_dot != "off")
        throw Error(ErrorKind::InvalidArgument, "--int-dot must be auto, on or off, got '" + int_dot + "'");
    mo.int_dot = int_dot == "on" ? ops::IntDot::On : int_dot == "off" ? ops::IntDot::Off : ops::IntDot::Auto;

    std::vector<Entry> entries;
    std::string model_label;
    std::string path = args.get("-m", args.get("--model"));
    if (!path.empty()) {
        if (args.has("--modes") || args.has("--shape"))
            throw Error(ErrorKind::InvalidArgument, "--shape and --modes make a synthetic model; not with -m");
        entries.push_back({"", path, open_session(engine, path, mo)});
        model_label = path;
    } else {
        if (!args.has("--shape")) throw Error(ErrorKind::InvalidArgument, "pass -m MODEL or --shape NAME (see --help)");
        SynthOptions so;
        so.shape = synth_shape(args.get("--shape"));
        if (args.has("--layers")) so.layers = uint32_t(args.get_int("--layers", 1, 1, 1000));
        model_label = "synthetic " + args.get("--shape") + (so.layers ? " (" + std::to_string(*so.layers) + " layers)" : "");
        const GgufFile base = write_and_open(temp_path("q4_0"), [&](const std::string& p) { write_synth_model(p, so); });
        if (!args.has("--modes")) {
            entries.push_back({"", model_label + ", Q4_0",
                               open_session(engine, temp_path("q4_0_run"), mo, [&](const std::string& p) { write_synth_model(p, so); })});
        } else {
            quant::SynthQuantOptions qo;
            qo.rank = uint32_t(args.get_int("--rank", 64, 1, 128));
            qo.group_size = uint32_t(args.get_int("--group-size", 128, 32, 128));
            qo.restore_fraction = double(args.get_int("--restore-percent", 50, 0, 100)) / 100.0;
            const ModelConfig cfg = read_model_config(base);
            const std::vector<Mode> modes = parse_modes(args.get("--modes"));
            Progress progress("bench model: building", modes.size(), !quiet);
            for (const Mode& m : modes) {
                qo.method = m.method;
                auto session = open_session(engine, temp_path(m.name), mo, [&](const std::string& p) {
                    quant::glowq_writer(base, quant::synth_quantized(cfg, qo), {}).write_file(p);
                });
                std::string label = m.name == "none" ? "none (int4 g" + std::to_string(qo.group_size) + ")"
                                                     : m.name + " r" + std::to_string(qo.rank);
                if (m.method == quant::Method::GlowqS)
                    label += ", " + std::to_string(int(qo.restore_fraction * 100 + 0.5)) + "% of units";
                entries.push_back({m.name, label, std::move(session)});
                progress.step(m.name);
            }
            progress.done();
        }
    }

    for (Entry& e : entries) e.model = &e.session->executor();
    const uint32_t V = entries[0].model->config().n_vocab;
    std::vector<float> logits(V);
    std::vector<int32_t> tokens(std::max(n_pp, n_prompt));
    for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 7919 + 11) % V);

    // Every repetition measures each model in turn, so that drift (clocks, heat, other
    // load) falls on all of them alike.
    Progress progress("bench model", size_t(reps + 1) * entries.size(), !quiet);
    for (int r = 0; r <= reps; ++r) {  // r == 0 is the warm-up
        for (Entry& e : entries) {
            VulkanLlama& model = *e.model;
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
                e.ttfb.push_back(first);
                e.decode.push_back((n_decode - 1) * 1000.0 / dec);
                e.pp.push_back(n_pp * 1000.0 / p);
                e.tg.push_back(n_tg * 1000.0 / g);
            }
            progress.step((r == 0 ? "warm-up " : "rep " + std::to_string(r) + " ") + e.label);
        }
    }
    progress.done();

    const auto& caps = ctx.caps();
    double copy_gbps = 0;
    Stats copy_ms;
    uint64_t copy_bytes = 0;
    if (args.has("--profile")) {
        copy_bytes = uint64_t(args.get_int("--copy-mib", caps.type == "cpu" ? 64 : 1024, 1, 4096)) << 20;
        copy_bytes = std::min<uint64_t>(copy_bytes, caps.max_storage_buffer_range);
        vk::Allocator alloc(ctx);
        copy_gbps = copy_bandwidth_gbps(ctx, alloc, copy_bytes, 2, 10, copy_ms);
        for (Entry& e : entries) {
            e.prompt_profile = e.model->profile_step(tokens.data(), std::min(n_prompt, e.model->chunk()), 0, 5);
            e.model->eval(tokens.data(), n_prompt, 0, logits.data(), false);
            e.profile = e.model->profile_step(tokens.data(), 1, n_prompt, 10);
        }
    }

    std::printf("model: %s\n", model_label.c_str());
    std::printf("device: %s (%s), Vulkan %s, driver %s %s\n", caps.name.c_str(), caps.type.c_str(),
                caps.api_version_string().c_str(), caps.driver_name.c_str(), caps.driver_info.c_str());
    std::printf("%d reps after 1 warm-up%s; median (min-max)\n\n", reps,
                entries.size() > 1 ? ", the models measured in turn within each rep" : "");
    std::vector<Stats> s_dec;
    for (const Entry& e : entries) s_dec.push_back(stats_of(e.decode));
    if (entries.size() == 1) {
        const Entry& e = entries[0];
        const Stats t = stats_of(e.ttfb), d = s_dec[0], p = stats_of(e.pp), g = stats_of(e.tg);
        std::printf("weights on the device: %.1f MiB, %.2f MiB of them low-rank corrections\n\n",
                    e.model->weight_bytes() / 1048576.0, e.model->correction_bytes() / 1048576.0);
        std::printf("| test | value |\n|---|---|\n");
        std::printf("| TTFB, %u-token prompt | %.1f ms (%.1f-%.1f) |\n", n_prompt, t.median, t.min, t.max);
        std::printf("| decode, %u greedy tokens | %.2f tok/s (%.2f-%.2f) |\n", n_decode, d.median, d.min, d.max);
        std::printf("| pp%u | %.2f tok/s (%.2f-%.2f) |\n", n_pp, p.median, p.min, p.max);
        std::printf("| tg%u | %.2f tok/s (%.2f-%.2f) |\n", n_tg, g.median, g.min, g.max);
    } else {
        // Overheads against the first mode (none, when listed first): extra bytes against
        // extra time per decoded token.
        const Entry& base = entries[0];
        std::printf("| mode | weights MiB | corrections MiB | TTFB ms (%u tok) | decode tok/s (%u tok) | pp%u tok/s | "
                    "tg%u tok/s | bytes vs %s | decode time/token vs %s |\n",
                    n_prompt, n_decode, n_pp, n_tg, base.mode.c_str(), base.mode.c_str());
        std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (size_t i = 0; i < entries.size(); ++i) {
            const Entry& e = entries[i];
            const Stats t = stats_of(e.ttfb), d = s_dec[i], p = stats_of(e.pp), g = stats_of(e.tg);
            std::printf("| %s | %.1f | %.2f | %.1f (%.1f-%.1f) | %.2f (%.2f-%.2f) | %.1f (%.1f-%.1f) | %.2f (%.2f-%.2f) | "
                        "%+.1f%% | %+.1f%% |\n",
                        e.label.c_str(), e.model->weight_bytes() / 1048576.0, e.model->correction_bytes() / 1048576.0,
                        t.median, t.min, t.max, d.median, d.min, d.max, p.median, p.min, p.max, g.median, g.min,
                        g.max, 100.0 * (double(e.model->weight_bytes()) / double(base.model->weight_bytes()) - 1.0),
                        100.0 * (s_dec[0].median / d.median - 1.0));
        }
    }
    if (args.has("--profile")) {
        std::printf("\ncopy bandwidth: %.1f GB/s (read + write of %llu MiB, median of 10)\n", copy_gbps,
                    (unsigned long long)(copy_bytes >> 20));
        for (const Entry& e : entries) {
            std::printf("\n%s, decode step at position %u:\n", e.label.c_str(), n_prompt);
            print_profile(stdout, e.profile, copy_gbps);
            std::printf("\n%s, the TTFB prompt's first %u tokens as one step:\n", e.label.c_str(),
                        std::min(n_prompt, e.model->chunk()));
            print_profile(stdout, e.prompt_profile, copy_gbps);
        }
    }
    if (args.has("--json")) {
        std::ostringstream j;
        j << "{\"model\":\"" << model_label << "\",\"device\":" << caps.to_json() << ",\"reps\":" << reps
          << ",\"prompt\":" << n_prompt << ",\"decode\":" << n_decode << ",\"pp\":" << n_pp << ",\"tg\":" << n_tg;
        if (copy_gbps > 0) j << ",\"copy_gbps\":" << copy_gbps << ",\"copy_bytes\":" << copy_bytes;
        auto run_fields = [&](const Entry& e) {
            j << "\"label\":\"" << e.label << "\",\"mode\":\"" << e.mode << "\",\"weight_bytes\":"
              << e.model->weight_bytes() << ",\"correction_bytes\":" << e.model->correction_bytes() << ",";
            json_stats(j, "ttfb_ms", stats_of(e.ttfb));
            j << ",";
            json_stats(j, "decode_tps", stats_of(e.decode));
            j << ",";
            json_stats(j, "pp_tps", stats_of(e.pp));
            j << ",";
            json_stats(j, "tg_tps", stats_of(e.tg));
            if (!e.profile.empty())
                j << ",\"profile\":" << profile_json(e.profile) << ",\"prompt_profile\":" << profile_json(e.prompt_profile);
        };
        j << ",";  // the first model's fields at the top level too (one-model readers)
        run_fields(entries[0]);
        j << ",\"runs\":[";
        for (size_t i = 0; i < entries.size(); ++i) {
            j << (i ? ",{" : "{");
            run_fields(entries[i]);
            j << "}";
        }
        j << "]}\n";
        write_file_atomic(args.get("--json"), j.str());
    }
    return 0;
}

}  // namespace glowq::cli

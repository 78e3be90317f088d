#include "model_options.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "glowq/error.hpp"

namespace glowq::cli {

std::set<std::string> model_option_names() {
    return {"-m", "--model", "--device", "--limits", "--features-off", "--ctx", "--chunk"};
}
std::set<std::string> sampler_option_names() {
    return {"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n", "--seed"};
}

const char* model_options_help() {
    return "  -m, --model FILE     GGUF model (default: $GLOWQ_MODEL, else the cached SmolLM2-135M-Instruct\n"
           "                       that scripts/fetch_model.sh downloads)\n"
           "  --device D           Vulkan device index or name substring (default: $GLOWQ_DEVICE or the best)\n"
           "  --limits L           device | android-baseline: use only what every Android 10+ device\n"
           "                       guarantees (default: $GLOWQ_LIMITS, else device)\n"
           "  --features-off L     device features to leave unused, comma-separated: subgroup-ops,\n"
           "                       fp16-math, storage16, storage8, integer-dot, cooperative-matrix,\n"
           "                       subgroup-size, fp16-conversion\n"
           "  --ctx N              context length in tokens (default 2048, at most the model's)\n"
           "  --chunk N            prompt tokens per prefill step (default: 512 on GPUs, 128 on CPU drivers)\n";
}

const char* sampler_options_help() {
    return "  --temp T             temperature; 0 = greedy (default 0.8)\n"
           "  --top-k K            keep the K most likely tokens; 0 = off (default 40)\n"
           "  --top-p P            nucleus sampling; 1 = off (default 0.95)\n"
           "  --min-p P            drop tokens below P x the top probability; 0 = off (default 0.05)\n"
           "  --repeat-penalty R   penalize recent tokens; 1 = off (default 1.0)\n"
           "  --repeat-last-n N    how many recent tokens the penalty sees (default 64)\n"
           "  --seed S             random seed (default 0)\n";
}

static double get_float(const Args& a, const std::string& name, double fallback, double lo, double hi) {
    if (!a.has(name)) return fallback;
    const std::string v = a.get(name);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || !(x >= lo && x <= hi))
        throw Error(ErrorKind::InvalidArgument, "option " + name + " needs a number in [" + std::to_string(lo) + ", " +
                                                    std::to_string(hi) + "], got '" + v + "'");
    return x;
}

std::string model_path(const Args& args) {
    if (args.has("-m")) return args.get("-m");
    if (args.has("--model")) return args.get("--model");
    if (const char* env = std::getenv("GLOWQ_MODEL"); env && *env) return env;
    const char* cache = std::getenv("GLOWQ_CACHE");
    const char* home = std::getenv("HOME");
    const std::string dir = cache && *cache ? cache : std::string(home ? home : ".") + "/.cache/glowq";
    const std::string path = dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
    if (!std::ifstream(path))
        throw Error(ErrorKind::Io, "no model given and the default model is not in the cache (" + path +
                                       "); run scripts/fetch_model.sh or pass -m FILE");
    return path;
}

EngineOptions engine_options(const Args& args) {
    EngineOptions o;
    o.device = args.get("--device");
    if (o.device.empty())
        if (const char* env = std::getenv("GLOWQ_DEVICE")) o.device = env;
    std::string limits = args.get("--limits");
    if (limits.empty())
        if (const char* env = std::getenv("GLOWQ_LIMITS")) limits = env;
    if (!limits.empty() && !vk::parse_limits_profile(limits, o.limits))
        throw Error(ErrorKind::InvalidArgument, "--limits must be device or android-baseline, got '" + limits + "'");
    if (args.has("--features-off") && !vk::parse_feature_keys(args.get("--features-off"), o.disable_features))
        throw Error(ErrorKind::InvalidArgument, "--features-off: unknown feature in '" + args.get("--features-off") +
                                                    "' (see --help)");
    const char* v = std::getenv("GLOWQ_VALIDATION");
    o.validation = v && *v && std::string(v) != "0";
    if (o.validation)
        o.log = [](vk::LogLevel level, const std::string& message) {
            if (level >= vk::LogLevel::Warning) std::fprintf(stderr, "glowq: %s\n", message.c_str());
        };
    return o;
}

std::shared_ptr<Engine> make_engine(const Args& args) { return std::make_shared<Engine>(engine_options(args)); }

LoadedModel load_model(const Args& args, bool verbose) {
    const auto t0 = std::chrono::steady_clock::now();
    LoadedModel m;
    const std::string path = model_path(args);
    m.engine = make_engine(args);
    if (verbose) std::fprintf(stderr, "glowq: loading %s on %s\n", path.c_str(), m.engine->device_name().c_str());
    m.model = Model::load_file(m.engine, path);
    m.load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return m;
}

SessionOptions session_options(const Args& args) {
    SessionOptions o;
    o.context = uint32_t(args.get_int("--ctx", 2048, 8, 1 << 20));
    o.chunk = uint32_t(args.get_int("--chunk", 0, 0, 4096));
    return o;
}

SamplerParams sampler_params(const Args& a) {
    SamplerParams p;
    p.temperature = float(get_float(a, "--temp", p.temperature, 0, 100));
    p.top_k = int32_t(a.get_int("--top-k", p.top_k, 0, 1 << 30));
    p.top_p = float(get_float(a, "--top-p", p.top_p, 0, 1));
    p.min_p = float(get_float(a, "--min-p", p.min_p, 0, 1));
    p.repeat_penalty = float(get_float(a, "--repeat-penalty", p.repeat_penalty, 0.01, 100));
    p.repeat_last_n = int32_t(a.get_int("--repeat-last-n", p.repeat_last_n, -1, 1 << 30));
    p.seed = uint64_t(a.get_int("--seed", 0, 0, (1L << 62)));
    return p;
}

}  // namespace glowq::cli

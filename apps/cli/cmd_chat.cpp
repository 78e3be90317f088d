// `glowq chat`: an interactive terminal chat on the embedding API's Chat, which keeps
// the conversation in the KV cache (each turn evaluates only the new tokens) and drops
// the oldest turns when the context fills.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "glowq/chat.hpp"
#include "model_options.hpp"

namespace glowq::cli {

int cmd_chat(const std::vector<std::string>& argv) {
    auto options = model_option_names();
    for (const auto& s : sampler_option_names()) options.insert(s);
    options.insert({"--system", "-n", "--n-predict"});
    Args args(argv, {"--help", "-h", "--quiet"}, options);
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq chat [-m MODEL] [options]\n\n"
            "Interactive chat in the terminal with the model's chat template. Type a message and\n"
            "press Enter; /reset starts over, /quit (or end of input) leaves. History is kept\n"
            "within the context; when it fills, the oldest turns are dropped.\n\n"
            "  --system TEXT        system message\n"
            "  -n, --n-predict N    tokens per reply at most (default 512)\n"
            "  --quiet              no loading message\n%s%s",
            model_options_help(), sampler_options_help());
        return 0;
    }
    const uint32_t n_predict = uint32_t(args.has("-n") ? args.get_int("-n", 512, 1, 1 << 20)
                                                        : args.get_int("--n-predict", 512, 1, 1 << 20));
    const SamplerParams sp = sampler_params(args);  // bad options fail before the model loads
    ChatOptions co;
    co.session = session_options(args);
    co.system_prompt = args.get("--system");
    LoadedModel m = load_model(args, !args.has("--quiet"));
    Chat chat(m.model, co);
    GenerateOptions go;
    go.max_tokens = n_predict;
    std::fprintf(stderr, "glowq chat on %s, context %u tokens. /reset, /quit.\n", m.engine->device_name().c_str(),
                 chat.context());
    std::string line;
    while (true) {
        std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line) || line == "/quit") break;
        if (line == "/reset") {
            chat.clear();
            std::fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (line.empty()) continue;
        try {
            const GenerateResult r = chat.send(line, sp, go, [](const std::string& t, int32_t) {
                std::fputs(t.c_str(), stdout);
                std::fflush(stdout);
                return true;
            });
            std::printf("\n");
            std::fprintf(stderr, "[%zu tokens, TTFB %.0f ms, %.1f tok/s, context %u/%u]\n", r.tokens.size(), r.ttfb_ms,
                         r.decode_tokens_per_s(), chat.tokens_used(), chat.context());
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::ContextFull) throw;
            std::fprintf(stderr, "error: %s\n", e.what());
        }
    }
    return 0;
}

}  // namespace glowq::cli

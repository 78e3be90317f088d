// `glowq run`: one prompt in, streamed text out, then a one-line summary.
#include <cstdio>

#include "commands.hpp"
#include "glowq/generate.hpp"
#include "model_options.hpp"
#include "profile_report.hpp"

namespace glowq::cli {

int cmd_run(const std::vector<std::string>& argv) {
    auto options = model_option_names();
    for (const auto& s : sampler_option_names()) options.insert(s);
    options.insert({"-p", "--prompt", "-n", "--n-predict", "--system"});
    Args args(argv, {"--help", "-h", "--raw", "--quiet", "--profile"}, options);
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq run [-m MODEL] -p PROMPT [-n N] [options]\n\n"
            "Generates text for PROMPT on a Vulkan device, streaming it as it comes, and ends with\n"
            "a summary: prompt tokens, time to first token (TTFB), prefill and decode tokens/s.\n"
            "The prompt is wrapped in the model's chat template unless --raw is given.\n\n"
            "  -p, --prompt TEXT    the prompt (or the user message)\n"
            "  -n, --n-predict N    tokens to generate at most (default 256)\n"
            "  --system TEXT        system message (chat template only)\n"
            "  --raw                feed the prompt as is, with no chat template\n"
            "  --quiet              no loading message\n"
            "  --profile            after generating, time every dispatch of one more decode step\n"
            "                       (GPU timestamps, a barrier between dispatches, median of 10)\n"
            "                       and print where the time goes\n%s%s",
            model_options_help(), sampler_options_help());
        return 0;
    }
    const std::string prompt = args.has("-p") ? args.get("-p") : args.get("--prompt");
    if (prompt.empty()) throw Error(ErrorKind::InvalidArgument, "no prompt: pass -p TEXT (see --help)");
    const uint32_t n = uint32_t(args.has("-n") ? args.get_int("-n", 256, 1, 1 << 20)
                                                : args.get_int("--n-predict", 256, 1, 1 << 20));
    const SamplerParams sp = sampler_params(args);  // bad options fail before the model loads
    const SessionOptions so = session_options(args);
    LoadedModel m = load_model(args, !args.has("--quiet"));
    Session session(m.model, so);
    const Tokenizer& tok = m.model->tokenizer();

    std::vector<int32_t> ids;
    GenerateOptions go;
    go.max_tokens = n;
    if (args.has("--raw")) {
        ids = tok.encode(prompt, true, false);
    } else {
        std::vector<ChatMessage> msgs;
        if (args.has("--system")) msgs.push_back({"system", args.get("--system")});
        msgs.push_back({"user", prompt});
        ids = tok.encode(m.model->chat_template().apply(msgs, true), true, true);
    }
    const GenerateResult r = session.generate(ids, sp, go, [](const std::string& text, int32_t) {
        std::fputs(text.c_str(), stdout);
        std::fflush(stdout);
        return true;
    });
    std::printf("\n");
    std::fprintf(stderr,
                 "[%s] prompt %u tokens, generated %zu (%s) | TTFB %.1f ms | prefill %.1f tok/s | decode %.1f tok/s\n",
                 m.engine->device_name().c_str(), r.prompt_tokens, r.tokens.size(), stop_reason_name(r.stop_reason), r.ttfb_ms,
                 r.prefill_tokens_per_s(), r.decode_tokens_per_s());
    if (args.has("--profile")) {
        // The last generated token at its own position: every position before it is cached.
        const int32_t last = r.tokens.empty() ? ids.back() : r.tokens.back();
        VulkanLlama& exec = session.executor();
        const uint32_t pos = std::min<uint32_t>(uint32_t(ids.size() + r.tokens.size()) - 1, exec.max_context() - 1);
        print_profile(stderr, exec.profile_step(&last, 1, pos, 10));
    }
    return 0;
}

}  // namespace glowq::cli

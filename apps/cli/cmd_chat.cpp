// `glowq chat`: an interactive terminal chat. The conversation lives in the KV cache: each
// turn evaluates only the new tokens; when the context fills, the oldest turns are
// dropped and the kept history is evaluated again.
#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "glowq/generate.hpp"
#include "glowq/loader/chat_template.hpp"
#include "model_options.hpp"

namespace glowq::cli {

namespace {

// The tokens of the whole conversation so far, with a generation prompt at the end.
std::vector<int32_t> render(const Tokenizer& tok, const ChatTemplate& tmpl, const std::vector<ChatMessage>& msgs) {
    return tok.encode(tmpl.apply(msgs, true), true, true);
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

}  // namespace

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
    LoadedModel m = load_model(args, !args.has("--quiet"));
    const Tokenizer& tok = *m.tokenizer;
    const ChatTemplate tmpl = ChatTemplate::from_jinja(tok.vocab().chat_template);
    Sampler sampler(sp);
    const uint32_t ctx = m.model->max_context();

    std::vector<ChatMessage> history;
    if (args.has("--system")) history.push_back({"system", args.get("--system")});
    const size_t fixed = history.size();
    std::vector<int32_t> cached;  // tokens whose K/V are in the cache
    std::fprintf(stderr, "glowq chat on %s, context %u tokens. /reset, /quit.\n", m.ctx->caps().name.c_str(), ctx);
    std::string line;
    while (true) {
        std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line) || line == "/quit") break;
        if (line == "/reset") {
            history.resize(fixed);
            cached.clear();
            sampler.reset();
            std::fprintf(stderr, "(conversation cleared)\n");
            continue;
        }
        if (line.empty()) continue;
        history.push_back({"user", line});
        std::vector<int32_t> all = render(tok, tmpl, history);
        // Keep room for the reply: drop the oldest turns (never the system message).
        while (all.size() + std::min<uint32_t>(n_predict, ctx / 4) >= ctx && history.size() > fixed + 1) {
            history.erase(history.begin() + long(fixed));
            all = render(tok, tmpl, history);
        }
        if (all.size() >= ctx) {
            std::fprintf(stderr, "error: this message alone (%zu tokens) does not fit the context of %u tokens\n",
                         all.size(), ctx);
            history.pop_back();
            continue;
        }
        const size_t keep = std::min(common_prefix(cached, all), all.size() - 1);
        const std::vector<int32_t> fresh(all.begin() + long(keep), all.end());
        GenerateOptions go;
        go.max_tokens = std::min<uint32_t>(n_predict, ctx - uint32_t(all.size()) - 1);
        sampler.reset();
        const GenerateResult r = generate(*m.model, tok, sampler, fresh, uint32_t(keep), go, [](const std::string& t) {
            std::fputs(t.c_str(), stdout);
            std::fflush(stdout);
            return true;
        });
        std::printf("\n");
        std::fprintf(stderr, "[%zu tokens, TTFB %.0f ms, %.1f tok/s]\n", r.tokens.size(), r.ttfb_ms,
                     r.decode_tokens_per_s());
        history.push_back({"assistant", r.text});
        cached.assign(all.begin(), all.end());
        cached.insert(cached.end(), r.tokens.begin(), r.tokens.end());
    }
    return 0;
}

}  // namespace glowq::cli

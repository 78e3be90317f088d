// `glowq ppl`: perplexity of a model on a text file, on the Vulkan device (or the CPU
// reference with --cpu), with llama-perplexity's protocol by default so the numbers compare.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.hpp"
#include "glowq/model/perplexity.hpp"
#include "glowq/model/reference.hpp"
#include "model_options.hpp"
#include "progress.hpp"

namespace glowq::cli {

int cmd_ppl(const std::vector<std::string>& argv) {
    auto options = model_option_names();
    options.insert({"-f", "--file", "--protocol", "--chunks"});
    Args args(argv, {"--help", "-h", "--cpu", "--quiet"}, options);
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq ppl [-m MODEL] -f TEXT [--ctx N] [--protocol llama.cpp|all] [--chunks K]\n\n"
            "Perplexity over non-overlapping windows of --ctx tokens (default 512), each evaluated\n"
            "from an empty context with its first token replaced by BOS.\n"
            "  --protocol llama.cpp  score the second half of each window (llama-perplexity's way;\n"
            "                        the default, so the numbers compare)\n"
            "  --protocol all        score every token after the first of each window\n"
            "  --chunks K            at most K windows (default: all)\n"
            "  --cpu                 use the fp32 CPU reference instead of Vulkan\n%s",
            model_options_help());
        return 0;
    }
    const std::string path = args.has("-f") ? args.get("-f") : args.get("--file");
    if (path.empty()) throw Error(ErrorKind::InvalidArgument, "no text: pass -f FILE (see --help)");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::Io, "cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string protocol = args.get("--protocol", "llama.cpp");
    if (protocol != "llama.cpp" && protocol != "all")
        throw Error(ErrorKind::InvalidArgument, "--protocol must be llama.cpp or all, got '" + protocol + "'");

    PerplexityOptions po;
    po.ctx = uint32_t(args.get_int("--ctx", 512, 8, 1 << 20));
    po.protocol = protocol == "all" ? PplProtocol::All : PplProtocol::LlamaCpp;
    po.max_windows = int32_t(args.get_int("--chunks", -1, -1, 1 << 30));

    // The model's context must hold one window: --ctx sets both.
    LoadedModel m;
    std::unique_ptr<Session> session;
    std::unique_ptr<ReferenceLlama> cpu;
    Forward* forward = nullptr;
    std::string where;
    std::unique_ptr<GgufFile> file;
    std::unique_ptr<Tokenizer> cpu_tokenizer;
    const Tokenizer* tokenizer = nullptr;
    if (args.has("--cpu")) {
        file = std::make_unique<GgufFile>(GgufFile::open(model_path(args)));
        cpu_tokenizer = std::make_unique<Tokenizer>(vocab_from_gguf(*file));
        tokenizer = cpu_tokenizer.get();
        cpu = std::make_unique<ReferenceLlama>(std::make_shared<HostWeights>(HostWeights::load(*file)), po.ctx);
        forward = cpu.get();
        where = "CPU reference (fp32)";
    } else {
        m = load_model(args, !args.has("--quiet"));
        SessionOptions so = session_options(args);
        so.context = po.ctx;
        session = std::make_unique<Session>(m.model, so);
        tokenizer = &m.model->tokenizer();
        forward = &session->executor();
        where = m.engine->device_name();
    }
    const Tokenizer& tok = *tokenizer;
    // As llama-perplexity: the text is tokenized with BOS when the vocabulary adds one, and
    // each window's first token becomes BOS.
    const std::vector<int32_t> tokens = tok.encode(ss.str(), true, false);
    po.bos = tok.vocab().add_bos ? tok.bos() : -1;
    const uint32_t windows_total = uint32_t(tokens.size() / po.ctx);
    const uint32_t windows = po.max_windows >= 0 ? std::min<uint32_t>(windows_total, uint32_t(po.max_windows)) : windows_total;
    Progress progress("ppl", windows, !args.has("--quiet"));
    po.progress = [&](uint32_t done, uint32_t, double ppl) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "ppl %.4f", ppl);
        progress.step(buf);
        (void)done;
    };
    const auto t0 = std::chrono::steady_clock::now();
    const PerplexityResult r = perplexity(*forward, tokens, po);
    progress.done();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("file %s: %zu tokens; %u windows of %u tokens; protocol %s; device %s\n", path.c_str(), tokens.size(),
                r.n_windows, po.ctx,
                po.protocol == PplProtocol::All ? "all (every token after the first of each window)"
                                                : "llama.cpp (second half of each window)",
                where.c_str());
    std::printf("PPL = %.4f +/- %.4f  (%llu tokens scored, %.1f s, %.1f tokens/s)\n", r.ppl, r.ppl_stderr,
                (unsigned long long)r.n_scored, secs, r.n_windows * po.ctx / secs);
    return 0;
}

}  // namespace glowq::cli

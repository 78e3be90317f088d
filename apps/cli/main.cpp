// glowq: one command, subcommands. Each subcommand lives in its own file.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.hpp"
#include "glowq/error.hpp"

namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>& args);
};

const Command kCommands[] = {
    {"run", "generate text for a prompt", glowq::cli::cmd_run},
    {"chat", "interactive chat in the terminal", glowq::cli::cmd_chat},
    {"ppl", "perplexity on a text file", glowq::cli::cmd_ppl},
    {"info", "Vulkan devices and capabilities, or a GGUF model's contents", glowq::cli::cmd_info},
    {"quantize", "int4 quantization with GlowQ low-rank corrections", glowq::cli::cmd_quantize},
    {"synth", "write a model of a known shape with random weights", glowq::cli::cmd_synth},
    {"bench", "benchmarks: `bench model` (TTFB, tokens/s), `bench kernels` (matmul GB/s)", glowq::cli::cmd_bench},
};

void usage(FILE* out) {
    std::fprintf(out, "usage: glowq <command> [options]\n\ncommands:\n");
    for (const auto& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
    std::fprintf(out, "\n`glowq <command> --help` describes a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const std::string name = argv[1];
    if (name == "--help" || name == "-h" || name == "help") {
        usage(stdout);
        return 0;
    }
    if (name == "--version") {
        std::printf("glowq 0.1.0\n");
        return 0;
    }
    std::vector<std::string> args(argv + 2, argv + argc);
    for (const auto& c : kCommands) {
        if (name != c.name) continue;
        try {
            return c.run(args);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "glowq %s: error: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "glowq: unknown command '%s'\n\n", name.c_str());
    usage(stderr);
    return 2;
}

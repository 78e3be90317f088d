// `glowq bench <what>`: benchmarks. Each benchmark lives in its own file.
#include <cstdio>

#include "commands.hpp"

namespace glowq::cli {

int bench_kernels(const std::vector<std::string>& args);
int bench_model(const std::vector<std::string>& args);

int cmd_bench(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::printf(
            "usage: glowq bench kernels|model [options]\n\n"
            "  model     a whole model: TTFB, decode tokens/s, pp512, tg128 (see `glowq bench model --help`)\n"
            "  kernels   time the int4 GEMV/GEMM kernels on model-shaped matrices with GPU\n"
            "            timestamps, against the device's copy bandwidth (see `glowq bench kernels --help`)\n");
        return args.empty() ? 2 : 0;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    if (args[0] == "kernels") return bench_kernels(rest);
    if (args[0] == "model") return bench_model(rest);
    std::fprintf(stderr, "glowq bench: unknown benchmark '%s' (see --help)\n", args[0].c_str());
    return 2;
}

}  // namespace glowq::cli

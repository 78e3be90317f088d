// `glowq synth`: a GGUF of any architecture in the table with seeded random weights, for tests and for
// benchmarks on machines that cannot download a model.
#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "glowq/loader/synth_model.hpp"

namespace glowq::cli {

int cmd_synth(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--chatml"}, {"--shape", "-o", "--type", "--seed", "--layers"});
    if (args.has("--help") || args.has("-h")) {
        std::string shapes;
        for (const auto& s : synth_shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
        std::printf(
            "usage: glowq synth --shape NAME -o OUT.gguf [--type q4_0|q4_1|f16] [--seed S] [--layers N] [--chatml]\n\n"
            "Writes a model of a known shape (llama, qwen2 or gemma3) with random weights (same\noptions, same bytes).\n"
            "  --shape NAME   one of: %s\n"
            "  --type T       matrix type (default q4_0)\n"
            "  --seed S       random seed (default 1)\n"
            "  --layers N     fewer layers than the shape has, for quick runs\n"
            "  --chatml       with a ChatML chat template (for chat tests)\n",
            shapes.c_str());
        return 0;
    }
    if (!args.has("--shape") || !args.has("-o"))
        throw Error(ErrorKind::InvalidArgument, "glowq synth needs --shape NAME and -o OUT.gguf (see --help)");
    SynthOptions o;
    o.shape = synth_shape(args.get("--shape"));
    const std::string type = args.get("--type", "q4_0");
    if (type == "q4_0") o.matrix_type = GgmlType::Q4_0;
    else if (type == "q4_1") o.matrix_type = GgmlType::Q4_1;
    else if (type == "f16") o.matrix_type = GgmlType::F16;
    else throw Error(ErrorKind::InvalidArgument, "--type must be q4_0, q4_1 or f16, got '" + type + "'");
    o.seed = uint64_t(args.get_int("--seed", 1, 0, 1L << 62));
    if (args.has("--layers")) o.layers = uint32_t(args.get_int("--layers", 1, 1, 1000));
    if (args.has("--chatml")) o.chat_template = kSynthChatmlTemplate;
    write_synth_model(args.get("-o"), o);
    std::printf("%s\n", args.get("-o").c_str());
    return 0;
}

}  // namespace glowq::cli

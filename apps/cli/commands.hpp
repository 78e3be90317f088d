// The subcommands of the glowq CLI. Each returns the process exit code; errors are thrown
// as glowq::Error and reported by main.
#pragma once
#include <string>
#include <vector>

namespace glowq::cli {
int cmd_info(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_run(const std::vector<std::string>& args);
int cmd_chat(const std::vector<std::string>& args);
int cmd_ppl(const std::vector<std::string>& args);
int cmd_synth(const std::vector<std::string>& args);
int cmd_quantize(const std::vector<std::string>& args);
}  // namespace glowq::cli

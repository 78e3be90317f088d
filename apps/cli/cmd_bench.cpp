#include "commands.hpp"
namespace glowq::cli {
int cmd_bench(const std::vector<std::string>&) { return 2; }
}

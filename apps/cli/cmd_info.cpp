// `glowq info`: the Vulkan devices and what they can do.
#include <cstdio>

#include "commands.hpp"
#include "glowq/vk/context.hpp"

namespace glowq::cli {

int cmd_info(const std::vector<std::string>& args) {
    bool json = false;
    for (const auto& a : args) {
        if (a == "--help" || a == "-h") {
            std::printf(
                "usage: glowq info [--json]\n\n"
                "Lists the Vulkan devices with their capabilities (API and driver version, subgroup\n"
                "size and operations, shared memory, storage-buffer range, 8/16-bit storage, fp16\n"
                "and int8 arithmetic, integer dot product, timestamps, memory heaps).\n"
                "The device glowq would choose is marked with '*' (set GLOWQ_DEVICE to override).\n");
            return 0;
        }
        if (a == "--json") json = true;
        else {
            std::fprintf(stderr, "glowq info: unknown option '%s' (see --help)\n", a.c_str());
            return 2;
        }
    }
    const auto devices = vk::list_devices();
    if (json) {
        std::printf("{\"devices\":[");
        for (size_t i = 0; i < devices.size(); ++i) std::printf("%s%s", i ? "," : "", devices[i].to_json().c_str());
        std::printf("]}\n");
        return 0;
    }
    std::printf("%zu Vulkan device(s):\n", devices.size());
    for (const auto& d : devices) std::printf("%s", d.to_text().c_str());
    if (devices.empty()) return 1;
    return 0;
}

}  // namespace glowq::cli

#include "profile_report.hpp"

#include <algorithm>
#include <map>

namespace glowq::cli {

std::vector<KindTime> time_by_kind(const std::vector<vk::NodeTiming>& timings) {
    std::map<std::string, KindTime> by;
    for (const auto& t : timings) {
        std::string kind = t.label;
        const auto dot = kind.find('.');
        if (!kind.empty() && kind[0] == 'L' && dot != std::string::npos) kind = kind.substr(dot + 1);
        KindTime& k = by[kind];
        k.kind = kind;
        k.ms += t.ms;
        k.dispatches += 1;
    }
    std::vector<KindTime> out;
    for (auto& [name, k] : by) out.push_back(k);
    std::sort(out.begin(), out.end(), [](const KindTime& a, const KindTime& b) { return a.ms > b.ms; });
    return out;
}

void print_profile(FILE* out, const std::vector<vk::NodeTiming>& timings) {
    if (timings.empty()) {
        std::fprintf(out, "profile: no decode step ran\n");
        return;
    }
    double total = 0;
    for (const auto& t : timings) total += t.ms;
    std::fprintf(out, "decode step: %.3f ms in %zu dispatches (serialized for timing)\n", total, timings.size());
    for (const auto& k : time_by_kind(timings))
        std::fprintf(out, "  %-40s %9.3f ms %5.1f%%  (%d dispatches)\n", k.kind.c_str(), k.ms, 100 * k.ms / total,
                     k.dispatches);
}

}  // namespace glowq::cli

#include "profile_report.hpp"

#include <algorithm>
#include <map>
#include <sstream>

namespace glowq::cli {

std::vector<KindTime> time_by_kind(const std::vector<vk::NodeTiming>& timings) {
    std::map<std::string, KindTime> by;
    for (const auto& t : timings) {
        std::string kind = t.label;
        const auto dot = kind.find('.');
        if (!kind.empty() && kind[0] == 'L' && dot != std::string::npos) kind = kind.substr(dot + 1);
        if (!kind.empty() && kind.back() == ':') kind.pop_back();  // ops without a kernel suffix
        KindTime& k = by[kind];
        k.kind = kind;
        k.ms += t.ms;
        k.dispatches += 1;
        k.weight_bytes += t.weight_bytes;
    }
    std::vector<KindTime> out;
    for (auto& [name, k] : by) out.push_back(k);
    std::sort(out.begin(), out.end(), [](const KindTime& a, const KindTime& b) { return a.ms > b.ms; });
    return out;
}

static double total_ms(const std::vector<vk::NodeTiming>& timings) {
    double total = 0;
    for (const auto& t : timings) total += t.ms;
    return total;
}

void print_profile(FILE* out, const std::vector<vk::NodeTiming>& timings, double copy_gbps) {
    if (timings.empty()) {
        std::fprintf(out, "profile: no decode step ran\n");
        return;
    }
    const double total = total_ms(timings);
    std::fprintf(out, "step: %.3f ms in %zu dispatches (each timed alone, a barrier between all)\n\n", total,
                 timings.size());
    std::fprintf(out, "| dispatch kind | ms | share | dispatches | weight MiB | GB/s |%s\n",
                 copy_gbps > 0 ? " of copy |" : "");
    std::fprintf(out, "|---|---:|---:|---:|---:|---:|%s\n", copy_gbps > 0 ? "---:|" : "");
    for (const auto& k : time_by_kind(timings)) {
        std::fprintf(out, "| %s | %.3f | %.1f%% | %d |", k.kind.c_str(), k.ms, 100 * k.ms / total, k.dispatches);
        if (k.weight_bytes)
            std::fprintf(out, " %.2f | %.1f |", k.weight_bytes / 1048576.0, k.gbps());
        else
            std::fprintf(out, " | |");
        if (copy_gbps > 0)
            std::fprintf(out, k.weight_bytes ? " %.0f%% |" : " |", 100 * k.gbps() / copy_gbps);
        std::fprintf(out, "\n");
    }
}

std::string profile_json(const std::vector<vk::NodeTiming>& timings) {
    const double total = total_ms(timings);
    std::ostringstream j;
    j << "{\"step_ms\":" << total << ",\"dispatches\":" << timings.size() << ",\"kinds\":[";
    bool first = true;
    for (const auto& k : time_by_kind(timings)) {
        j << (first ? "" : ",") << "{\"kind\":\"" << k.kind << "\",\"ms\":" << k.ms
          << ",\"share\":" << (total > 0 ? k.ms / total : 0) << ",\"dispatches\":" << k.dispatches
          << ",\"weight_bytes\":" << k.weight_bytes << ",\"gbps\":" << k.gbps() << "}";
        first = false;
    }
    j << "]}";
    return j.str();
}

}  // namespace glowq::cli

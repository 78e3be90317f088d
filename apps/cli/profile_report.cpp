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

LayerDispatches layer_dispatches(const std::vector<vk::NodeTiming>& timings) {
    std::map<std::string, int> per;
    LayerDispatches d;
    for (const auto& t : timings) {
        const auto dot = t.label.find('.');
        const bool in_layer = t.label.size() > 1 && t.label[0] == 'L' && dot != std::string::npos &&
                              t.label.find_first_not_of("0123456789", 1) == dot;
        if (in_layer)
            per[t.label.substr(0, dot)] += 1;
        else
            d.outside += 1;
    }
    d.layers = int(per.size());
    for (const auto& [layer, n] : per) d.most = std::max(d.most, n);
    return d;
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
    const LayerDispatches ld = layer_dispatches(timings);
    std::fprintf(out,
                 "step: %.3f ms in %zu dispatches, %d per layer at most over %d layers and %d outside them (each "
                 "timed alone, a barrier between all)\n\n",
                 total, timings.size(), ld.most, ld.layers, ld.outside);
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
    const LayerDispatches ld = layer_dispatches(timings);
    j << "{\"step_ms\":" << total << ",\"dispatches\":" << timings.size() << ",\"dispatches_per_layer\":" << ld.most
      << ",\"layers\":" << ld.layers << ",\"dispatches_outside_layers\":" << ld.outside << ",\"kinds\":[";
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

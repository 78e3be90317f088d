#include "glowq/vk/fault_injection.hpp"

#ifdef GLOWQ_FAULT_INJECTION
#include <atomic>

namespace glowq::vk::fault {

namespace {
std::atomic<uint64_t> g_calls[kSites];
std::atomic<uint64_t> g_armed[kSites];  // the call number that fails; 0: none
}  // namespace

bool fail(Site site) {
    const int s = int(site);
    const uint64_t n = g_calls[s].fetch_add(1) + 1;
    return g_armed[s].load() == n;
}

void arm(Site site, uint64_t nth) {
    const int s = int(site);
    g_armed[s] = nth ? g_calls[s].load() + nth : 0;
}

void reset() {
    for (int s = 0; s < kSites; ++s) {
        g_calls[s] = 0;
        g_armed[s] = 0;
    }
}

uint64_t calls(Site site) { return g_calls[int(site)].load(); }

}  // namespace glowq::vk::fault
#endif

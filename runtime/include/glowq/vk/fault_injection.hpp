// Injected device faults, for tests: in a build configured with GLOWQ_FAULT_INJECTION (the
// AddressSanitizer build of scripts/test_api_sanitizers.sh, never a shipped library), the
// nth device memory allocation, queue submit or fence wait after arm() fails as a driver
// can fail it, so a test can sweep n over a whole load and generation and check that each
// failure comes back as a clear error and leaves the engine able to load again. Elsewhere
// fail() is a constant false and the hooks compile away.
#pragma once

#include <cstdint>

namespace glowq::vk::fault {

enum class Site : int { Allocation = 0, Submit = 1, FenceWait = 2 };
constexpr int kSites = 3;

#ifdef GLOWQ_FAULT_INJECTION
bool fail(Site site);                  // counts the call; true for the armed one
void arm(Site site, uint64_t nth);     // the nth call from now (1-based) fails; 0: none
void reset();                          // disarm every site and zero the counts
uint64_t calls(Site site);             // calls since the last reset
#else
constexpr bool fail(Site) { return false; }
#endif

}  // namespace glowq::vk::fault

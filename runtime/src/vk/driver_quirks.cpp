// The quirks table and its matching. Entries are added only with a public report of the
// bug; each one costs the affected devices some speed, never correctness.
#include "glowq/vk/driver_quirks.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "glowq/vk/device_profile.hpp"

namespace glowq::vk {

namespace {
constexpr uint32_t kQualcomm = 0x5143, kArm = 0x13B5, kImgTec = 0x1010, kAmd = 0x1002, kHuawei = 0x19E5;
constexpr uint32_t kMesa = 0x10005;
#if defined(__aarch64__)
constexpr const char* kHostArch = "aarch64";
#elif defined(__x86_64__)
constexpr const char* kHostArch = "x86_64";
#else
constexpr const char* kHostArch = "other";
#endif
constexpr uint32_t version(uint32_t major, uint32_t minor, uint32_t patch) { return (major << 22) | (minor << 12) | patch; }

bool contains_ci(const std::string& hay, const char* needle) {
    std::string h = hay, n = needle;
    for (char& c : h) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : n) c = char(std::tolower(static_cast<unsigned char>(c)));
    return h.find(n) != std::string::npos;
}
}  // namespace

const std::vector<DriverQuirk>& driver_quirks() {
    static const std::vector<DriverQuirk> table = {
#include "driver_quirks_table.inc"
    };
    return table;
}

std::vector<const DriverQuirk*> matching_quirks(const DeviceCaps& caps) {
    std::vector<const DriverQuirk*> out;
    for (const DriverQuirk& q : driver_quirks()) {
        if (q.vendor_id != caps.vendor_id) continue;
        if (q.device_name && !contains_ci(caps.name, q.device_name)) continue;
        if (q.driver_name && !contains_ci(caps.driver_name, q.driver_name)) continue;
        if (q.unless_driver && contains_ci(caps.driver_name, q.unless_driver)) continue;
        if (q.when_lacking && (features_present(caps) & q.when_lacking)) continue;
        if (q.host_arch && std::string(q.host_arch) != kHostArch) continue;
        if (q.driver_below && caps.driver_version >= q.driver_below) continue;
        if (q.api_below && caps.api_version >= q.api_below) continue;
        out.push_back(&q);
    }
    return out;
}

void apply_driver_quirks(DeviceCaps& caps) {
    for (const DriverQuirk* q : matching_quirks(caps))
        disable_features(caps, q->features_off, std::string("driver quirk: ") + q->problem + " (" + q->source + ")");
}

}  // namespace glowq::vk

// Median and range of repeated measurements, as every benchmark reports them.
#pragma once
#include <algorithm>
#include <vector>

namespace glowq::cli {

struct Stats {
    double median = 0, min = 0, max = 0;
};

inline Stats stats_of(std::vector<double> v) {
    Stats s;
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    s.min = v.front();
    s.max = v.back();
    s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}

}  // namespace glowq::cli

// A progress bar with ETA and the process's peak memory so far on stderr for long work;
// silent when stderr is not a terminal unless forced, so logs and pipes stay clean.
#pragma once
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace glowq::cli {

// The process's peak resident set so far (getrusage: KiB on Linux and Android).
inline double peak_rss_mib() {
    struct rusage ru {};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return double(ru.ru_maxrss) / 1024.0;
}

class Progress {
public:
    Progress(std::string title, size_t total, bool enabled = true)
        : title_(std::move(title)), total_(total ? total : 1), enabled_(enabled && isatty(2)),
          start_(std::chrono::steady_clock::now()) {
        draw("");
    }
    void step(const std::string& what) { at(done_ + 1, what); }
    // Work that reports its own count (and may start over).
    void at(size_t done, const std::string& what) {
        done_ = std::min(done, total_);
        draw(what);
    }
    void done() {
        if (enabled_) std::fprintf(stderr, "\n");
        enabled_ = false;
    }
    ~Progress() { done(); }

private:
    void draw(const std::string& what) {
        if (!enabled_) return;
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const double frac = double(done_) / double(total_);
        const int width = 30, fill = int(frac * width);
        const double eta = done_ ? elapsed / done_ * (total_ - done_) : 0.0;
        std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %zu/%zu  %5.1fs  ETA %5.1fs  peak %6.2f GiB  %-32.32s",
                     title_.c_str(), fill, "##############################", width - fill, "", int(frac * 100), done_,
                     total_, elapsed, eta, peak_rss_mib() / 1024.0, what.c_str());
        std::fflush(stderr);
    }
    std::string title_;
    size_t total_, done_ = 0;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace glowq::cli

// Injected device faults through the C API (a GLOWQ_FAULT_INJECTION build only; run by
// scripts/test_api_sanitizers.sh under AddressSanitizer): for each site (device memory
// allocation, queue submit, fence wait) and each call n of a model load and a short greedy
// generation, the nth call fails. Every such run must return a failure status with a
// message that names what failed, without a crash, a hang or a leak, and the same engine
// must then load the model again and generate the same text as before.
//
// usage: test_faults MODEL.gguf [max points per site]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "glowq/glowq.h"
#include "glowq/vk/fault_injection.hpp"

namespace fault = glowq::vk::fault;

namespace {

// The generated token ids (a synthetic model's pieces may be empty).
int collect(const char*, int32_t token, void* user) {
    *static_cast<std::string*>(user) += std::to_string(token) + " ";
    return 1;  // go on
}

// Loads, opens a session, generates 6 greedy tokens, releases everything.
glowq_status load_and_generate(glowq_engine* engine, const char* path, std::string& text) {
    text.clear();
    glowq_model* model = nullptr;
    glowq_status st = glowq_model_load_file(engine, path, nullptr, &model);
    if (st != GLOWQ_OK) return st;
    glowq_session* session = nullptr;
    st = glowq_session_create(model, nullptr, &session);
    if (st == GLOWQ_OK) {
        glowq_sampler_params sampler = glowq_sampler_default_params();
        sampler.temperature = 0.0f;
        glowq_generate_params p = glowq_generate_default_params();
        p.max_tokens = 6;
        p.sampler = &sampler;
        glowq_generate_result r = glowq_generate_result_init();
        st = glowq_session_generate(session, "Once upon a time", &p, collect, &text, &r);
    }
    glowq_session_destroy(session);
    glowq_model_destroy(model);
    return st;
}

const char* site_name(int s) { return s == 0 ? "allocation" : s == 1 ? "submit" : "fence wait"; }
// What the message must name for each site.
const char* site_clue(int s) { return s == 0 ? "device memory" : s == 1 ? "vkQueueSubmit" : "vkWaitForFences"; }

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: test_faults MODEL.gguf [max points per site]\n");
        return 2;
    }
    const char* path = argv[1];
    const uint64_t max_points = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 40;
    glowq_engine* engine = nullptr;
    if (glowq_engine_create(nullptr, &engine) != GLOWQ_OK) {
        std::fprintf(stderr, "no engine: %s\n", glowq_last_error());
        return 1;
    }
    // Twice: the first run also builds the pipelines the engine keeps, so the second run's
    // counts are the ones every later run repeats.
    std::string want, got;
    for (int i = 0; i < 2; ++i) {
        fault::reset();
        const glowq_status st = load_and_generate(engine, path, want);
        if (st != GLOWQ_OK || want.empty()) {
            std::fprintf(stderr, "the run without faults failed (%s, \"%s\"): %s\n", glowq_status_name(st), want.c_str(),
                         glowq_last_error());
            glowq_engine_destroy(engine);
            return 1;
        }
    }
    std::printf("clean run: tokens %s\n", want.c_str());
    uint64_t counts[fault::kSites];
    for (int s = 0; s < fault::kSites; ++s) counts[s] = fault::calls(fault::Site(s));
    int failures = 0, injected = 0;
    for (int s = 0; s < fault::kSites; ++s) {
        if (counts[s] == 0) {
            std::fprintf(stderr, "%s: no calls to fail\n", site_name(s));
            ++failures;
            continue;
        }
        const uint64_t stride = (counts[s] + max_points - 1) / max_points;
        for (uint64_t n = 1; n <= counts[s]; n += stride) {
            fault::reset();
            fault::arm(fault::Site(s), n);
            const glowq_status st = load_and_generate(engine, path, got);
            const std::string message = glowq_last_error();
            ++injected;
            if (n == 1) std::printf("%s, first call failed: %s: %s\n", site_name(s), glowq_status_name(st), message.c_str());
            if (st == GLOWQ_OK || message.find(site_clue(s)) == std::string::npos) {
                std::fprintf(stderr, "%s %llu of %llu: status %s, message \"%s\" (expected a failure naming %s)\n",
                             site_name(s), (unsigned long long)n, (unsigned long long)counts[s], glowq_status_name(st),
                             message.c_str(), site_clue(s));
                ++failures;
            }
            fault::reset();
            if (load_and_generate(engine, path, got) != GLOWQ_OK || got != want) {
                std::fprintf(stderr, "%s %llu: the next clean run failed or differed (\"%s\" vs \"%s\"): %s\n",
                             site_name(s), (unsigned long long)n, got.c_str(), want.c_str(), glowq_last_error());
                ++failures;
            }
        }
        std::printf("%s: %llu calls in a load and 6-token generation, faults injected at every %llu\n", site_name(s),
                    (unsigned long long)counts[s], (unsigned long long)stride);
    }
    glowq_engine_destroy(engine);
    std::printf("%d faults injected, %d problems\n", injected, failures);
    return failures ? 1 : 0;
}

// A seeded English-like calibration text for the quantizer's tests: a small vocabulary in
// varied order, so the tokenizer's merges and the activations' statistics are non-trivial.
#pragma once
#include <cstdint>
#include <string>

namespace glowq_test {

inline std::string calibration_text() {
    static const char* words[] = {"the", "model", "reads", "a", "quiet", "river", "of", "numbers", "and", "writes",
                                  "small", "corrections", "where", "error", "was", "large", "every", "layer", "shares",
                                  "input", "with", "its", "neighbours", "so", "one", "factor", "serves", "three"};
    std::string t;
    uint64_t s = 77;
    for (int i = 0; i < 3000; ++i) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t += words[(s >> 33) % (sizeof words / sizeof *words)];
        t += (i % 13 == 12) ? ".\n" : " ";
    }
    return t;
}

}  // namespace glowq_test

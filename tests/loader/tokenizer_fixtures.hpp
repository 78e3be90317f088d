// Where the tokenizer tests find their downloaded inputs. They are fetched, not committed
// (see scripts/fetch_vocab_tests.sh, fetch_botchan.sh, fetch_model.sh); a missing file
// fails the test with the command that fetches it, never skips it.
#pragma once
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

namespace glowq::test {

inline std::string cache_dir() {
    if (const char* c = std::getenv("GLOWQ_CACHE"); c && *c) return c;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.cache/glowq";
}

inline std::string vocab_dir() {
    if (const char* d = std::getenv("GLOWQ_VOCAB_DIR"); d && *d) return d;
    return cache_dir() + "/vocab";
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// The whole file, or a test failure naming the script that provides it.
inline std::string read_fetched_file(const std::string& path, const std::string& fetch_script) {
    std::ifstream in(path, std::ios::binary);
    if (!in) FAIL("missing " << path << ": run scripts/" << fetch_script);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace glowq::test

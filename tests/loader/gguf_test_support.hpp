// Helpers shared by the GGUF tests: a byte-level builder for hand-made (often broken)
// files, and where to find the fixtures that PyPI's gguf package generated.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>
#include <unistd.h>

#include "glowq/loader/gguf.hpp"

namespace glowq_test {

struct GgufBytes {
    std::vector<uint8_t> b;

    template <typename T> GgufBytes& put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof(T));
        std::memcpy(b.data() + at, &v, sizeof(T));
        return *this;
    }
    GgufBytes& str(std::string_view s) {
        put<uint64_t>(s.size());
        const size_t at = b.size();  // resize+memcpy: GCC 12 misreports insert() here
        b.resize(at + s.size());
        if (!s.empty()) std::memcpy(b.data() + at, s.data(), s.size());
        return *this;
    }
    GgufBytes& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        for (char c : {'G', 'G', 'U', 'F'}) put<char>(c);
        put<uint32_t>(version);
        put<uint64_t>(n_tensors);
        return put<uint64_t>(n_kv);
    }
    template <typename T> GgufBytes& kv(std::string_view key, glowq::GgufType t, T v) {
        str(key);
        put<uint32_t>(uint32_t(t));
        return put<T>(v);
    }
    GgufBytes& kv_str(std::string_view key, std::string_view v) {
        str(key);
        put<uint32_t>(uint32_t(glowq::GgufType::STRING));
        return str(v);
    }
    GgufBytes& tensor_info(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name);
        put<uint32_t>(uint32_t(ne.size()));
        for (uint64_t d : ne) put<uint64_t>(d);
        put<uint32_t>(type);
        return put<uint64_t>(offset);
    }
    GgufBytes& align(size_t a) {
        b.resize((b.size() + a - 1) / a * a, 0);
        return *this;
    }
    GgufBytes& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
    glowq::GgufFile parse(std::string name = "test.gguf") const {
        return glowq::GgufFile::from_memory(b.data(), b.size(), std::move(name));
    }
};

// Directory of the gguf-package fixtures: $GLOWQ_FIXTURES, else
// ${GLOWQ_CACHE:-$HOME/.cache/glowq}/fixtures (what scripts/make_test_fixtures.sh writes).
inline std::string fixtures_dir() {
    if (const char* f = std::getenv("GLOWQ_FIXTURES")) return f;
    if (const char* c = std::getenv("GLOWQ_CACHE")) return std::string(c) + "/fixtures";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.cache/glowq/fixtures";
}

// tests/data in the source tree: $GLOWQ_TEST_DATA (set by ctest), else next to this file.
inline std::string test_data_dir() {
    if (const char* d = std::getenv("GLOWQ_TEST_DATA")) return d;
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/../data";
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// $GLOWQ_GEMMA3_MODEL, else the Gemma 3 270M file `scripts/fetch_model.sh gemma3` fetches.
inline std::string gemma3_path() {
    if (const char* m = std::getenv("GLOWQ_GEMMA3_MODEL")) return m;
    const char* c = std::getenv("GLOWQ_CACHE");
    const char* home = std::getenv("HOME");
    return (c ? std::string(c) : std::string(home ? home : ".") + "/.cache/glowq") + "/models/gemma-3-270m-q4_k_m.gguf";
}

inline std::vector<uint8_t> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline std::vector<float> read_f32(const std::string& path) {
    const std::vector<uint8_t> bytes = read_file(path);
    std::vector<float> v(bytes.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
}

inline std::string temp_path(const std::string& leaf) {
    const char* t = std::getenv("TMPDIR");
    return std::string(t ? t : "/tmp") + "/glowq_test_" + std::to_string(::getpid()) + "_" + leaf;
}

}  // namespace glowq_test

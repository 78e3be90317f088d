// Where the runtime tests find the files scripts/ puts in the cache (models, the gguf
// package's interpreter, botchan.txt), and a runner for the numpy reference forward pass.
// A missing file is a test failure that names the script to run, never a skip.
#pragma once
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "glowq/loader/synth_model.hpp"

namespace glowq_test {

inline std::string cache_dir() {
    if (const char* c = std::getenv("GLOWQ_CACHE")) return c;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : ".") + "/.cache/glowq";
}

// $GLOWQ_FIXTURES, else $GLOWQ_CACHE/fixtures (scripts/make_test_fixtures.sh).
inline std::string fixtures_dir() {
    if (const char* f = std::getenv("GLOWQ_FIXTURES")) return f;
    return cache_dir() + "/fixtures";
}

// $GLOWQ_MODEL, else the SmolLM2 file scripts/fetch_model.sh fetches.
inline std::string smollm2_path() {
    if (const char* m = std::getenv("GLOWQ_MODEL")) return m;
    return cache_dir() + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

// $GLOWQ_GEMMA3_MODEL, else the Gemma 3 270M file `scripts/fetch_model.sh gemma3` fetches.
inline std::string gemma3_path() {
    if (const char* m = std::getenv("GLOWQ_GEMMA3_MODEL")) return m;
    return cache_dir() + "/models/gemma-3-270m-q4_k_m.gguf";
}

// tests/data in the source tree: $GLOWQ_TEST_DATA, else next to this file.
inline std::string test_data_dir() {
    if (const char* d = std::getenv("GLOWQ_TEST_DATA")) return d;
    const std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/../data";
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

inline std::string temp_path(const std::string& leaf) {
    const char* t = std::getenv("TMPDIR");
    return std::string(t ? t : "/tmp") + "/glowq_test_" + std::to_string(::getpid()) + "_" + leaf;
}

inline std::vector<float> read_f32_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<float> v(bytes.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * 4);
    return v;
}

// Logits of every position ([n][n_vocab]) from tests/data/llama_numpy_reference.py, run
// with the interpreter of the gguf-package venv.
inline std::vector<float> numpy_reference_logits(const std::string& model, const std::vector<int32_t>& tokens) {
    const std::string python = fixtures_dir() + "/python";
    const std::string script = test_data_dir() + "/llama_numpy_reference.py";
    if (!file_exists(python)) FAIL("missing " << python << ": run scripts/make_test_fixtures.sh (or set GLOWQ_FIXTURES)");
    if (!file_exists(script)) FAIL("missing " << script << " (set GLOWQ_TEST_DATA to tests/data)");
    const std::string out = temp_path("numpy_logits.bin");
    std::string cmd = "'" + python + "' '" + script + "' '" + model + "' '" + out + "'";
    for (int32_t t : tokens) cmd += " " + std::to_string(t);
    const int rc = std::system(cmd.c_str());
    if (rc != 0) FAIL("numpy reference failed (exit " << rc << "): " << cmd);
    std::vector<float> logits = read_f32_file(out);
    std::remove(out.c_str());
    return logits;
}

// Writes (once per process) a small Llama-shaped synthetic model for tests; the shapes and
// seeds are the callers', the file goes to temp_path(file).
struct TinyShape {
    uint32_t layers, embd, heads, kv_heads, ff, vocab, ctx;
};
inline std::string write_tiny_model(const std::string& file, const TinyShape& s, glowq::GgmlType type, uint64_t seed) {
    glowq::SynthOptions o;
    o.shape.name = file;
    o.shape.n_layers = s.layers;
    o.shape.n_embd = s.embd;
    o.shape.n_heads = s.heads;
    o.shape.n_kv_heads = s.kv_heads;
    o.shape.n_ff = s.ff;
    o.shape.n_vocab = s.vocab;
    o.shape.n_ctx = s.ctx;
    o.matrix_type = type;
    o.seed = seed;
    const std::string p = temp_path(file);
    glowq::write_synth_model(p, o);
    return p;
}

// A small synthetic model of another architecture (its traits add the tensors); F16
// matrices by default so every reader decodes the same weights.
inline std::string write_tiny_arch_model(const std::string& file, const std::string& arch, const TinyShape& s,
                                         uint32_t head_dim, uint32_t sliding_window, uint64_t seed,
                                         glowq::GgmlType type = glowq::GgmlType::F16) {
    glowq::SynthOptions o;
    o.shape.name = file;
    o.shape.architecture = arch;
    o.shape.n_layers = s.layers;
    o.shape.n_embd = s.embd;
    o.shape.n_heads = s.heads;
    o.shape.n_kv_heads = s.kv_heads;
    o.shape.head_dim = head_dim;
    o.shape.n_ff = s.ff;
    o.shape.n_vocab = s.vocab;
    o.shape.n_ctx = s.ctx;
    o.shape.sliding_window = sliding_window;
    o.shape.tied_output = true;
    o.matrix_type = type;
    o.seed = seed;
    const std::string p = temp_path(file);
    glowq::write_synth_model(p, o);
    return p;
}

}  // namespace glowq_test

// The CPU reference forward pass against an independent numpy implementation
// (tests/data/llama_numpy_reference.py, float64, the gguf package's dequantizers): on a
// tiny synthetic model and on the real SmolLM2-135M. Plus the contract of Forward::eval
// (prefill = token by token, rewinding, context limit) and the taps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>

#include "glowq/error.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/host_weights.hpp"
#include "glowq/model/reference.hpp"
#include "support/model_files.hpp"

using namespace glowq;

namespace {

// 2 layers, hidden 64, 4 heads over 2 kv heads, ffn 96, vocab 300, Q4_0: small enough for
// numpy to run in a blink, shaped to exercise GQA and the Q4 decoder.
const std::string& tiny_model() {
    static const std::string path =
        glowq_test::write_tiny_model("reference_tiny.gguf", {2, 64, 4, 2, 96, 300, 64}, GgmlType::Q4_0, 7);
    return path;
}

std::shared_ptr<const HostWeights> load_shared(const std::string& path) {
    return std::make_shared<const HostWeights>(HostWeights::load(path));
}

float max_abs(const std::vector<float>& v) {
    float m = 0.0f;
    for (float x : v) m = std::max(m, std::fabs(x));
    return m;
}

float max_abs_diff(const float* a, const float* b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
    return m;
}

size_t argmax(const float* x, size_t n) { return size_t(std::max_element(x, x + n) - x); }

// Logits of every position, the whole sequence as one prefill.
std::vector<float> prefill(ReferenceLlama& m, const std::vector<int32_t>& tokens) {
    std::vector<float> out(tokens.size() * m.config().n_vocab);
    m.eval(tokens.data(), uint32_t(tokens.size()), 0, out.data(), true);
    return out;
}

// Logits of every position, one token per eval.
std::vector<float> one_by_one(ReferenceLlama& m, const std::vector<int32_t>& tokens) {
    const size_t V = m.config().n_vocab;
    std::vector<float> out(tokens.size() * V);
    for (size_t i = 0; i < tokens.size(); ++i) m.eval(&tokens[i], 1, uint32_t(i), out.data() + i * V, false);
    return out;
}

}  // namespace

TEST_CASE("host weights: shapes and values are the dequantized tensors", "[reference]") {
    const GgufFile f = GgufFile::open(tiny_model());
    const HostWeights w = HostWeights::load(f);
    const ModelConfig& c = w.config;
    REQUIRE(w.layers.size() == 2);
    CHECK(w.token_embd.rows == c.n_vocab);
    CHECK(w.token_embd.cols == c.n_embd);
    CHECK(w.layers[1].wk.rows == c.n_kv_heads * c.head_dim);
    CHECK(w.layers[1].w_down.rows == c.n_embd);
    CHECK(w.layers[1].w_down.cols == c.n_ff);
    CHECK(w.layers[0].bq.empty());
    CHECK(&w.lm_head() == (c.tied_output ? &w.token_embd : &w.output));
    CHECK(w.layers[1].w_up.data == dequantize(f.tensor("blk.1.ffn_up.weight")));
}

TEST_CASE("reference forward: tiny synthetic model matches numpy", "[reference]") {
    ReferenceLlama m(load_shared(tiny_model()), 32);
    const std::vector<int32_t> tokens = {1, 17, 299, 42, 42, 256, 0, 123, 77, 5, 200};
    const size_t V = m.config().n_vocab;
    const std::vector<float> ref = glowq_test::numpy_reference_logits(tiny_model(), tokens);
    REQUIRE(ref.size() == tokens.size() * V);

    // fp32 against float64 through 2 layers of 64-wide dot products: the C++ rounding error
    // is a few ulp of the largest values (measured: 1.9e-6 at a logit scale of 4, i.e.
    // 5e-7 relative), so 1e-5 relative to the logit scale leaves 20x headroom, while any
    // formula slip (a rope pair, eps, scale or head mapping) moves logits by percent.
    const float tol = 1e-5f * std::max(1.0f, max_abs(ref));
    const std::vector<float> a = prefill(m, tokens);
    const std::vector<float> b = one_by_one(m, tokens);
    INFO("logit scale " << max_abs(ref) << ", tolerance " << tol);
    CHECK(max_abs_diff(a.data(), ref.data(), ref.size()) <= tol);
    CHECK(max_abs_diff(b.data(), ref.data(), ref.size()) <= tol);
}

// 6 layers so that one is global (layer 5) among local ones, a window of 5 positions
// under a 12-token prompt, head_dim 32 with hidden 64 over 4 heads (Gemma's heads are
// wider than hidden / heads), GQA 4:2.
const std::string& tiny_gemma3() {
    static const std::string path =
        glowq_test::write_tiny_arch_model("reference_gemma3.gguf", "gemma3", {6, 64, 4, 2, 96, 300, 64}, 32, 5, 11);
    return path;
}

const std::string& tiny_qwen2() {
    static const std::string path =
        glowq_test::write_tiny_arch_model("reference_qwen2.gguf", "qwen2", {2, 64, 4, 2, 96, 300, 64}, 0, 0, 13);
    return path;
}

// Prefill and token-by-token logits of `path` against numpy's on `tokens`.
void check_against_numpy(const std::string& path, const std::vector<int32_t>& tokens, float rel_tol) {
    ReferenceLlama m(load_shared(path), 32);
    const size_t V = m.config().n_vocab;
    const std::vector<float> ref = glowq_test::numpy_reference_logits(path, tokens);
    REQUIRE(ref.size() == tokens.size() * V);
    const float tol = rel_tol * std::max(1.0f, max_abs(ref));
    const std::vector<float> a = prefill(m, tokens);
    const std::vector<float> b = one_by_one(m, tokens);
    INFO(path << ": logit scale " << max_abs(ref) << ", tolerance " << tol);
    CHECK(max_abs_diff(a.data(), ref.data(), ref.size()) <= tol);
    CHECK(max_abs_diff(b.data(), ref.data(), ref.size()) <= tol);
}

TEST_CASE("reference forward: tiny synthetic gemma3 and qwen2 models match numpy", "[reference]") {
    const std::vector<int32_t> tokens = {1, 17, 299, 42, 42, 256, 0, 123, 77, 5, 200, 9};
    SECTION("gemma3: q/k norms, post-norms, GELU, scaled embeddings, a window shorter than the prompt") {
        const ModelConfig c = HostWeights::load(tiny_gemma3()).config;
        REQUIRE(c.sliding_window == 5);
        for (uint32_t l = 0; l < c.n_layers; ++l) CHECK(c.layer_is_local(l) == (l != 5));
        CHECK(c.head_dim == 32);
        // As the tiny Llama test (1e-5 relative), with 6 layers instead of 2.
        check_against_numpy(tiny_gemma3(), tokens, 2e-5f);
    }
    SECTION("qwen2: q/k/v biases, NEOX rotation") {
        const HostWeights w = HostWeights::load(tiny_qwen2());
        REQUIRE(w.layers[1].bv.size() == w.config.n_kv_heads * w.config.head_dim);
        check_against_numpy(tiny_qwen2(), tokens, 1e-5f);
    }
}

TEST_CASE("reference forward: a sliding window changes exactly the positions past it", "[reference]") {
    // The same weights read as global-only (window 0 by clearing the local flags): the
    // logits agree while the prompt fits the window and differ after it.
    auto w = std::make_shared<HostWeights>(HostWeights::load(tiny_gemma3()));
    auto global = std::make_shared<HostWeights>(*w);
    global->config.local_layers.assign(global->config.n_layers, false);
    ReferenceLlama a(w, 32), b(global, 32);
    const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
    const size_t V = w->config.n_vocab;
    const std::vector<float> la = prefill(a, tokens), lb = prefill(b, tokens);
    for (size_t i = 0; i < tokens.size(); ++i) {
        INFO("position " << i);
        const float diff = max_abs_diff(la.data() + i * V, lb.data() + i * V, V);
        if (i < 5) CHECK(diff == 0.0f);
        else CHECK(diff > 1e-3f);
    }
}

TEST_CASE("reference forward: eval contract (rewind, last logits, context limit)", "[reference]") {
    ReferenceLlama m(load_shared(tiny_model()), 16);
    const size_t V = m.config().n_vocab;
    const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
    const std::vector<float> all = prefill(m, tokens);
    CHECK(m.cached() == tokens.size());

    // Last-token logits of a prefill = the last row of all_logits (up to the rounding of
    // a one-row product, which Eigen computes with another kernel).
    std::vector<float> last(V);
    m.eval(tokens.data(), uint32_t(tokens.size()), 0, last.data(), false);
    CHECK(max_abs_diff(last.data(), all.data() + (tokens.size() - 1) * V, V) < 1e-5f * std::max(1.0f, max_abs(all)));

    // Rewind to position 5 and continue with other tokens: same as a fresh run of the edit.
    const std::vector<int32_t> edit = {3, 1, 4, 1, 5, 8, 8};
    std::vector<float> cont(2 * V);
    m.eval(edit.data() + 5, 2, 5, cont.data(), true);
    ReferenceLlama fresh(load_shared(tiny_model()), 16);
    const std::vector<float> ref = prefill(fresh, edit);
    CHECK(max_abs_diff(cont.data(), ref.data() + 5 * V, 2 * V) < 1e-5f * std::max(1.0f, max_abs(ref)));

    // Errors name the problem.
    std::vector<float> sink(16 * V);
    CHECK_THROWS_WITH(m.eval(tokens.data(), 1, 9, sink.data(), false), Catch::Contains("gap"));
    const std::vector<int32_t> many(17, 1);
    CHECK_THROWS_WITH(m.eval(many.data(), 17, 0, sink.data(), true), Catch::Contains("exceed the context of 16"));
    CHECK_THROWS_WITH(m.eval(many.data(), 10, 7, sink.data(), true), Catch::Contains("exceed the context of 16"));
    const int32_t bad = 300;
    CHECK_THROWS_WITH(m.eval(&bad, 1, 0, sink.data(), false), Catch::Contains("outside the vocabulary"));
}

TEST_CASE("reference forward: taps see every projection input", "[reference]") {
    ReferenceLlama m(load_shared(tiny_model()), 16);
    const ModelConfig& c = m.config();
    struct Seen {
        uint32_t layer;
        TapPoint point;
        uint32_t n, dim;
        float first;
    };
    std::vector<Seen> seen;
    m.set_tap([&](uint32_t layer, TapPoint p, const float* x, uint32_t n, uint32_t dim) {
        seen.push_back({layer, p, n, dim, x[0]});
    });
    const std::vector<int32_t> tokens = {10, 20, 30};
    std::vector<float> logits(c.n_vocab);
    m.eval(tokens.data(), 3, 0, logits.data(), false);
    REQUIRE(seen.size() == 4 * c.n_layers);
    const TapPoint order[] = {TapPoint::AttnInput, TapPoint::AttnOutput, TapPoint::FfnInput, TapPoint::FfnDownInput};
    const uint32_t dims[] = {c.n_embd, c.n_heads * c.head_dim, c.n_embd, c.n_ff};
    for (size_t i = 0; i < seen.size(); ++i) {
        CHECK(seen[i].layer == i / 4);
        CHECK(seen[i].point == order[i % 4]);
        CHECK(seen[i].n == 3);
        CHECK(seen[i].dim == dims[i % 4]);
        CHECK(std::isfinite(seen[i].first));
    }
    m.set_tap({});
    m.eval(tokens.data(), 3, 0, logits.data(), false);
    CHECK(seen.size() == 4 * c.n_layers);
}

TEST_CASE("reference forward: Gemma 3 270M matches numpy", "[reference][real-model]") {
    const std::string path = glowq_test::gemma3_path();
    if (!glowq_test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_model.sh gemma3");
    const GgufFile f = GgufFile::open(path);
    const Tokenizer tok(vocab_from_gguf(f));
    const std::vector<int32_t> tokens = tok.encode("The Eiffel Tower is located in the city of", true);
    REQUIRE(tokens.size() >= 8);
    REQUIRE(tokens[0] == 2);  // Gemma's BOS

    ReferenceLlama m(std::make_shared<const HostWeights>(HostWeights::load(f)), 64);
    const size_t V = m.config().n_vocab;
    const std::vector<float> ref = glowq_test::numpy_reference_logits(path, tokens);
    REQUIRE(ref.size() == tokens.size() * V);
    const std::vector<float> a = prefill(m, tokens);
    const float tol = 3e-5f * std::max(1.0f, max_abs(ref));
    INFO("logit scale " << max_abs(ref) << ", tolerance " << tol);
    CHECK(max_abs_diff(a.data(), ref.data(), ref.size()) <= tol);
    for (size_t i = 0; i < tokens.size(); ++i) {
        INFO("position " << i);
        CHECK(argmax(a.data() + i * V, V) == argmax(ref.data() + i * V, V));
    }
    // Greedy, the model continues with Paris, as llama.cpp does on this file.
    CHECK(tok.decode({int32_t(argmax(a.data() + (tokens.size() - 1) * V, V))}).find("Paris") != std::string::npos);
}

TEST_CASE("reference forward: SmolLM2-135M matches numpy", "[reference][real-model]") {
    const std::string path = glowq_test::smollm2_path();
    if (!glowq_test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_model.sh");
    const GgufFile f = GgufFile::open(path);
    const Tokenizer tok(vocab_from_gguf(f));
    const std::vector<int32_t> tokens = tok.encode("The capital of France is Paris, and the capital", true);
    REQUIRE(tokens.size() >= 8);

    ReferenceLlama m(std::make_shared<const HostWeights>(HostWeights::load(f)), 64);
    const size_t V = m.config().n_vocab;
    const std::vector<float> ref = glowq_test::numpy_reference_logits(path, tokens);
    REQUIRE(ref.size() == tokens.size() * V);
    const std::vector<float> a = prefill(m, tokens);
    const std::vector<float> b = one_by_one(m, tokens);

    // 30 layers of fp32 (576- and 1536-long dot products, a 49152-row head) against
    // float64: rounding compounds through the residual stream (measured: 8.3e-5 at a logit
    // scale of 27, 3e-6 relative); 3e-5 relative (~8e-4) leaves 10x headroom, while a
    // mistake in the math moves logits by whole units.
    const float tol = 3e-5f * std::max(1.0f, max_abs(ref));
    INFO("logit scale " << max_abs(ref) << ", tolerance " << tol);
    CHECK(max_abs_diff(a.data(), ref.data(), ref.size()) <= tol);
    CHECK(max_abs_diff(b.data(), ref.data(), ref.size()) <= tol);
    for (size_t i = 0; i < tokens.size(); ++i) {
        INFO("position " << i);
        CHECK(argmax(a.data() + i * V, V) == argmax(ref.data() + i * V, V));
        CHECK(argmax(b.data() + i * V, V) == argmax(ref.data() + i * V, V));
    }
}

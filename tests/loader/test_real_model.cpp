// The real SmolLM2-135M-Instruct Q4_1 file (scripts/fetch_model.sh; $GLOWQ_MODEL overrides
// the path). Absent file = failure, not a skip: the [real-model] tag lets a runner select
// or exclude these explicitly.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "glowq/loader/dequant.hpp"
#include "glowq/loader/int4_import.hpp"
#include "glowq/loader/model_config.hpp"
#include "gguf_test_support.hpp"

using namespace glowq;

namespace {
std::string model_path() {
    if (const char* m = std::getenv("GLOWQ_MODEL")) return m;
    const char* c = std::getenv("GLOWQ_CACHE");
    const char* home = std::getenv("HOME");
    return (c ? std::string(c) : std::string(home ? home : ".") + "/.cache/glowq") +
           "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}
}  // namespace

TEST_CASE("real Gemma 3 270M: the architecture table's traits and the file's hyper-parameters", "[real-model]") {
    const std::string path = glowq_test::gemma3_path();
    if (!glowq_test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_model.sh gemma3");
    const GgufFile f = GgufFile::open(path);
    const ModelConfig c = read_model_config(f);
    CHECK(c.architecture == "gemma3");
    CHECK(c.n_layers == 18);
    CHECK(c.n_embd == 640);
    CHECK(c.n_heads == 4);
    CHECK(c.n_kv_heads == 1);
    CHECK(c.head_dim == 256);
    CHECK(c.n_ff == 2048);
    CHECK(c.n_vocab == 262144);
    CHECK(c.tied_output);
    CHECK(c.arch.rope == RopeStyle::Neox);
    CHECK(c.arch.activation == Activation::GeluTanh);
    CHECK(c.arch.qk_norm);
    CHECK(c.arch.post_norms);
    CHECK(c.embd_scale == Approx(std::sqrt(640.0)).epsilon(1e-6));
    CHECK(c.attn_scale == Approx(1.0 / 16.0).epsilon(1e-6));
    CHECK(c.sliding_window == 512);
    CHECK(c.rope_freq_base == 1e6f);
    for (uint32_t l = 0; l < c.n_layers; ++l) {
        INFO("layer " << l);
        const bool global = l == 5 || l == 11 || l == 17;
        CHECK(c.layer_is_local(l) == !global);
        CHECK(c.layer_window(l) == (global ? 0u : 512u));
        CHECK(c.layer_rope_base(l) == (global ? 1e6f : 1e4f));
    }
    // Every tensor type it uses decodes.
    std::map<GgmlType, int> types;
    for (const GgufTensor& t : f.tensors()) {
        INFO(t.name);
        REQUIRE(can_dequantize(t.type));
        ++types[t.type];
    }
    CHECK(types[GgmlType::Q5_0] == 81);
    CHECK(types[GgmlType::Q4_K] == 27);
    CHECK(types[GgmlType::Q6_K] == 9);
    CHECK(types[GgmlType::Q8_0] == 10);
}

TEST_CASE("real SmolLM2-135M: all metadata and tensors parse, config is right", "[real-model]") {
    const std::string path = model_path();
    if (!glowq_test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_model.sh");
    const GgufFile f = GgufFile::open(path);
    CHECK(f.version() == 3);
    CHECK(f.metadata().size() == 33);
    CHECK(f.tensors().size() == 272);
    const ModelConfig c = read_model_config(f);
    CHECK(c.architecture == "llama");
    CHECK(c.n_layers == 30);
    CHECK(c.n_embd == 576);
    CHECK(c.n_heads == 9);
    CHECK(c.n_kv_heads == 3);
    CHECK(c.head_dim == 64);
    CHECK(c.n_ff == 1536);
    CHECK(c.n_vocab == 49152);
    CHECK(c.n_ctx == 8192);
    CHECK(c.rope_freq_base == 100000.0f);
    CHECK(c.tied_output);
    CHECK(f.get_array<std::string>("tokenizer.ggml.tokens").size() == 49152);
    CHECK(f.get_array<std::string>("tokenizer.ggml.merges").size() > 40000);
    CHECK(f.get_array<int32_t>("tokenizer.ggml.token_type").size() == 49152);
    CHECK(f.get_string("tokenizer.chat_template").find("<|im_start|>") != std::string::npos);

    // Every tensor decodes; every Q4_1 matrix imports into int4 exactly.
    size_t q4 = 0;
    for (const GgufTensor& t : f.tensors()) {
        INFO(t.name);
        REQUIRE(can_dequantize(t.type));
        const std::vector<float> w = dequantize(t);
        if (t.type == GgmlType::Q4_1) {
            const std::vector<float> m = int4_from_gguf(t).dequantize();
            CHECK(std::memcmp(m.data(), w.data(), w.size() * 4) == 0);
            ++q4;
        }
    }
    CHECK(q4 == 210);
    const GgufTensor& emb = f.tensor("token_embd.weight");
    CHECK(emb.type == GgmlType::Q8_0);
    CHECK(emb.ne[0] == 576);
    CHECK(emb.ne[1] == 49152);
}

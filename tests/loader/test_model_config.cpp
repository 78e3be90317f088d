// ModelConfig from llama.* keys, on synthetic models (every named shape) and broken ones.
#include <catch2/catch.hpp>

#include "glowq/loader/dequant.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "glowq/loader/int4_import.hpp"
#include "glowq/loader/model_config.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "gguf_test_support.hpp"

using namespace glowq;

TEST_CASE("synthetic models of every named shape describe themselves", "[model][synth]") {
    for (const std::string& name : synth_shape_names()) {
        INFO(name);
        SynthOptions o;
        o.shape = synth_shape(name);
        o.layers = 1;  // the shape, not the depth, is under test; keeps files small
        // Big vocabularies make big embeddings even at one layer: shrink those to test fast.
        if (o.shape.n_vocab > 50000) o.shape.n_vocab = 4096;
        const std::string path = glowq_test::temp_path("synth_" + name + ".gguf");
        write_synth_model(path, o);
        const GgufFile f = GgufFile::open(path);
        const ModelConfig c = read_model_config(f);
        CHECK(c.architecture == o.shape.architecture);
        CHECK(c.attn_bias == (o.shape.architecture == "qwen2"));
        CHECK(c.sliding_window == o.shape.sliding_window);
        CHECK(c.n_layers == 1);
        CHECK(c.n_embd == o.shape.n_embd);
        CHECK(c.n_heads == o.shape.n_heads);
        CHECK(c.n_kv_heads == o.shape.n_kv_heads);
        CHECK(c.head_dim == (o.shape.head_dim ? o.shape.head_dim : o.shape.n_embd / o.shape.n_heads));
        CHECK(c.n_ff == o.shape.n_ff);
        CHECK(c.n_vocab == o.shape.n_vocab);
        CHECK(c.n_ctx == o.shape.n_ctx);
        CHECK(c.rope_freq_base == o.shape.rope_freq_base);
        CHECK(c.rms_eps == o.shape.rms_eps);
        CHECK(c.tied_output == o.shape.tied_output);
        CHECK(f.get_string("tokenizer.ggml.model") == "gpt2");
        CHECK(f.get_array<std::string>("tokenizer.ggml.tokens").size() == o.shape.n_vocab);
        std::remove(path.c_str());
    }
}

TEST_CASE("synthetic smollm2 shape matches the real model's", "[model][synth]") {
    const SynthShape s = synth_shape("smollm2-135m");
    CHECK(s.n_layers == 30);
    CHECK(s.n_embd == 576);
    CHECK(s.n_heads == 9);
    CHECK(s.n_kv_heads == 3);
    CHECK(s.n_ff == 1536);
    CHECK(s.n_vocab == 49152);
    CHECK_THROWS_WITH(synth_shape("gpt-5"), Catch::Contains("gpt-5") && Catch::Contains("smollm2-135m"));
}

TEST_CASE("synthetic models are deterministic, typed and loadable", "[model][synth]") {
    for (GgmlType t : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::F16}) {
        INFO(ggml_type_name(t));
        SynthOptions o;
        o.shape = synth_shape("tiny");
        o.matrix_type = t;
        o.seed = 7;
        const std::string a = glowq_test::temp_path("synth_a.gguf"), b = glowq_test::temp_path("synth_b.gguf");
        write_synth_model(a, o);
        write_synth_model(b, o);
        CHECK(glowq_test::read_file(a) == glowq_test::read_file(b));
        o.seed = 8;
        write_synth_model(b, o);
        CHECK(glowq_test::read_file(a) != glowq_test::read_file(b));
        const GgufFile f = GgufFile::open(a);
        CHECK(f.tensors().size() == 2 + 9 * o.shape.n_layers + 1);  // embd, out_norm, layers, output
        CHECK(f.tensor("blk.1.ffn_down.weight").type == t);
        CHECK(f.tensor("blk.1.ffn_down.weight").cols() == o.shape.n_ff);
        CHECK(f.tensor("blk.0.attn_norm.weight").type == GgmlType::F32);
        const std::vector<float> w = dequantize(f.tensor("blk.0.attn_q.weight"));
        double sum2 = 0;
        for (float x : w) sum2 += double(x) * x;
        const double rms = std::sqrt(sum2 / double(w.size()));
        CHECK(rms > 0.5 / std::sqrt(64.0));  // about 1/sqrt(fan_in)
        CHECK(rms < 2.0 / std::sqrt(64.0));
        const ImportedMatrix m = import_matrix(f.tensor("blk.0.ffn_up.weight"), NonInt4Policy::KeepFp16);
        CHECK(m.exact);
        std::remove(a.c_str());
        std::remove(b.c_str());
    }
    SynthOptions bad;
    bad.shape = synth_shape("tiny");
    bad.shape.n_ff = 100;
    CHECK_THROWS_AS(write_synth_model(glowq_test::temp_path("bad.gguf"), bad), Error);
    bad.shape = synth_shape("tiny");
    bad.matrix_type = GgmlType::Q8_0;
    CHECK_THROWS_AS(write_synth_model(glowq_test::temp_path("bad.gguf"), bad), Error);
}

TEST_CASE("gpt2 byte tokens follow bytes_to_unicode", "[synth]") {
    CHECK(gpt2_byte_token('A') == "A");
    CHECK(gpt2_byte_token(' ') == "\xc4\xa0");   // U+0120 "Ġ"
    CHECK(gpt2_byte_token('\n') == "\xc4\x8a");  // U+010A "Ċ"
    CHECK(gpt2_byte_token(0) == "\xc4\x80");     // U+0100
    CHECK(gpt2_byte_token(173) == "\xc5\x83");   // U+0143: soft hyphen is remapped
}

namespace {

GgufFile config_file(const std::string& arch, std::function<void(GgufWriter&)> tweak = {}) {
    GgufWriter w;
    w.set("general.architecture", arch);
    const std::string a = arch + ".";
    w.set(a + "block_count", uint32_t(1));
    w.set(a + "embedding_length", uint32_t(64));
    w.set(a + "feed_forward_length", uint32_t(128));
    w.set(a + "attention.head_count", uint32_t(4));
    w.set(a + "attention.head_count_kv", uint32_t(2));
    w.set(a + "context_length", uint32_t(256));
    w.set(a + "rope.scaling.type", "linear");
    w.set(a + "rope.scaling.factor", 4.0f);
    w.set(a + "rope.scaling.original_context_length", uint32_t(64));
    if (tweak) tweak(w);
    w.add_tensor_f32("token_embd.weight", {64, 300}, std::vector<float>(64 * 300));
    w.add_tensor_f32("output.weight", {64, 300}, std::vector<float>(64 * 300));
    w.add_tensor_f32("blk.0.attn_q.weight", {64, 64}, std::vector<float>(64 * 64));
    return GgufFile::from_bytes(w.to_bytes(), "cfg.gguf");
}

}  // namespace

TEST_CASE("model config: defaults, rope scaling, errors", "[model]") {
    const ModelConfig c = read_model_config(config_file("llama"));
    CHECK(c.head_dim == 16);
    CHECK(c.rope_dim == 16);
    CHECK(c.n_vocab == 300);  // from the embedding when no vocab key or tokens
    CHECK_FALSE(c.tied_output);
    CHECK(c.rope_freq_base == 10000.0f);
    CHECK(c.rms_eps == 1e-5f);
    CHECK(c.rope_scaling.type == "linear");
    CHECK(c.rope_scaling.factor == 4.0f);
    CHECK(c.rope_scaling.original_context == 64);

    CHECK_THROWS_WITH(read_model_config(config_file("gpt2")),
                      Catch::Contains("cfg.gguf") && Catch::Contains("unsupported model architecture 'gpt2'"));
    CHECK_THROWS_WITH(read_model_config(config_file("llama", [](GgufWriter& w) {
                          w.set("llama.attention.head_count_kv", uint32_t(3));
                      })),
                      Catch::Contains("not a multiple of 3 KV heads"));
    CHECK_THROWS_AS(read_model_config(config_file("llama", [](GgufWriter& w) {
                        w.set("llama.block_count", "thirty");
                    })),
                    MetadataTypeError);
    CHECK_THROWS_WITH(read_model_config(config_file("llama", [](GgufWriter& w) {
                          w.set("llama.block_count", uint32_t(2));
                      })),
                      Catch::Contains("blk.1.attn_q.weight"));
    CHECK_THROWS_WITH(read_model_config(config_file("llama", [](GgufWriter& w) {
                          w.set("llama.vocab_size", uint32_t(301));
                      })),
                      Catch::Contains("300 rows"));
    // Widths vary between converters: a u64 block count and f64 epsilon are accepted.
    const ModelConfig wide = read_model_config(config_file("llama", [](GgufWriter& w) {
        w.set("llama.block_count", uint64_t(1));
        w.set("llama.attention.layer_norm_rms_epsilon", 1e-6);
    }));
    CHECK(wide.rms_eps == 1e-6f);
}

namespace {

// config_file's gemma3 tweak: n layers, each with the tensors gemma3's traits require.
std::function<void(GgufWriter&)> gemma3_layers(uint32_t n, std::function<void(GgufWriter&)> more = {}) {
    return [n, more](GgufWriter& w) {
        w.set("gemma3.block_count", n);
        w.set("gemma3.attention.sliding_window", uint32_t(4));
        for (uint32_t l = 1; l < n; ++l)
            w.add_tensor_f32(tensor_name(Tensor::AttnQ, l), {64, 64}, std::vector<float>(64 * 64));
        for (uint32_t l = 0; l < n; ++l)
            for (Tensor t : {Tensor::AttnQNorm, Tensor::AttnKNorm, Tensor::AttnPostNorm, Tensor::FfnPostNorm})
                w.add_tensor_f32(tensor_name(t, l), {16}, std::vector<float>(16));
        if (more) more(w);
    };
}

}  // namespace

TEST_CASE("model config: architecture traits and sliding-window layouts from the file", "[model]") {
    SECTION("gemma3's default: five local layers to one global, RoPE base 10000 on local ones") {
        const ModelConfig c = read_model_config(config_file("gemma3", gemma3_layers(7)));
        CHECK(c.arch.rope == RopeStyle::Neox);
        CHECK(c.sliding_window == 4);
        for (uint32_t l = 0; l < 7; ++l) CHECK(c.layer_is_local(l) == (l != 5));
        CHECK(c.layer_rope_base(0) == 10000.0f);
        CHECK(c.layer_rope_base(5) == c.rope_freq_base);
        CHECK(c.embd_scale == Approx(8.0f));  // sqrt(64)
        CHECK(c.attn_scale == Approx(0.25f));  // 1/sqrt(head_dim 16)
    }
    SECTION("a numeric pattern and a local RoPE base from the file") {
        const ModelConfig c = read_model_config(config_file("gemma3", gemma3_layers(4, [](GgufWriter& w) {
            w.set("gemma3.attention.sliding_window_pattern", uint32_t(2));
            w.set("gemma3.rope.freq_base_swa", 5000.0f);
        })));
        for (uint32_t l = 0; l < 4; ++l) CHECK(c.layer_is_local(l) == (l % 2 == 0));
        CHECK(c.layer_rope_base(0) == 5000.0f);
        CHECK(c.layer_window(1) == 0u);
    }
    SECTION("a per-layer pattern, and one of the wrong length") {
        auto flags = [](std::vector<bool> v) {
            std::vector<GgufWriteValue> items;
            for (bool b : v) items.push_back(GgufWriteValue::of(b));
            return GgufWriteValue::array_of(GgufType::BOOL, items);
        };
        const ModelConfig c = read_model_config(config_file("gemma3", gemma3_layers(3, [&](GgufWriter& w) {
            w.set("gemma3.attention.sliding_window_pattern", flags({false, true, true}));
        })));
        CHECK_FALSE(c.layer_is_local(0));
        CHECK(c.layer_is_local(1));
        CHECK(c.layer_window(2) == 4u);
        CHECK_THROWS_WITH(read_model_config(config_file("gemma3", gemma3_layers(3, [&](GgufWriter& w) {
                              w.set("gemma3.attention.sliding_window_pattern", flags({true, false}));
                          }))),
                          Catch::Contains("2 entries for 3 layers"));
    }
    SECTION("what a file lacks or asks beyond the table is named") {
        CHECK_THROWS_WITH(read_model_config(config_file("gemma3")), Catch::Contains("blk.0.attn_q_norm.weight"));
        CHECK_THROWS_WITH(read_model_config(config_file("qwen2")), Catch::Contains("blk.0.attn_q.bias"));
        CHECK_THROWS_WITH(read_model_config(config_file("gemma3", gemma3_layers(1, [](GgufWriter& w) {
                              w.set("gemma3.final_logit_softcapping", 30.0f);
                          }))),
                          Catch::Contains("soft-capping"));
        CHECK_THROWS_WITH(read_model_config(config_file("phi3")), Catch::Contains("llama, mistral, qwen2, gemma3"));
    }
}

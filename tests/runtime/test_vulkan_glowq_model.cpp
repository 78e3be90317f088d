// A GlowQ model file on the Vulkan forward pass: int4 modules from .q4/.scale/.offset and
// low-rank corrections (shared B per group, or one B per module) must give the logits of
// the CPU reference run on the effective weights Wq + A B. The file is written here by
// hand, following glowq_format.hpp, so this tests the runtime independently of the
// quantizer.
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <set>
#include <unistd.h>

#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/model/reference.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/quant/quantize_model.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

using quant::module_matrix;

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + n);
}

// Writes a GlowQ version of `plain` and turns hw's matrices into the effective weights;
// rank_of(layer, unit index) gives each unit's rank (0: no correction).
using RankOf = std::function<uint32_t(uint32_t, size_t)>;
void write_glowq(const GgufFile& plain, HostWeights& hw, const std::string& path, const RankOf& rank_of, bool per_module) {
    uint32_t max_rank = 0;
    for (uint32_t l = 0; l < hw.layers.size(); ++l)
        for (size_t u = 0; u < format::units().size(); ++u) max_rank = std::max(max_rank, rank_of(l, u));
    const uint32_t g = 32;
    GgufWriter w;
    for (const auto& [key, value] : plain.metadata())
        if (key != "general.alignment") w.set(std::string(key), GgufWriteValue::copy_of(value));
    w.set(format::kFormatVersion, format::kVersion);
    w.set(format::kBits, uint32_t(4));
    w.set(format::kGroupSize, g);
    w.set(format::kMethod, std::string(per_module ? "qera" : "glowq"));
    w.set(format::kRank, max_rank);
    for (const auto& t : plain.tensors()) {
        const std::string name(t.name);
        bool module = false;
        for (const auto& m : format::modules()) module |= name.find("." + m + ".weight") != std::string::npos;
        if (!module) w.add_tensor(name, t.type, {t.ne[0], t.ne[1], t.ne[2], t.ne[3]}, bytes_of(t.data, t.n_bytes));
    }
    uint32_t seed = 1;
    auto random_half = [&](size_t n, float scale) {
        auto f = test::random_floats(n, seed++, -scale, scale);
        std::vector<uint16_t> h(n);
        for (size_t i = 0; i < n; ++i) h[i] = float_to_half(f[i]);
        return h;
    };
    for (uint32_t l = 0; l < hw.layers.size(); ++l) {
        for (size_t ui = 0; ui < format::units().size(); ++ui) {
            const auto& [unit, members] = format::units()[ui];
            const uint32_t rank = rank_of(l, ui);
            const uint32_t cols = module_matrix(hw.layers[l], members[0]).cols;
            std::vector<uint16_t> b_shared = random_half(size_t(rank) * cols, 0.05f);
            if (!per_module && rank) w.add_tensor(format::tensor(l, unit, "lr_b"), GgmlType::F16, {cols, rank}, bytes_of(b_shared.data(), b_shared.size() * 2));
            for (const auto& m : members) {
                HostMatrix& W = module_matrix(hw.layers[l], m);
                const Int4Matrix q = quantize_rtn(W.data.data(), W.rows, W.cols, g);
                const auto a = random_half(size_t(W.rows) * rank, 0.5f);
                const auto b = per_module ? random_half(size_t(rank) * cols, 0.05f) : b_shared;
                if (per_module && rank) w.add_tensor(format::tensor(l, m, "lr_b"), GgmlType::F16, {cols, rank}, bytes_of(b.data(), b.size() * 2));
                if (rank) w.add_tensor(format::tensor(l, m, "lr_a"), GgmlType::F16, {rank, W.rows}, bytes_of(a.data(), a.size() * 2));
                w.add_tensor(format::tensor(l, m, "q4"), GgmlType::I32, {q.row_words(), W.rows}, bytes_of(q.codes.data(), q.codes.size() * 4));
                std::vector<uint16_t> s(q.scale_offset.size()), o(q.scale_offset.size());
                for (size_t i = 0; i < s.size(); ++i) {
                    s[i] = uint16_t(q.scale_offset[i] & 0xffff);
                    o[i] = uint16_t(q.scale_offset[i] >> 16);
                }
                w.add_tensor(format::tensor(l, m, "scale"), GgmlType::F16, {q.groups(), W.rows}, bytes_of(s.data(), s.size() * 2));
                w.add_tensor(format::tensor(l, m, "offset"), GgmlType::F16, {q.groups(), W.rows}, bytes_of(o.data(), o.size() * 2));
                // effective weights for the CPU reference: Wq + A B
                const auto wq = q.dequantize();
                for (uint32_t r = 0; r < W.rows; ++r)
                    for (uint32_t k = 0; k < W.cols; ++k) {
                        double v = wq[size_t(r) * W.cols + k];
                        for (uint32_t j = 0; j < rank; ++j)
                            v += double(half_to_float(a[size_t(r) * rank + j])) * half_to_float(b[size_t(j) * cols + k]);
                        W.data[size_t(r) * W.cols + k] = float(v);
                    }
            }
        }
    }
    w.write_file(path);
}

// The file on Vulkan against the CPU reference on hw (its effective weights): a 24-token
// prompt (a chunk of 16, then 8) and a decode step, the logits within tol of the largest.
void check_against_cpu(vk::Context& ctx, const std::string& path, std::shared_ptr<HostWeights> hw,
                       ops::IntDot int_dot = ops::IntDot::Auto, double tol = 2e-3) {
    const GgufFile f = GgufFile::open(path);
    VulkanModelOptions vo;
    vo.max_context = 64;
    vo.chunk = 16;
    vo.int_dot = int_dot;
    VulkanLlama gpu(ctx, f, vo);
    CHECK(gpu.correction_bytes() > 0);
    ReferenceLlama cpu(hw, 64);
    const uint32_t V = gpu.config().n_vocab;
    std::vector<int32_t> prompt;
    for (int i = 0; i < 24; ++i) prompt.push_back((i * 31 + 7) % 250);
    std::vector<float> lg(size_t(V) * prompt.size()), lc(size_t(V) * prompt.size());
    gpu.eval(prompt.data(), uint32_t(prompt.size()), 0, lg.data(), true);
    cpu.eval(prompt.data(), uint32_t(prompt.size()), 0, lc.data(), true);
    const int32_t next = 3;
    gpu.eval(&next, 1, uint32_t(prompt.size()), lg.data(), false);
    cpu.eval(&next, 1, uint32_t(prompt.size()), lc.data(), false);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < lg.size(); ++i) {
        worst = std::max(worst, double(std::fabs(lg[i] - lc[i])));
        scale = std::max(scale, double(std::fabs(lc[i])));
    }
    INFO("max |logit diff| " << worst << " of max |logit| " << scale);
    CHECK(worst <= tol * std::max(1.0, scale));
}

// A 2-layer synthetic llama of the tiny shape in fp16, at /tmp/glowq_test_<leaf>_<pid>.gguf.
std::string write_tiny_f16(const std::string& leaf) {
    const std::string path = "/tmp/glowq_test_" + leaf + "_" + std::to_string(getpid()) + ".gguf";
    SynthOptions so;
    so.shape = synth_shape("tiny");
    so.layers = 2;
    so.matrix_type = GgmlType::F16;
    write_synth_model(path, so);
    return path;
}

}  // namespace

// Issue 15's budgeted ranks: every group its own rank, none for some, in one model.
TEST_CASE_METHOD(test::VkFixture, "GlowQ files with a different rank per group (0, 8, 24, 64) run on Vulkan",
                 "[forward][lowrank]") {
    const std::string plain_path = write_tiny_f16("mixed_plain");
    const GgufFile plain = GgufFile::open(plain_path);
    for (bool per_module : {false, true}) {
        DYNAMIC_SECTION((per_module ? "per-module B" : "shared B (GlowQ)")) {
            auto hw = std::make_shared<HostWeights>(HostWeights::load(plain));
            const std::string path = "/tmp/glowq_test_mixed_" + std::to_string(getpid()) + ".gguf";
            const uint32_t ranks[] = {0, 8, 24, 64, 64, 24, 8, 0};  // layer-major over the 4 units
            write_glowq(plain, *hw, path, [&](uint32_t l, size_t u) { return ranks[l * 4 + u]; }, per_module);
            check_against_cpu(ctx, path, hw);
            std::remove(path.c_str());
        }
    }
    std::remove(plain_path.c_str());
}

// With the int8 dot-product GEMVs asked for (the Rows kernel), a corrected product takes
// R from its own B dispatch: the Lanes GEMV alone sums R in parts (SiLU's, attention's).
// The int8 rounding of x moves the logits by a few percent (test_vulkan_forward.cpp).
TEST_CASE_METHOD(test::VkFixture, "a GlowQ file with int8 dot-product GEMVs runs on Vulkan", "[forward][lowrank][intdot]") {
    if (!ops::gemv_rows_supported(ctx.caps()) || !ctx.caps().integer_dot_product) {
        WARN("no Rows GEMV or integer dot product on this device: skipped");
        return;
    }
    const std::string plain_path = write_tiny_f16("intdot_plain");
    const GgufFile plain = GgufFile::open(plain_path);
    auto hw = std::make_shared<HostWeights>(HostWeights::load(plain));
    const std::string path = "/tmp/glowq_test_intdot_" + std::to_string(getpid()) + ".gguf";
    write_glowq(plain, *hw, path, [](uint32_t, size_t) { return 16u; }, false);
    check_against_cpu(ctx, path, hw, ops::IntDot::On, 0.1);
    std::remove(path.c_str());
    std::remove(plain_path.c_str());
}

// What `glowq quantize --base gptq --budget` writes, end to end: GPTQ's codes and each
// group's own rank through the file and the Vulkan kernels, against the CPU reference on the
// in-memory effective weights.
TEST_CASE_METHOD(test::VkFixture, "a GPTQ-based, budgeted GlowQ file runs on Vulkan as quantized", "[forward][lowrank]") {
    const std::string plain_path = write_tiny_f16("gptq_plain");
    const GgufFile plain = GgufFile::open(plain_path);
    auto weights = std::make_shared<const HostWeights>(HostWeights::load(plain));
    std::vector<std::vector<int32_t>> windows(4);
    for (size_t w = 0; w < windows.size(); ++w)
        for (int i = 0; i < 64; ++i) windows[w].push_back(int32_t((w * 97 + size_t(i) * 31 + 5) % 250));
    const quant::CalibrationStats stats = quant::collect_calibration(weights, windows);
    quant::QuantizeOptions o;
    o.method = quant::Method::Glowq;
    o.base = quant::Base::Gptq;
    o.group_size = 32;
    o.rank = 32;
    o.budget = 0.2;
    const quant::QuantizedModel qm = quant::quantize_model(*weights, &stats, o);
    std::set<uint32_t> ranks;
    for (const auto& g : qm.groups) ranks.insert(g.restored ? g.rank : 0);
    CHECK(ranks.size() > 1);
    const std::string path = "/tmp/glowq_test_gptq_" + std::to_string(getpid()) + ".gguf";
    quant::glowq_writer(plain, qm, quant::Provenance{}).write_file(path);
    auto eff = std::make_shared<HostWeights>(quant::effective_weights(*weights, qm));
    check_against_cpu(ctx, path, eff);
    std::remove(path.c_str());
    std::remove(plain_path.c_str());
}

// For every architecture: gemma3's q/k norms and qwen2's biases sit with A in the qkv
// binding for a shared B, and in a buffer of their own for per-module corrections.
TEST_CASE_METHOD(test::VkFixture, "GlowQ model files run on Vulkan as Wq + A B", "[forward][lowrank]") {
    for (const char* arch : {"llama", "gemma3", "qwen2"}) {
        const std::string plain_path = "/tmp/glowq_test_plain_" + std::to_string(getpid()) + ".gguf";
        SynthOptions so;
        so.shape = synth_shape("tiny");
        so.shape.architecture = arch;
        so.shape.sliding_window = 8;  // gemma3: shorter than the 24-token prompt
        so.layers = 2;
        so.matrix_type = GgmlType::F16;
        write_synth_model(plain_path, so);
        const GgufFile plain = GgufFile::open(plain_path);
        for (bool per_module : {false, true}) {
            DYNAMIC_SECTION(arch << (per_module ? ": per-module B" : ": shared B (GlowQ)")) {
                auto hw = std::make_shared<HostWeights>(HostWeights::load(plain));
                const std::string path = "/tmp/glowq_test_lr_" + std::to_string(getpid()) + ".gguf";
                write_glowq(plain, *hw, path, [](uint32_t, size_t) { return 16u; }, per_module);
                check_against_cpu(ctx, path, hw);
                std::remove(path.c_str());
            }
        }
        std::remove(plain_path.c_str());
    }
}

// Issue 13's budget: with the norm folded into the q/k/v and gate/up GEMVs, B's rows
// computed with them and A R added by RoPE and SiLU, a decode step's layer is at most 7
// dispatches, 9 with GlowQ corrections (o and down keep their B projection). Counted from
// the dispatches a profiled step runs, by their layer label. On GPUs attention splits the
// KV length and merges the splits in a dispatch of its own: one more there, for now. On CPU
// drivers with subgroup shuffles SiLU and attention also compute down's and o's R in parts:
// two less there, as many as without corrections.
TEST_CASE_METHOD(test::VkFixture, "a decode step's layer is at most 7 dispatches, 9 with GlowQ corrections",
                 "[forward][lowrank][dispatches]") {
    const std::string plain_path = write_tiny_f16("count");
    SynthOptions so;
    so.shape = synth_shape("tiny");
    so.layers = 2;
    const std::string q4_path = "/tmp/glowq_test_count_q4_" + std::to_string(getpid()) + ".gguf";
    so.matrix_type = GgmlType::Q4_0;
    write_synth_model(q4_path, so);
    const GgufFile plain = GgufFile::open(plain_path);
    auto hw = std::make_shared<HostWeights>(HostWeights::load(plain));
    const std::string lr_path = "/tmp/glowq_test_count_lr_" + std::to_string(getpid()) + ".gguf";
    write_glowq(plain, *hw, lr_path, [](uint32_t, size_t) { return 16u; }, false);
    for (bool corrected : {false, true}) {
        DYNAMIC_SECTION((corrected ? "GlowQ r16" : "plain Q4_0")) {
            const GgufFile f = GgufFile::open(corrected ? lr_path : q4_path);
            VulkanModelOptions vo;
            vo.max_context = 32;
            vo.chunk = 8;
            VulkanLlama gpu(ctx, f, vo);
            const auto& layer = gpu.weights().layers()[0];
            REQUIRE(layer.qkv.w.has_input_norm());
            REQUIRE(ops::fused_gemv_supported(ctx, layer.qkv.w, 1));
            const std::vector<int32_t> prompt = {1, 2, 3, 4};
            std::vector<float> logits(gpu.config().n_vocab);
            gpu.eval(prompt.data(), 4, 0, logits.data(), false);
            const int32_t next = 5;
            const auto nodes = gpu.profile_step(&next, 1, 4, 1);
            size_t layer0 = 0, layer1 = 0, down_b = 0, down_b_parts = 0, o_b = 0, o_b_parts = 0;
            for (const auto& n : nodes) {
                layer0 += n.label.rfind("L0.", 0) == 0;
                layer1 += n.label.rfind("L1.", 0) == 0;
                down_b += n.label.find(".down.lr_b:") != std::string::npos;
                down_b_parts += n.label.find("silu_mul+lr+down_b") != std::string::npos;
                o_b += n.label.find(".o.lr_b:") != std::string::npos;
                o_b_parts += n.label.find(".attn+o_b:") != std::string::npos;
            }
            const bool parts = corrected && ctx.caps().type == "cpu" &&
                               ops::partial_r_supported(ctx, layer.down.b, gpu.config().n_ff);
            CHECK(layer0 == layer1);
            const bool o_parts = corrected && ctx.caps().type == "cpu" && ops::attention_partial_r_supported(ctx);
            CHECK(layer0 == (corrected ? 9u - parts - o_parts : 7u));  // a GPU's split attention merges itself
            CHECK(down_b == (corrected && !parts ? 2u : 0u));
            CHECK(down_b_parts == (parts ? 2u : 0u));
            CHECK(o_b == (corrected && !o_parts ? 2u : 0u));
            CHECK(o_b_parts == (o_parts ? 2u : 0u));
            CHECK(nodes.size() == 2 * layer0 + 3);  // embedding, output norm, output projection
        }
    }
    for (const auto& p : {plain_path, q4_path, lr_path}) std::remove(p.c_str());
}

// The streamed quantizer (one layer's weights and statistics at a time, int4 codes parked
// in a scratch file) against the in-memory one it replaces: the same statistics and the
// same output file, byte for byte, on llama, qwen2 (biases) and gemma3 (post-norms, q/k
// norms, scaled embeddings, sliding windows) shapes, for every kind of option that changes
// the path (GPTQ, a budget, glowq-s, threads); and the scratch file's contract.
#include <catch2/catch.hpp>
#include <dirent.h>

#include <cstring>
#include <fstream>
#include <memory>

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/quant/quantize_streamed.hpp"
#include "glowq/quant/restore.hpp"
#include "support/calibration_text.hpp"
#include "support/model_files.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;
using namespace glowq::quant;

namespace {

// Files in prefix's directory whose names start with prefix's last part.
size_t files_starting(const std::string& prefix) {
    const size_t slash = prefix.rfind('/');
    const std::string dir = prefix.substr(0, slash), leaf = prefix.substr(slash + 1);
    size_t n = 0;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) n += std::string(e->d_name).rfind(leaf, 0) == 0;
        ::closedir(d);
    }
    return n;
}

struct Model {
    std::string path;
    GgufFile file;
    std::vector<std::vector<int32_t>> windows;

    explicit Model(std::string p) : path(std::move(p)), file(GgufFile::open(path)) {
        const Tokenizer tok(vocab_from_gguf(file));
        windows = calibration_windows(tok.encode(glowq_test::calibration_text(), false, false), 0, 320, 64,
                                      tok.vocab().add_bos ? tok.bos() : -1);
    }

    std::vector<uint8_t> in_memory(const QuantizeOptions& o, CalibrationStats* stats_out = nullptr,
                                   size_t restore_k = 0) const {
        const auto w = std::make_shared<const HostWeights>(HostWeights::load(file));
        const CalibrationStats stats = collect_calibration(w, windows);
        if (stats_out) *stats_out = stats;
        QuantizedModel qm = quantize_model(*w, needs_statistics(o) ? &stats : nullptr, o);
        if (restore_k) restore_top(qm, unit_order(qm, UnitScore::Gsvd), restore_k);
        return glowq_writer(file, qm, Provenance{}).to_bytes();
    }

    std::vector<uint8_t> streamed(const QuantizeOptions& o, std::vector<LayerStats>* stats_out = nullptr,
                                  size_t restore_k = 0, vk::Context* device = nullptr,
                                  uint64_t slice_bytes = 0) const {
        Int4Spill spill(glowq_test::temp_path("streamed.int4-scratch"));
        StreamedOptions so;
        so.device = device;
        so.moments_slice_bytes = slice_bytes;
        so.windows = windows;
        so.keep_stats = stats_out;
        size_t steps = 0, total = 0;
        so.progress = [&](size_t done, size_t of, const std::string&) {
            CHECK(done == steps + 1);
            steps = done;
            total = of;
        };
        QuantizedModel qm = quantize_streamed(file, o, spill, so);
        CHECK(steps == total);
        CHECK(total == qm.layers.size() * (needs_statistics(o) ? windows.size() + 1 : 1));
        for (const auto& layer : qm.layers)
            for (const auto& [name, mq] : layer) CHECK(mq.q.codes.empty());  // on disk, not in memory
        if (restore_k) restore_top(qm, unit_order(qm, UnitScore::Gsvd), restore_k);
        return glowq_writer(file, qm, Provenance{}, &spill).to_bytes();
    }
};

QuantizeOptions options(Method m, uint32_t rank = 8) {
    QuantizeOptions o;
    o.method = m;
    o.group_size = 64;
    o.rank = rank;
    return o;
}

const Model& llama() {
    static const Model m(glowq_test::write_tiny_model("streamed_llama.gguf", {3, 96, 4, 2, 160, 300, 128},
                                                      GgmlType::F16, 5));
    return m;
}

}  // namespace

TEST_CASE("streamed calibration gives the in-memory statistics exactly", "[glowq][streamed]") {
    {
        const Model* model = &llama();
        CalibrationStats whole;
        model->in_memory(options(Method::Qera), &whole);
        std::vector<LayerStats> layers;
        model->streamed(options(Method::Qera), &layers);
        REQUIRE(layers.size() == whole.layers.size());
        for (size_t l = 0; l < layers.size(); ++l)
            for (size_t p = 0; p < kTapPoints; ++p) {
                CAPTURE(l, p);
                CHECK(layers[l][p].count == whole.layers[l][p].count);
                CHECK(layers[l][p].count == model->windows.size() * 64);
                CHECK(layers[l][p].second_moment == whole.layers[l][p].second_moment);  // bit for bit
                CHECK(layers[l][p].mean_abs == whole.layers[l][p].mean_abs);
                CHECK(layers[l][p].second_moment.norm() > 0.0);
            }
    }
}

// Calibration on a device runs the same layers through the inference kernels, whose KV
// cache is fp16 and whose sums are fp32: the statistics agree within those roundings.
TEST_CASE("calibration on a device gives the CPU's statistics", "[glowq][streamed][device]") {
    const Model qwen(glowq_test::write_tiny_arch_model("device_qwen2.gguf", "qwen2", {2, 64, 4, 2, 96, 300, 64}, 0, 0,
                                                       13));
    const Model gemma(glowq_test::write_tiny_arch_model("device_gemma3.gguf", "gemma3", {6, 64, 4, 2, 96, 300, 64},
                                                        32, 5, 11));
    for (const Model* m : {&llama(), &qwen, &gemma}) {
        CAPTURE(m->path);
        std::vector<LayerStats> cpu, dev;
        const auto cpu_file = m->streamed(options(Method::Glowq), &cpu);
        // Slices of one tile row of the widest input (160): the wider inputs' sums come in several.
        const auto dev_file = m->streamed(options(Method::Glowq), &dev, 0, &glowq::test::context(), 160 * 4 * 64);
        REQUIRE(dev.size() == cpu.size());
        for (size_t l = 0; l < cpu.size(); ++l)
            for (size_t p = 0; p < kTapPoints; ++p) {
                CAPTURE(l, p);
                const InputStats &c = cpu[l][p], &d = dev[l][p];
                CHECK(d.count == c.count);
                REQUIRE(d.second_moment.rows() == c.second_moment.rows());
                CHECK(d.second_moment.isApprox(d.second_moment.transpose(), 0.0));  // both triangles
                const double err = (d.second_moment - c.second_moment).norm() / c.second_moment.norm();
                const double abs_err = (d.mean_abs - c.mean_abs).norm() / c.mean_abs.norm();
                CHECK(err < 2e-3);
                CHECK(abs_err < 2e-3);
                CHECK(c.second_moment.norm() > 0.0);
            }
        CHECK(dev_file.size() == cpu_file.size());  // the same model, fitted on near-equal statistics
    }
    // One input's sums come from taps or from a device's rows, never both.
    const ModelConfig cfg = read_model_config(llama().file);
    LayerStatsAccumulator acc(cfg, 0);
    const std::vector<float> x(size_t(2) * cfg.n_embd, 0.5f), row(cfg.n_embd, 1.0f);
    acc.add(TapPoint::AttnInput, x.data(), 2, cfg.n_embd);
    CHECK_THROWS_WITH(acc.add_sum_rows(TapPoint::AttnInput, 0, 1, row.data()), Catch::Contains("both"));
    acc.add_sum_rows(TapPoint::FfnInput, 0, 1, row.data());
    CHECK_THROWS_WITH(acc.add(TapPoint::FfnInput, x.data(), 2, cfg.n_embd), Catch::Contains("both"));
    CHECK_THROWS_WITH(acc.add_sum_rows(TapPoint::FfnInput, cfg.n_embd, 1, row.data()), Catch::Contains("past"));
    // Windows past the largest chunk, or the model's context, are refused before the model
    // is loaded.
    QuantizeOptions o = options(Method::Glowq);
    Int4Spill spill(glowq_test::temp_path("device.int4-scratch"));
    StreamedOptions so;
    so.device = &glowq::test::context();
    so.windows = {std::vector<int32_t>(5000, 1)};
    CHECK_THROWS_WITH(quantize_streamed(llama().file, o, spill, so), Catch::Contains("windows over 4096"));
    so.windows = {std::vector<int32_t>(cfg.n_ctx + 1, 1)};
    CHECK_THROWS_WITH(quantize_streamed(llama().file, o, spill, so), Catch::Contains("longer than the model's context"));
}

TEST_CASE("the streamed quantizer writes the in-memory quantizer's file byte for byte", "[glowq][streamed]") {
    const Model qwen(glowq_test::write_tiny_arch_model("streamed_qwen2.gguf", "qwen2", {2, 64, 4, 2, 96, 300, 64}, 0,
                                                       0, 13));
    // Six layers with a window of 5: local and global layers, sliding windows shorter than
    // the calibration window.
    const Model gemma(glowq_test::write_tiny_arch_model("streamed_gemma3.gguf", "gemma3",
                                                        {6, 64, 4, 2, 96, 300, 64}, 32, 5, 11));
    for (const Model* m : {&llama(), &qwen, &gemma}) {
        CAPTURE(m->path);
        CHECK(m->streamed(options(Method::Glowq)) == m->in_memory(options(Method::Glowq)));
        CHECK(m->streamed(options(Method::Rtn)) == m->in_memory(options(Method::Rtn)));
    }
    const Model& m = llama();
    QuantizeOptions o = options(Method::Glowq, 16);
    o.route = FitRoute::RandomizedSvd;
    o.seed = 9;
    o.base = Base::Gptq;
    o.budget = 0.18;
    o.threads = 3;  // windows, modules and fits in parallel
    CHECK(m.streamed(o) == m.in_memory(o));
    o.threads = 1;
    CHECK(m.streamed(o) == m.in_memory(o));
    CHECK(m.streamed(options(Method::L2qer)) == m.in_memory(options(Method::L2qer)));
    QuantizeOptions searched = options(Method::Rtn);  // rtn with searched grids calibrates too
    searched.grid = Grid::Search;
    CHECK(needs_statistics(searched));
    CHECK(m.streamed(searched) == m.in_memory(searched));
    searched.method = Method::Glowq;
    CHECK(m.streamed(searched) == m.in_memory(searched));
    CHECK(m.streamed(searched) != m.streamed(options(Method::Glowq)));
    CHECK_THROWS_WITH(quantize_model(HostWeights::load(m.file), nullptr, searched), Catch::Contains("searched grids"));
    CHECK(m.streamed(options(Method::Lqer)) == m.in_memory(options(Method::Lqer)));
    CHECK(m.streamed(options(Method::GlowqS), nullptr, 5) == m.in_memory(options(Method::GlowqS), nullptr, 5));
    // And the file is a working GlowQ file: it reads back with every module's codes.
    const std::string out = glowq_test::temp_path("streamed_out.gguf");
    {
        const auto bytes = m.streamed(options(Method::Glowq));
        std::FILE* f = std::fopen(out.c_str(), "wb");
        REQUIRE(f);
        REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
        std::fclose(f);
    }
    const GgufFile back = GgufFile::open(out);
    const HostWeights original = HostWeights::load(m.file);
    const HostWeights eff = HostWeights::load(back);
    for (uint32_t l = 0; l < original.layers.size(); ++l) {
        const HostMatrix& w = module_matrix(original.layers[l], "attn_q");
        const HostMatrix& we = module_matrix(eff.layers[l], "attn_q");
        double err = 0.0, norm = 0.0;
        for (size_t i = 0; i < w.data.size(); ++i) {
            err += double(w.data[i] - we.data[i]) * (w.data[i] - we.data[i]);
            norm += double(w.data[i]) * w.data[i];
        }
        CHECK(err < 0.01 * norm);  // int4 plus its correction, not zeros or another tensor
    }
    std::remove(out.c_str());
}

TEST_CASE("streamed quantization refuses bad calibration windows", "[glowq][streamed]") {
    const Model& m = llama();
    Int4Spill spill(glowq_test::temp_path("refuse.int4-scratch"));
    StreamedOptions so;
    CHECK_THROWS_WITH(quantize_streamed(m.file, options(Method::Glowq), spill, so),
                      Catch::Contains("no calibration windows"));
    so.windows = {{1, 2, 3}, {1, 2}};
    CHECK_THROWS_WITH(quantize_streamed(m.file, options(Method::Glowq), spill, so), Catch::Contains("same"));
    so.windows = {{1, 2, 300}};
    CHECK_THROWS_WITH(quantize_streamed(m.file, options(Method::Glowq), spill, so),
                      Catch::Contains("token id 300") && Catch::Contains("vocabulary of 300"));
    CHECK(spill.bytes() == 0);  // refused before any layer

    // A file whose last layer lacks a tensor is refused before the first layer's work.
    GgufWriter wr(m.file.alignment());
    for (const auto& [key, value] : m.file.metadata()) wr.set(std::string(key), GgufWriteValue::copy_of(value));
    for (const GgufTensor& t : m.file.tensors()) {
        if (t.name == "blk.2.ffn_up.weight") continue;
        const uint8_t* src = t.data;
        wr.add_tensor(std::string(t.name), t.type, std::vector<uint64_t>(t.ne.begin(), t.ne.begin() + t.n_dims),
                      [src](uint8_t* dst, uint64_t n) { std::memcpy(dst, src, n); });
    }
    const std::string cut = glowq_test::temp_path("streamed_cut.gguf");
    wr.write_file(cut);
    so.windows = m.windows;
    size_t steps = 0;
    so.progress = [&](size_t, size_t, const std::string&) { ++steps; };
    CHECK_THROWS_WITH(quantize_streamed(GgufFile::open(cut), options(Method::Glowq), spill, so),
                      Catch::Contains("blk.2.ffn_up.weight"));
    CHECK(steps == 0);
    CHECK(spill.bytes() == 0);
    std::remove(cut.c_str());
}

TEST_CASE("the int4 scratch file returns what was parked and leaves no file", "[glowq][streamed]") {
    const std::string path = glowq_test::temp_path("unit.int4-scratch");
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");  // a file of the prefix's name stays
        REQUIRE(f);
        std::fputs("keep", f);
        std::fclose(f);
    }
    Int4Spill spill(path), second(path);  // two at once get their own files
    CHECK(files_starting(path) == 1);  // both unlinked at once: nothing to clean up after a crash
    std::vector<Int4Matrix> parked;
    uint32_t seed = 1;
    for (uint32_t cols : {64u, 100u, 256u}) {
        Int4Matrix q = Int4Matrix::zeros(7, cols, 64);
        for (auto& w : q.codes) w = seed = seed * 1664525u + 1013904223u;
        for (auto& w : q.scale_offset) w = seed = seed * 1664525u + 1013904223u;
        parked.push_back(q);
        spill.put(cols, "ffn_up", q);
        CHECK(q.codes.empty());
        CHECK(q.scale_offset.empty());
        CHECK(q.rows == 7);  // the shape stays
        CHECK(q.cols == cols);
        CHECK_THROWS_WITH(q.dequantize(), Catch::Contains("without its codes"));
    }
    for (const Int4Matrix& q : parked) {
        std::vector<uint32_t> codes(q.codes.size());
        spill.read_codes(q.cols, "ffn_up", codes.data(), codes.size());
        CHECK(codes == q.codes);
        CHECK(spill.read_scale_offset(q.cols, "ffn_up") == q.scale_offset);
    }
    CHECK(spill.has(100, "ffn_up"));
    CHECK_FALSE(spill.has(100, "ffn_down"));
    CHECK_THROWS_WITH(spill.read_scale_offset(100, "ffn_down"), Catch::Contains("blk.100.ffn_down was never spilled"));
    std::vector<uint32_t> too_many(parked[0].codes.size() + 1);
    CHECK_THROWS_WITH(spill.read_codes(64, "ffn_up", too_many.data(), too_many.size()), Catch::Contains("asked for"));
    Int4Matrix again = Int4Matrix::zeros(7, 64, 64);
    CHECK_THROWS_WITH(spill.put(64, "ffn_up", again), Catch::Contains("already"));
    Int4Matrix cut = Int4Matrix::zeros(7, 64, 64);
    cut.codes.pop_back();
    CHECK_THROWS_WITH(spill.put(1, "ffn_up", cut), Catch::Contains("disagree with its shape"));
    {
        std::ifstream kept(path);
        std::string s;
        kept >> s;
        CHECK(s == "keep");
    }
    std::remove(path.c_str());
    try {
        Int4Spill bad("/nonexistent-dir/x.int4-scratch");
        FAIL("created a scratch file in a missing directory");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Io);
        CHECK(std::string(e.what()).find("/nonexistent-dir/x.int4-scratch") != std::string::npos);
    }
}

TEST_CASE("a streamed model's parked codes are never read as if in memory", "[glowq][streamed]") {
    const Model& m = llama();
    Int4Spill spill(glowq_test::temp_path("parked.int4-scratch"));
    StreamedOptions so;
    so.windows = m.windows;
    QuantizedModel qm = quantize_streamed(m.file, options(Method::Glowq), spill, so);
    CHECK(qm.int4_bytes() > 0);  // from the shapes
    CHECK_THROWS_WITH(glowq_writer(m.file, qm, Provenance{}), Catch::Contains("pass the Int4Spill"));
    CHECK_THROWS_WITH(effective_weights(HostWeights::load(m.file), qm), Catch::Contains("without its codes"));
}

TEST_CASE("unit ranks set particular units' ranks in every layer", "[glowq][streamed]") {
    const Model& m = llama();
    const auto w = std::make_shared<const HostWeights>(HostWeights::load(m.file));
    const CalibrationStats stats = collect_calibration(w, m.windows);
    QuantizeOptions o = options(Method::Glowq, 8);
    o.unit_ranks = {{"qkv", 16}, {"ffn_down", 4}};
    const QuantizedModel qm = quantize_model(*w, &stats, o);
    REQUIRE(qm.groups.size() == 4 * w->layers.size());
    for (const CorrectionGroup& g : qm.groups) {
        CAPTURE(g.unit_name());
        const uint32_t want = g.name == "qkv" ? 16 : g.name == "ffn_down" ? 4 : 8;
        CHECK(g.rank == want);
        CHECK(g.b.size() == size_t(want) * g.cols);
        for (const auto& member : g.members) CHECK(qm.layers[g.layer].at(member).a.size() % want == 0);
    }
    CHECK(qm.rank == 16);
    CHECK(m.streamed(o) == m.in_memory(o));
    o.unit_ranks = {{"attn_output", 1000}};
    CHECK_THROWS_WITH(quantize_model(*w, &stats, o), Catch::Contains("exceeds what correction of blk.0.attn_output"));
}

// `glowq quantize`'s pipeline on a tiny synthetic fp16 model: calibration, every method's
// fit, the GlowQ GGUF it writes (byte-identical for the same seed and text), reading it
// back on the CPU, and the reconstruction errors the methods promise.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>

#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/synth_model.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/perplexity.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/quant/rank_budget.hpp"
#include "glowq/quant/restore.hpp"
#include "glowq/quant/sha256.hpp"
#include "glowq/error.hpp"
#include "glowq/quant/synth_quantized.hpp"
#include "support/calibration_text.hpp"
#include "support/model_files.hpp"

using namespace glowq;
using namespace glowq::quant;
using Eigen::MatrixXd;

namespace {

// Hidden 96 with group size 64: every row ends in a short group, as SmolLM2's 576 at 128.
const std::string& tiny_f16_model() {
    static const std::string path =
        glowq_test::write_tiny_model("glowq_tiny_f16.gguf", {2, 96, 4, 2, 160, 300, 128}, GgmlType::F16, 3);
    return path;
}

struct Pipeline {
    GgufFile file = GgufFile::open(tiny_f16_model());
    std::shared_ptr<const HostWeights> weights = std::make_shared<const HostWeights>(HostWeights::load(file));
    Tokenizer tok{vocab_from_gguf(file)};
    std::string text = glowq_test::calibration_text();
    std::vector<int32_t> tokens = tok.encode(text, false, false);
    CalibrationStats stats;

    Pipeline() {
        stats = collect_calibration(weights, calibration_windows(tokens, 0, 512, 64, -1));
        stats.text_sha256 = sha256_hex(text);
    }

    QuantizedModel quantize(Method m, FitRoute route = FitRoute::Exact, uint64_t seed = 0, uint32_t rank = 8,
                            Base base = Base::Rtn, double budget = 0.0,
                            BudgetMeasure measure = BudgetMeasure::Share, uint32_t threads = 1) const {
        QuantizeOptions o;
        o.threads = threads;
        o.base = base;
        o.budget = budget;
        o.budget_measure = measure;
        o.method = m;
        o.group_size = 64;
        o.rank = rank;
        o.route = route;
        o.seed = seed;
        return quantize_model(*weights, &stats, o);
    }

    std::vector<uint8_t> bytes(const QuantizedModel& qm, uint64_t seed = 0) const {
        Provenance p;
        p.text_sha256 = stats.text_sha256;
        p.tokens = stats.tokens;
        p.seed = seed;
        return glowq_writer(file, qm, p).to_bytes();
    }
};

const Pipeline& pipeline() {
    static const Pipeline p;
    return p;
}

// Σ over modules of || (W - W_eff) S ||_F² for the whitening S of each module's input.
double weighted_error2(const HostWeights& original, const HostWeights& eff, const CalibrationStats& stats,
                       Whitening::Kind kind) {
    double total = 0.0;
    for (uint32_t l = 0; l < original.layers.size(); ++l)
        for (const auto& m : format::modules()) {
            const HostMatrix& w = module_matrix(original.layers[l], m);
            const HostMatrix& we = module_matrix(eff.layers[l], m);
            MatrixXd d(w.rows, w.cols);
            for (size_t i = 0; i < w.data.size(); ++i) d(Eigen::Index(i / w.cols), Eigen::Index(i % w.cols)) = double(w.data[i]) - double(we.data[i]);
            const InputStats& s = stats.layers[l][size_t(module_input(m))];
            const Whitening wh = kind == Whitening::Kind::Full       ? Whitening::full(s.second_moment, 0.05)
                                 : kind == Whitening::Kind::Diagonal ? Whitening::diagonal(s.mean_abs, 0.05)
                                                                     : Whitening::identity(w.cols);
            total += wh.apply_sqrt(d).squaredNorm();
        }
    return total;
}

}  // namespace

TEST_CASE("calibration accumulates the second moment of every group input", "[glowq]") {
    const Pipeline& p = pipeline();
    REQUIRE(p.stats.layers.size() == 2);
    CHECK(p.stats.tokens == 512);
    const uint32_t dims[4] = {96, 96, 96, 160};
    for (const auto& layer : p.stats.layers)
        for (size_t i = 0; i < kTapPoints; ++i) {
            const InputStats& s = layer[i];
            CHECK(s.count == 512);
            REQUIRE(s.second_moment.rows() == dims[i]);
            CHECK((s.second_moment - s.second_moment.transpose()).norm() == 0.0);
            // Uncentered second moment: its diagonal is E[x_j²] >= (E|x_j|)².
            for (Eigen::Index j = 0; j < s.mean_abs.size(); ++j)
                CHECK(s.second_moment(j, j) >= s.mean_abs(j) * s.mean_abs(j) * (1 - 1e-12));
        }
    const std::string path = glowq_test::temp_path("stats.bin");
    p.stats.save(path);
    const CalibrationStats back = CalibrationStats::load(path);
    CHECK(back.text_sha256 == p.stats.text_sha256);
    CHECK(back.layers[1][3].second_moment == p.stats.layers[1][3].second_moment);
    CHECK(back.layers[0][2].mean_abs == p.stats.layers[0][2].mean_abs);
    // Saving again replaces the file whole and leaves no temporary beside it.
    p.stats.save(path);
    CHECK(CalibrationStats::load(path).layers[1][3].second_moment == p.stats.layers[1][3].second_moment);
    // Truncated anywhere, or a header claiming a huge input: refused with an error before
    // any allocation of that size.
    std::vector<char> bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const std::string bad = glowq_test::temp_path("stats-bad.bin");
    for (size_t cut : {size_t(0), size_t(5), size_t(60), bytes.size() / 3, bytes.size() - 1}) {
        CAPTURE(cut);
        std::ofstream(bad, std::ios::binary).write(bytes.data(), std::streamsize(cut));
        CHECK_THROWS_AS(CalibrationStats::load(bad), Error);
    }
    const size_t first_dim = 8 + 8 + 4 + 8 + p.stats.text_sha256.size() + 4;  // magic, tokens, window, sha, layers
    std::vector<char> huge = bytes;
    const uint32_t n = 65536;
    std::memcpy(huge.data() + first_dim, &n, 4);
    std::ofstream(bad, std::ios::binary).write(huge.data(), std::streamsize(huge.size()));
    CHECK_THROWS_WITH(CalibrationStats::load(bad), Catch::Contains("truncated"));
    std::remove(bad.c_str());
    std::remove(path.c_str());
}

TEST_CASE("same seed and calibration text give a byte-identical GlowQ file", "[glowq]") {
    const Pipeline& p = pipeline();
    for (FitRoute route : {FitRoute::Exact, FitRoute::RandomizedSvd}) {
        const auto a = p.bytes(p.quantize(Method::Glowq, route, 42), 42);
        const auto b = p.bytes(p.quantize(Method::Glowq, route, 42), 42);
        CHECK(a == b);
    }
    // Nor do threads: each module, root and group is computed alone (GPTQ and per-module
    // groups sharing one whitening included).
    for (uint32_t threads : {2u, 3u, 8u}) {
        CAPTURE(threads);
        CHECK(p.bytes(p.quantize(Method::Glowq, FitRoute::RandomizedSvd, 42, 8, Base::Rtn, 0.0, BudgetMeasure::Share,
                                 threads), 42) == p.bytes(p.quantize(Method::Glowq, FitRoute::RandomizedSvd, 42), 42));
        CHECK(p.bytes(p.quantize(Method::Qera, FitRoute::Exact, 0, 8, Base::Gptq, 0.0, BudgetMeasure::Share, threads)) ==
              p.bytes(p.quantize(Method::Qera, FitRoute::Exact, 0, 8, Base::Gptq)));
    }
    // Recomputing the calibration statistics from the same text changes nothing either.
    Pipeline fresh;
    CHECK(fresh.bytes(fresh.quantize(Method::Qera)) == p.bytes(p.quantize(Method::Qera)));
    // GlowQ-S with a fixed k.
    auto s1 = p.quantize(Method::GlowqS), s2 = p.quantize(Method::GlowqS);
    restore_top(s1, unit_order(s1, UnitScore::Gsvd), 3);
    restore_top(s2, unit_order(s2, UnitScore::Gsvd), 3);
    CHECK(p.bytes(s1) == p.bytes(s2));
}

TEST_CASE("a GlowQ file carries the format's metadata and tensors", "[glowq]") {
    const Pipeline& p = pipeline();
    QuantizedModel qm = p.quantize(Method::GlowqS);
    restore_top(qm, unit_order(qm, UnitScore::NormError), 5);
    const GgufFile f = GgufFile::from_bytes(p.bytes(qm, 9));
    CHECK(f.get_u32(format::kFormatVersion) == format::kVersion);
    CHECK(f.get_u32(format::kBits) == 4);
    CHECK(f.get_u32(format::kGroupSize) == 64);
    CHECK(f.get_string(format::kMethod) == "glowq-s");
    CHECK(f.get_u32(format::kRank) == 8);
    CHECK(f.get_array<std::string>(format::kRestoredUnits).size() == 5);
    CHECK(f.get_string(format::kCalibTextSha256) == sha256_hex(glowq_test::calibration_text()));
    CHECK(f.get_u32(format::kCalibTokens) == 512);
    CHECK(f.get_f32(format::kCalibAlpha) == 0.05f);
    CHECK(f.get_u64(format::kCalibSeed) == 9);
    CHECK(f.find_tensor("blk.0.attn_q.weight") == nullptr);
    const GgufTensor& q4 = f.tensor("blk.0.attn_q.q4");
    CHECK(q4.type == GgmlType::I32);
    CHECK(q4.ne[0] == GQ_ROW_WORDS(96));
    CHECK(q4.ne[1] == 96);
    CHECK(f.tensor("blk.1.ffn_down.scale").ne[0] == 3);  // 160 columns: 64 + 64 + 32
    // Everything that is not a quantized module is copied byte for byte.
    for (const char* name : {"token_embd.weight", "output.weight", "blk.1.attn_norm.weight", "output_norm.weight"}) {
        const GgufTensor& a = f.tensor(name);
        const GgufTensor& b = p.file.tensor(name);
        REQUIRE(a.n_bytes == b.n_bytes);
        CHECK(std::memcmp(a.data, b.data, a.n_bytes) == 0);
    }
    for (const auto& [key, value] : p.file.metadata()) {
        CAPTURE(std::string(key));
        CHECK(f.has(key));
    }
    const GlowqSummary s = summarize_glowq(f);
    CHECK(s.correction_bytes == qm.correction_bytes());
    CHECK(s.int4_bytes == qm.int4_bytes());
    // Each restored unit has one B and one A per member.
    uint32_t a_count = 0;
    for (const auto& g : qm.groups)
        if (g.restored) {
            CHECK(f.find_tensor(format::tensor(g.layer, g.name, "lr_b")) != nullptr);
            a_count += uint32_t(g.members.size());
        }
    CHECK(s.lr_a_tensors == a_count);
    CHECK(s.lr_b_tensors == 5);
}

TEST_CASE("every method round-trips through its file and corrections beat rtn", "[glowq]") {
    const Pipeline& p = pipeline();
    const HostWeights& original = *p.weights;
    std::map<Method, HostWeights> eff;
    std::map<Method, uint64_t> correction_bytes;
    const std::vector<int32_t> eval(p.tokens.end() - 256, p.tokens.end());
    for (Method m : {Method::Rtn, Method::Lqer, Method::L2qer, Method::Qera, Method::Glowq}) {
        CAPTURE(method_name(m));
        const QuantizedModel qm = p.quantize(m);
        correction_bytes[m] = qm.correction_bytes();
        const auto bytes = p.bytes(qm);
        const GgufFile f = GgufFile::from_bytes(bytes);
        auto loaded = std::make_shared<const HostWeights>(HostWeights::load(f));
        const HostWeights in_memory = effective_weights(original, qm);
        for (uint32_t l = 0; l < 2; ++l)
            for (const auto& name : format::modules())
                CHECK(module_matrix(loaded->layers[l], name).data == module_matrix(in_memory.layers[l], name).data);
        ReferenceLlama model(loaded, 128);
        PerplexityOptions po;
        po.ctx = 128;
        po.protocol = PplProtocol::All;
        const double ppl = perplexity(model, eval, po).ppl;
        CHECK(std::isfinite(ppl));
        CHECK(ppl > 1.0);
        eff.emplace(m, in_memory);
    }
    const auto full = [&](Method m) { return weighted_error2(original, eff.at(m), p.stats, Whitening::Kind::Full); };
    const double rtn = full(Method::Rtn);
    for (Method m : {Method::Lqer, Method::L2qer, Method::Qera, Method::Glowq}) {
        CAPTURE(method_name(m));
        CHECK(full(m) < rtn);
    }
    // Each method is best on its own objective; per module (qera) fits at least as well as
    // one shared B per group (glowq), which stores fewer bytes.
    CHECK(full(Method::Qera) <= full(Method::Glowq) * (1 + 1e-6));
    CHECK(full(Method::Qera) <= full(Method::Lqer) * (1 + 1e-6));
    CHECK(weighted_error2(original, eff.at(Method::Lqer), p.stats, Whitening::Kind::Identity) <=
          weighted_error2(original, eff.at(Method::Qera), p.stats, Whitening::Kind::Identity) * (1 + 1e-6));
    CHECK(weighted_error2(original, eff.at(Method::L2qer), p.stats, Whitening::Kind::Diagonal) <=
          weighted_error2(original, eff.at(Method::Lqer), p.stats, Whitening::Kind::Diagonal) * (1 + 1e-6));
    CHECK(correction_bytes[Method::Glowq] < correction_bytes[Method::Qera]);
    CHECK(correction_bytes[Method::Rtn] == 0);
}

TEST_CASE("GPTQ under GlowQ: codes round-trip through the file, output error below RTN's", "[glowq][gptq]") {
    const Pipeline& p = pipeline();
    const QuantizedModel gq = p.quantize(Method::Glowq, FitRoute::Exact, 0, 8, Base::Gptq);
    const QuantizedModel rq = p.quantize(Method::Glowq);
    const GgufFile f = GgufFile::from_bytes(p.bytes(gq));
    CHECK(f.get_string(format::kBase) == "gptq");
    CHECK(summarize_glowq(f).base == "gptq");
    double eg = 0.0, er = 0.0;
    for (uint32_t l = 0; l < 2; ++l)
        for (const auto& m : format::modules()) {
            CAPTURE(l, m);
            const ModuleQuant& mq = gq.layers[l].at(m);
            const Int4Matrix back = format::read_int4(f, l, m, mq.q.rows, mq.q.cols);
            CHECK(back.codes == mq.q.codes);
            CHECK(back.scale_offset == mq.q.scale_offset);
            const HostMatrix& w = module_matrix(p.weights->layers[l], m);
            const MatrixXd& h = p.stats.layers[l][size_t(module_input(m))].second_moment;
            eg += output_error(w.data.data(), mq.q, h);
            er += output_error(w.data.data(), rq.layers[l].at(m).q, h);
        }
    CHECK(eg < 0.8 * er);
    // GPTQ needs the statistics even where the method does not.
    QuantizeOptions o;
    o.method = Method::Rtn;
    o.base = Base::Gptq;
    o.group_size = 64;
    CHECK(needs_statistics(o));
    CHECK_THROWS_AS(quantize_model(*p.weights, nullptr, o), Error);
}

TEST_CASE("a byte budget places ranks by benefit and removes more error than one rank for all", "[glowq][budget]") {
    const Pipeline& p = pipeline();
    const QuantizedModel uniform = p.quantize(Method::Glowq, FitRoute::Exact, 0, 16);
    const double budget = double(uniform.correction_bytes()) / double(uniform.int4_bytes());
    const QuantizedModel placed =
        p.quantize(Method::Glowq, FitRoute::Exact, 0, 64, Base::Rtn, budget * (1 + 1e-9), BudgetMeasure::Error);
    CHECK(placed.correction_bytes() <= uniform.correction_bytes());
    std::set<uint32_t> ranks;
    for (const auto& g : placed.groups) {
        ranks.insert(g.restored ? g.rank : 0);
        CHECK(g.rank % kRankStep == 0);
    }
    CHECK(ranks.size() > 1);  // the tiny model's groups do not all deserve the same rank
    CHECK(placed.rank == *ranks.rbegin());
    // The budget's factors are the leading directions of the full-rank fit.
    const QuantizedModel full = p.quantize(Method::Glowq, FitRoute::Exact, 0, 64);
    for (size_t i = 0; i < placed.groups.size(); ++i) {
        const auto& g = placed.groups[i];
        if (!g.restored) continue;
        const auto& b64 = full.groups[i].b;
        CHECK(std::equal(g.b.begin(), g.b.end(), b64.begin()));
        const auto& a = placed.layers[g.layer].at(g.members[0]).a;
        const auto& a64 = full.layers[g.layer].at(g.members[0]).a;
        CHECK(a[1] == a64[1]);
        CHECK(a[g.rank] == a64[64]);  // row 1, column 0
    }
    const auto err = [&](const QuantizedModel& qm) {
        return weighted_error2(*p.weights, effective_weights(*p.weights, qm), p.stats, Whitening::Kind::Full);
    };
    CHECK(err(placed) < err(uniform));
    // By share (the default), the summed share of each group's error removed is the
    // uniform rank's or more, up to the greedy choice's granularity (steps of unequal
    // cost); the energies bound what any rank can remove.
    const QuantizedModel shared = p.quantize(Method::Glowq, FitRoute::Exact, 0, 64, Base::Rtn, budget * (1 + 1e-9));
    CHECK(shared.correction_bytes() <= uniform.correction_bytes());
    const auto share_removed = [&](const QuantizedModel& qm) {
        double total = 0.0;
        for (const auto& g : full.groups) {
            const auto& cut = qm.groups[size_t(&g - full.groups.data())];
            const uint32_t r = cut.restored ? cut.rank : 0;
            double sum = 0.0, all = 0.0;
            for (size_t i = 0; i < g.singular.size(); ++i) {
                all += g.singular[i] * g.singular[i];
                if (i < r) sum += g.singular[i] * g.singular[i];
            }
            CHECK(all <= g.error_energy * (1 + 1e-9));
            total += sum / g.error_energy;
        }
        return total;
    };
    CHECK(share_removed(shared) >= 0.999 * share_removed(uniform));
    // The file carries each group's own rank and reads back to the same weights.
    const GgufFile f = GgufFile::from_bytes(p.bytes(placed));
    CHECK(f.get_u32(format::kRank) == placed.rank);
    auto loaded = std::make_shared<const HostWeights>(HostWeights::load(f));
    const HostWeights in_memory = effective_weights(*p.weights, placed);
    for (uint32_t l = 0; l < 2; ++l)
        for (const auto& name : format::modules())
            CHECK(module_matrix(loaded->layers[l], name).data == module_matrix(in_memory.layers[l], name).data);
}

TEST_CASE("glowq-s auto restores the fewest units within the tolerance", "[glowq]") {
    const Pipeline& p = pipeline();
    QuantizedModel qm = p.quantize(Method::GlowqS);
    const auto order = unit_order(qm, UnitScore::Gsvd);
    REQUIRE(order.size() == 8);
    for (size_t i = 1; i < order.size(); ++i) CHECK(qm.groups[order[i - 1]].gsvd >= qm.groups[order[i]].gsvd);
    const std::vector<int32_t> heldout(p.tokens.begin() + 512, p.tokens.begin() + 768);
    AutoRestoreOptions o;
    o.ctx = 128;
    o.tolerance = 0.005;
    const AutoRestore r = restore_auto(qm, *p.weights, order, heldout, o);
    CHECK(r.ppl_chosen <= r.target);
    CHECK(r.k <= order.size());
    CHECK(qm.restored_units().size() == r.k);
    // Bisection: at most 1 + ceil(log2(9)) evaluations, and k - 1 (when evaluated) fails.
    CHECK(r.evaluated.size() <= 5);
    for (const auto& e : r.evaluated)
        if (e.k + 1 == r.k) CHECK(e.ppl > r.target);
}

TEST_CASE("random quantized models for benchmarks have quantize's tensors, shapes and units", "[glowq]") {
    // `glowq bench model --modes` times random models instead of fitted ones: they must
    // be the same files in all but the values, or the comparison of modes means nothing.
    const Pipeline& p = pipeline();
    const ModelConfig cfg = read_model_config(p.file);
    auto layout = [](const GgufFile& f) {
        std::vector<std::string> out;
        for (const GgufTensor& t : f.tensors())
            out.push_back(std::string(t.name) + " " + ggml_type_name(t.type) + " " + std::to_string(t.ne[0]) + "x" +
                          std::to_string(t.ne[1]));
        return out;
    };
    for (Method m : {Method::Rtn, Method::Qera, Method::Glowq, Method::GlowqS}) {
        SynthQuantOptions so;
        so.method = m;
        so.rank = 8;
        so.group_size = 64;
        so.restore_fraction = 1.0;  // quantize's glowq-s keeps every unit until selection
        const QuantizedModel fake = synth_quantized(cfg, so);
        const GgufFile real_file = GgufFile::from_bytes(p.bytes(p.quantize(m)));
        const GgufFile fake_file = GgufFile::from_bytes(p.bytes(fake));
        CHECK(layout(fake_file) == layout(real_file));
        CHECK(fake.restored_units() == p.quantize(m).restored_units());
        // Codes past K stay zero (the layout's padding) and every factor is finite.
        for (const auto& layer : fake.layers)
            for (const auto& [name, mq] : layer) {
                for (uint32_t n = 0; n < mq.q.rows; n += 7)
                    for (uint32_t k = mq.q.cols; k < mq.q.row_words() * 8; ++k) REQUIRE(mq.q.code(n, k) == 0);
                for (uint16_t h : mq.a) REQUIRE((h & 0x7c00u) != 0x7c00u);
            }
    }
    SynthQuantOptions half;
    half.method = Method::GlowqS;
    half.rank = 8;
    half.restore_fraction = 0.5;
    CHECK(synth_quantized(cfg, half).restored_units().size() == 4);  // of 2 layers x 4 units
    half.rank = 97;  // more than the 96 columns of the q/k/v group
    CHECK_THROWS_AS(synth_quantized(cfg, half), glowq::Error);
}

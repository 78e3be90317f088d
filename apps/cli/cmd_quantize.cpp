// `glowq quantize`: int4 RTN of every linear module plus a low-rank correction fitted on
// calibration statistics (GlowQ and the baselines of GLOWQ.md), written as a GlowQ GGUF.
// Stages, each with a progress bar: calibration, fitting, selection (glowq-s), writing.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <map>
#include <sstream>
#include <thread>

#include "args.hpp"
#include "glowq/engine.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "model_options.hpp"
#include "commands.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/quant/quantize_streamed.hpp"
#include "glowq/quant/restore.hpp"
#include "glowq/quant/sha256.hpp"
#include "progress.hpp"

namespace glowq::cli {

namespace {

using namespace glowq::quant;
using Clock = std::chrono::steady_clock;

const char* kHelp =
    "usage: glowq quantize -m IN.gguf -o OUT.gguf [--method M] [--base B] [--group-size G]\n"
    "                      [--rank R] [--budget F] [--calib TEXT] [--calib-tokens N] [--seed S]\n"
    "                      [--restore auto|K] [--restore-fraction F] [--tolerance T]\n\n"
    "Quantizes every linear module of a decoder (llama, mistral, qwen2, gemma3) to int4 (RTN,\n"
    "asymmetric, per row and group) and fits a rank-R correction W ~ Wq + A B to the\n"
    "quantization error, weighted by the activations of the unquantized model on calibration\n"
    "text (GlowQ, arXiv 2603.25385).\n\n"
    "  --method M          rtn | lqer | l2qer | qera | glowq | glowq-s   (default glowq)\n"
    "                      rtn: no correction; lqer: per module, unweighted; l2qer: per module,\n"
    "                      diagonal activation scaling; qera: per module, full whitening;\n"
    "                      glowq: one B per input-sharing group (q/k/v, gate/up);\n"
    "                      glowq-s: glowq restoring only the most useful units\n"
    "  --base B            rtn (default) | gptq: the int4 codes under the correction; gptq\n"
    "                      spreads each column's rounding error over the columns after it,\n"
    "                      weighted by the calibration inputs (needs --calib)\n"
    "  --grid G            search (default with --calib) | minmax (default without): each RTN\n"
    "                      group's grid the best of a few narrowed ranges with scale and offset\n"
    "                      refitted, by the error weighted by the input's mean squares on the\n"
    "                      calibration text (needs --calib); or from the group's range alone\n"
    "  --gptq-order O      act (default): columns by decreasing input energy, each group's\n"
    "                      grid fixed from the weights first; natural: left to right, each\n"
    "                      grid from the weights as updated when reached\n"
    "  --damp D            gptq: damping, a fraction of the mean diagonal (default 0.01)\n"
    "  --group-size G      32 | 64 | 128 (default 128)\n"
    "  --rank R            correction rank (default 64); with --budget, the largest\n"
    "  --budget F          correction bytes at most F of the int4 bytes (0.18 or 18%): each\n"
    "                      group's rank (a multiple of 8 up to R, or none) chosen by the\n"
    "                      calibration-weighted error it removes per byte\n"
    "  --unit-rank U=R,.. the rank of particular units in every layer, the others at --rank:\n"
    "                      glowq's are qkv, gate_up, attn_output, ffn_down; the per-module\n"
    "                      methods' are the modules (attn_q, ...); e.g. qkv=28,gate_up=18\n"
    "                      spends QERA r16's bytes on each unit\n"
    "  --budget-by M       share (default): a rank's worth is the share of its group's\n"
    "                      weighted error it removes; error: that error itself\n"
    "  --calib TEXT        calibration text file (needed by l2qer, qera, glowq, glowq-s)\n"
    "  --calib-tokens N    tokens of calibration (default 4096: 8 windows of 512)\n"
    "  --calib-window W    window length, each from an empty context (default 512)\n"
    "  --seed S            seed of the randomized SVD's draws (default 0)\n"
    "  --route R           exact (default) | rsvd: eigendecomposition of the smaller Gram\n"
    "                      matrix, or the randomized SVD (oversampling 10, 2 power\n"
    "                      iterations; much faster for 7B-sized layers)\n"
    "  --alpha A           shrinkage of the second moment towards the identity (default 0.05)\n"
    "  --threads N         threads for the quantization and the fits of a layer (default:\n"
    "                      every core); the output does not depend on it\n"
    "  --calib-on D        where calibration runs: auto (default): the Vulkan device when it\n"
    "                      is a GPU that holds the unquantized model (else, or if it fails\n"
    "                      before the first layer is done, the CPU); cpu; or\n"
    "                      vulkan: the Vulkan device (--device, else $GLOWQ_DEVICE), the\n"
    "                      inference kernels with fp32 sums (statistics within about 1e-3 of\n"
    "                      the CPU's, so the output may differ slightly from a CPU run)\n"
    "  --device D          the Vulkan device, by index or name (glowq info --devices)\n"
    "glowq-s:\n"
    "  --restore auto|K    auto (default): the fewest units whose perplexity on held-out\n"
    "                      calibration text is within --tolerance of full glowq; K: the top K\n"
    "  --restore-fraction F  restore the top F (0..1) of the units\n"
    "  --tolerance T       relative perplexity tolerance of auto, e.g. 0.005 or 0.5% (default)\n"
    "  --heldout-tokens N  tokens after the calibration slice used by auto (default 1024)\n"
    "  --score S           gsvd (default) | norm_error: how units are ranked\n"
    "other:\n"
    "  --stats FILE        reuse calibration statistics from FILE when it was computed from\n"
    "                      the same text, tokens and window; otherwise compute and save them\n"
    "                      (holds the whole model in memory, as --in-memory)\n"
    "  --in-memory         decode the whole model and gather every layer's statistics first\n"
    "                      (the default streams: one layer's weights and statistics at a time,\n"
    "                      its int4 codes parked in an unlinked OUT.gguf.int4-scratch.XXXXXX\n"
    "                      until written, so the output's disk needs room for them twice; the\n"
    "                      output is the same; glowq-s --restore auto always holds the model)\n"
    "  --quiet             no progress bars\n";

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(ErrorKind::Io, "cannot read calibration text " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A fraction like 0.005 or a percentage like 0.5%.
double parse_tolerance(const std::string& s, const char* option = "--tolerance") {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (end && *end == '%') {
        v /= 100.0;
        ++end;
    }
    if (s.empty() || !end || *end != '\0' || !(v >= 0.0) || v > 1.0)
        throw Error(ErrorKind::InvalidArgument, std::string(option) +
                                                    " needs a fraction like 0.005 or a percentage like 0.5%, got '" + s + "'");
    return v;
}

double parse_fraction(const std::string& s) {
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        throw Error(ErrorKind::InvalidArgument, "--restore-fraction needs a number in [0, 1], got '" + s + "'");
    return v;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--quiet", "--in-memory"},
              {"-m", "--model", "-o", "--output", "--method", "--group-size", "--rank", "--calib", "--calib-tokens",
               "--calib-window", "--seed", "--route", "--alpha", "--restore", "--restore-fraction", "--tolerance",
               "--heldout-tokens", "--score", "--stats", "--base", "--budget", "--damp", "--gptq-order", "--budget-by",
               "--threads", "--calib-on", "--device", "--grid", "--unit-rank"});
    if (args.has("--help") || args.has("-h")) {
        std::printf("%s", kHelp);
        return 0;
    }
    const std::string in_path = args.has("-m") ? args.get("-m") : args.get("--model");
    const std::string out_path = args.has("-o") ? args.get("-o") : args.get("--output");
    if (in_path.empty()) throw Error(ErrorKind::InvalidArgument, "no input model: pass -m IN.gguf (see --help)");
    if (out_path.empty()) throw Error(ErrorKind::InvalidArgument, "no output: pass -o OUT.gguf (see --help)");
    const bool show = !args.has("--quiet");

    QuantizeOptions qo;
    qo.method = parse_method(args.get("--method", "glowq"));
    qo.group_size = uint32_t(args.get_int("--group-size", 128, 32, 128));
    if (qo.group_size != 32 && qo.group_size != 64 && qo.group_size != 128)
        throw Error(ErrorKind::InvalidArgument, "--group-size must be 32, 64 or 128, got " + std::to_string(qo.group_size));
    qo.rank = uint32_t(args.get_int("--rank", 64, 1, 65536));
    qo.seed = uint64_t(args.get_int("--seed", 0, 0, 0x7fffffffffffffffL));
    const std::string route = args.get("--route", "exact");
    if (route != "exact" && route != "rsvd")
        throw Error(ErrorKind::InvalidArgument, "--route must be exact or rsvd, got '" + route + "'");
    qo.route = route == "exact" ? FitRoute::Exact : FitRoute::RandomizedSvd;
    qo.threads = uint32_t(args.get_int("--threads", std::max(1u, std::thread::hardware_concurrency()), 1, 1024));
    if (args.has("--alpha")) {
        char* end = nullptr;
        const std::string a = args.get("--alpha");
        qo.alpha = std::strtod(a.c_str(), &end);
        if (a.empty() || *end != '\0' || !(qo.alpha >= 0.0 && qo.alpha <= 1.0))
            throw Error(ErrorKind::InvalidArgument, "--alpha needs a number in [0, 1], got '" + a + "'");
    }
    qo.base = parse_base(args.get("--base", "rtn"));
    // Searched grids wherever there is calibration text: they recover more of RTN's gap at
    // no cost in bytes or speed (docs/results.md); gptq chooses its codes its own way.
    if (args.has("--grid") && qo.base != Base::Rtn)
        throw Error(ErrorKind::InvalidArgument, "--grid applies to --base rtn only");
    qo.grid = qo.base == Base::Rtn ? parse_grid(args.get("--grid", args.has("--calib") ? "search" : "minmax"))
                                   : Grid::MinMax;
    if (qo.base != Base::Gptq && (args.has("--gptq-order") || args.has("--damp")))
        throw Error(ErrorKind::InvalidArgument, "--gptq-order and --damp apply to --base gptq only");
    const std::string order = args.get("--gptq-order", "act");
    if (order != "act" && order != "natural")
        throw Error(ErrorKind::InvalidArgument, "--gptq-order must be act or natural, got '" + order + "'");
    qo.gptq.act_order = order == "act";
    if (args.has("--damp")) {
        char* end = nullptr;
        const std::string d = args.get("--damp");
        qo.gptq.damp = std::strtod(d.c_str(), &end);
        if (d.empty() || *end != '\0' || !(qo.gptq.damp > 0.0 && qo.gptq.damp <= 1.0))
            throw Error(ErrorKind::InvalidArgument, "--damp needs a number in (0, 1], got '" + d + "'");
    }
    qo.budget_measure = parse_budget_measure(args.get("--budget-by", "share"));
    if (args.has("--budget-by") && !args.has("--budget"))
        throw Error(ErrorKind::InvalidArgument, "--budget-by applies with --budget only");
    if (args.has("--budget")) {
        if (!has_correction(qo.method) || qo.method == Method::GlowqS)
            throw Error(ErrorKind::InvalidArgument, "--budget applies to the corrected methods but glowq-s (a budget "
                                                    "already leaves units out where they help least)");
        qo.budget = parse_tolerance(args.get("--budget"), "--budget");
        if (qo.budget <= 0.0)
            throw Error(ErrorKind::InvalidArgument, "--budget must be above 0, got '" + args.get("--budget") + "'");
    }
    if (args.has("--unit-rank")) {
        if (!has_correction(qo.method) || qo.budget > 0.0)
            throw Error(ErrorKind::InvalidArgument, "--unit-rank applies to the corrected methods, without --budget");
        std::vector<std::string> names;  // what the method's units are called
        if (shares_groups(qo.method))
            for (const auto& [name, members] : format::units()) names.push_back(name);
        else
            names = format::modules();
        std::stringstream list(args.get("--unit-rank"));
        for (std::string item; std::getline(list, item, ',');) {
            const size_t eq = item.find('=');
            const std::string name = item.substr(0, eq);
            char* end = nullptr;
            const long r = eq == std::string::npos ? 0 : std::strtol(item.c_str() + eq + 1, &end, 10);
            if (eq == std::string::npos || *end != '\0' || r < 1 || r > 65536)
                throw Error(ErrorKind::InvalidArgument, "--unit-rank needs NAME=RANK pairs like qkv=28,gate_up=18, got '" +
                                                            item + "'");
            if (std::find(names.begin(), names.end(), name) == names.end()) {
                std::string known;
                for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
                throw Error(ErrorKind::InvalidArgument, "--unit-rank: " + std::string(method_name(qo.method)) +
                                                            " has no unit '" + name + "' (its units: " + known + ")");
            }
            qo.unit_ranks[name] = uint32_t(r);
        }
    }
    const bool selective = qo.method == Method::GlowqS;
    if (!selective && (args.has("--restore") || args.has("--restore-fraction") || args.has("--tolerance") || args.has("--score")))
        throw Error(ErrorKind::InvalidArgument, "--restore, --restore-fraction, --tolerance and --score apply to --method glowq-s only");
    if (args.has("--restore") && args.has("--restore-fraction"))
        throw Error(ErrorKind::InvalidArgument, "pass --restore or --restore-fraction, not both");
    const std::string restore = args.get("--restore", "auto");
    const bool restore_auto_mode = selective && !args.has("--restore-fraction") && restore == "auto";
    const uint32_t calib_tokens = uint32_t(args.get_int("--calib-tokens", 4096, 2, 1L << 30));
    const uint32_t window = uint32_t(args.get_int("--calib-window", 512, 2, 1 << 20));
    const uint32_t heldout_tokens = uint32_t(args.get_int("--heldout-tokens", 1024, 2, 1L << 30));
    const bool calibrate = needs_statistics(qo);
    if (calibrate && !args.has("--calib"))
        throw Error(ErrorKind::InvalidArgument, (qo.base == Base::Gptq           ? std::string("--base gptq")
                                                 : needs_calibration(qo.method) ? std::string("--method ") + method_name(qo.method)
                                                                                : std::string("--grid search")) +
                                                    " needs calibration text: pass --calib TEXT");

    const auto t_start = Clock::now();
    const GgufFile in = GgufFile::open(in_path);
    if (format::is_glowq_file(in))
        throw Error(ErrorKind::InvalidArgument, in_path + " is already a GlowQ file; quantize the original model");
    const std::string stats_path = args.get("--stats");
    // The whole model is decoded only where something needs all of it at once: a stats
    // file (every layer's statistics) or the auto restore (perplexity of the whole model).
    const bool streamed = !args.has("--in-memory") && (stats_path.empty() || !calibrate) && !restore_auto_mode;
    const Tokenizer tok(vocab_from_gguf(in));
    const int32_t bos = tok.vocab().add_bos ? tok.bos() : -1;
    std::shared_ptr<const HostWeights> weights;
    if (!streamed) weights = std::make_shared<const HostWeights>(HostWeights::load(in));
    const double load_s = seconds_since(t_start);

    // Calibration windows.
    Provenance prov;
    prov.alpha = qo.alpha;
    prov.seed = qo.seed;
    std::vector<std::vector<int32_t>> windows;
    std::vector<int32_t> heldout;
    if (calibrate) {
        const std::string text = read_text(args.get("--calib"));
        prov.text_sha256 = sha256_hex(text);
        const std::vector<int32_t> tokens = tok.encode(text, false, false);
        windows = calibration_windows(tokens, 0, calib_tokens, window, bos);
        if (windows.empty())
            throw Error(ErrorKind::InvalidArgument, "calibration text " + args.get("--calib") + " has " +
                                                        std::to_string(tokens.size()) + " tokens, fewer than one window of " +
                                                        std::to_string(window));
        const size_t used = windows.size() * window;
        prov.tokens = used;
        if (restore_auto_mode) {
            const size_t end = std::min(tokens.size(), used + heldout_tokens);
            heldout.assign(tokens.begin() + used, tokens.begin() + end);
            if (heldout.size() < window)
                throw Error(ErrorKind::InvalidArgument, "--restore auto needs " + std::to_string(window) +
                                                            " held-out tokens after the calibration slice; the text has " +
                                                            std::to_string(tokens.size() - used) + " (lower --calib-tokens)");
        }
    }

    // Where calibration runs (the streamed path only).
    const std::string calib_on = args.get("--calib-on", "auto");
    if (calib_on != "auto" && calib_on != "cpu" && calib_on != "vulkan")
        throw Error(ErrorKind::InvalidArgument, "--calib-on must be auto, cpu or vulkan, got '" + calib_on + "'");
    if (calib_on == "vulkan" && (!streamed || !calibrate))
        throw Error(ErrorKind::InvalidArgument, std::string("--calib-on vulkan needs ") +
                                                    (calibrate ? "the streamed path (not --in-memory, --stats or --restore auto)"
                                                               : "a method that calibrates"));
    std::shared_ptr<Engine> engine;
    std::string calib_where = "the CPU";
    if (streamed && calibrate && calib_on != "cpu") {
        std::string why_not;
        try {
            engine = make_engine(args);
            const vk::Context& ctx = engine->context();
            const ModelConfig config = read_model_config(in);
            const uint64_t need = calibration_device_bytes(in, window), have = ctx.available_device_memory();
            if (const std::string why = device_calibration_unsupported(config, window); !why.empty())
                why_not = why;
            else if (calib_on == "auto" && ctx.caps().type == "cpu")
                why_not = ctx.caps().name + " is a CPU driver";
            else if (calib_on == "auto" && have && need + need / 16 > have)
                why_not = ctx.caps().name + " has " + vk::format_mib(have) + " available, the model needs about " +
                          vk::format_mib(need);
        } catch (const Error& e) {
            if (calib_on == "vulkan") throw;
            why_not = e.what();
        }
        if (!why_not.empty() && calib_on == "vulkan")
            throw Error(ErrorKind::Unsupported, "--calib-on vulkan: " + why_not);
        if (why_not.empty()) calib_where = engine->device_name();
        else {
            engine.reset();
            calib_where += " (" + why_not + ")";
        }
    }

    double calib_s = 0.0, fit_s = 0.0;
    QuantizedModel qm;
    std::unique_ptr<Int4Spill> spill;
    if (streamed) {
        // Calibration and fitting, layer by layer.
        spill = std::make_unique<Int4Spill>(out_path + ".int4-scratch");
        StreamedOptions so;
        so.windows = std::move(windows);
        Progress bar("layers", size_t(read_model_config(in).n_layers) * (so.windows.size() + 1), show);
        so.progress = [&](size_t done, size_t, const std::string& what) { bar.at(done, what); };
        if (engine) so.device = &engine->context();
        StreamedOptions::Times times;
        so.times = &times;
        if (show && calibrate) std::fprintf(stderr, "quantize: calibration on %s\n", calib_where.c_str());
        try {
            qm = quantize_streamed(in, qo, *spill, so);
        } catch (const Error& e) {
            // auto: a device that fails before any layer is done (out of memory, a binding
            // past its range) leaves the work to the CPU.
            if (!so.device || calib_on != "auto" || spill->bytes() != 0 || e.kind() == ErrorKind::Cancelled) throw;
            engine.reset();
            so.device = nullptr;
            calib_where = std::string("the CPU (the device failed: ") + e.what() + ")";
            if (show) std::fprintf(stderr, "quantize: calibration on %s\n", calib_where.c_str());
            qm = quantize_streamed(in, qo, *spill, so);
        }
        bar.done();
        engine.reset();  // the unquantized model leaves the device before writing
        calib_s = times.calibration_s;
        fit_s = times.layers_s;
    } else {
        std::unique_ptr<CalibrationStats> stats;
        if (calibrate) {
            const auto t = Clock::now();
            if (!stats_path.empty() && std::ifstream(stats_path).good()) {
                std::unique_ptr<CalibrationStats> cached;
                try {
                    cached = std::make_unique<CalibrationStats>(CalibrationStats::load(stats_path));
                } catch (const Error& e) {  // damaged: never trusted, recomputed and replaced
                    std::fprintf(stderr, "quantize: %s; recomputing\n", e.what());
                }
                if (cached && cached->text_sha256 == prov.text_sha256 && cached->tokens == prov.tokens &&
                    cached->window == window && cached->layers.size() == weights->layers.size())
                    stats = std::move(cached);
                else if (cached && show)
                    std::fprintf(stderr, "quantize: %s was computed from other calibration settings; recomputing\n",
                                 stats_path.c_str());
            }
            if (!stats) {
                Progress bar("calibration", windows.size(), show);
                stats = std::make_unique<CalibrationStats>(collect_calibration(
                    weights, windows, [&](uint32_t, uint32_t) { bar.step(std::to_string(window) + " tokens"); }));
                bar.done();
                stats->text_sha256 = prov.text_sha256;
                if (!stats_path.empty()) stats->save(stats_path);
            }
            calib_s = seconds_since(t);
        }
        const auto t = Clock::now();
        Progress bar("fitting", weights->layers.size(), show);
        qm = quantize_model(*weights, stats.get(), qo, [&](uint32_t l, uint32_t) {
            bar.step("layer " + std::to_string(l - 1));
        });
        bar.done();
        fit_s = seconds_since(t);
    }

    // Selection (glowq-s).
    auto t = Clock::now();
    std::string selection;
    if (selective) {
        const UnitScore score = parse_unit_score(args.get("--score", "gsvd"));
        const auto order = unit_order(qm, score);
        char buf[256];
        if (restore_auto_mode) {
            AutoRestoreOptions ao;
            ao.tolerance = args.has("--tolerance") ? parse_tolerance(args.get("--tolerance")) : 0.005;
            ao.ctx = window;
            ao.bos = bos;
            Progress bar("selection", 1 + size_t(std::ceil(std::log2(double(order.size()) + 1.0))), show);
            ao.progress = [&](uint32_t, uint32_t, size_t k, double ppl) {
                char b[64];
                std::snprintf(b, sizeof b, "k=%zu ppl %.4f", k, ppl);
                bar.step(b);
            };
            const AutoRestore ar = restore_auto(qm, *weights, order, heldout, ao);
            bar.done();
            std::snprintf(buf, sizeof buf,
                          "auto: %zu of %zu units (held-out ppl %.4f, full glowq %.4f, tolerance %.2f%%, %zu evaluations)",
                          ar.k, order.size(), ar.ppl_chosen, ar.ppl_full, ao.tolerance * 100.0, ar.evaluated.size());
        } else {
            size_t k;
            if (args.has("--restore-fraction")) {
                k = size_t(std::llround(parse_fraction(args.get("--restore-fraction")) * double(order.size())));
            } else {
                k = size_t(args.get_int("--restore", 0, 0, long(order.size())));
            }
            restore_top(qm, order, k);
            std::snprintf(buf, sizeof buf, "top %zu of %zu units by %s", k, order.size(), args.get("--score", "gsvd").c_str());
        }
        selection = buf;
    }
    const double select_s = seconds_since(t);

    // Writing.
    t = Clock::now();
    {
        const GgufWriter writer = glowq_writer(in, qm, prov, spill.get());
        Progress bar("writing", writer.tensor_count(), show);
        writer.write_file(out_path, [&](size_t, size_t) { bar.step(out_path); });
    }
    const double write_s = seconds_since(t);

    const double int4 = double(qm.int4_bytes()), corr = double(qm.correction_bytes());
    std::printf("%s -> %s\n", in_path.c_str(), out_path.c_str());
    std::string base = base_name(qm.base);
    if (qm.grid == Grid::Search) base += " (searched grids)";
    std::printf("method %s, base %s, int4 group %u, rank %u%s, route %s, %u thread%s\n", method_name(qm.method),
                base.c_str(), qm.group_size, qm.rank, qo.budget > 0.0 ? " at most" : "", route.c_str(), qo.threads,
                qo.threads == 1 ? "" : "s");
    if (!qm.groups.empty()) {  // which square root of Σ each group's input got
        std::map<std::string, size_t> by_root;
        for (const auto& g : qm.groups) ++by_root[g.whitening];
        std::string roots;
        for (const auto& [r, n] : by_root) roots += (roots.empty() ? "" : ", ") + std::to_string(n) + " " + r;
        std::printf("whitening of the groups' inputs: %s\n", roots.c_str());
    }
    if (qo.budget > 0.0) {
        std::map<uint32_t, size_t> by_rank;
        for (const auto& g : qm.groups) ++by_rank[g.restored ? g.rank : 0];
        std::string ranks;
        for (const auto& [r, n] : by_rank) ranks += (ranks.empty() ? "" : ", ") + std::to_string(n) + " at " + std::to_string(r);
        std::printf("budget %.2f%% of int4: group ranks %s\n", qo.budget * 100.0, ranks.c_str());
    }
    if (calibrate)
        std::printf("calibration: %llu tokens in windows of %u%s on %s, text sha256 %s\n", (unsigned long long)prov.tokens,
                    window, bos >= 0 ? " (BOS first)" : "", calib_where.c_str(), prov.text_sha256.c_str());
    if (!selection.empty()) std::printf("restored: %s\n", selection.c_str());
    std::printf("int4 weights %.2f MiB, corrections %.2f MiB (%.2f%% of int4), %zu units corrected\n", int4 / 1048576.0,
                corr / 1048576.0, int4 > 0 ? 100.0 * corr / int4 : 0.0, qm.restored_units().size());
    if (streamed)
        std::printf("time: load %.1f s, calibration %.1f s and fitting %.1f s (layer by layer), selection %.1f s, "
                    "writing %.1f s, total %.1f s\n",
                    load_s, calib_s, fit_s, select_s, write_s, seconds_since(t_start));
    else
        std::printf("time: load %.1f s, calibration %.1f s, fitting %.1f s, selection %.1f s, writing %.1f s, total %.1f s\n",
                    load_s, calib_s, fit_s, select_s, write_s, seconds_since(t_start));
    std::printf("peak memory: %.1f MiB resident\n", peak_rss_mib());
    return 0;
}

}  // namespace glowq::cli

// `glowq info`: the Vulkan devices, or what a GGUF model file holds.
#include <cstdio>
#include <map>
#include <sstream>

#include "args.hpp"
#include "commands.hpp"
#include "glowq/loader/chat_template.hpp"
#include "glowq/loader/gguf.hpp"
#include "glowq/loader/model_config.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/quant/glowq_file.hpp"
#include "glowq/vk/context.hpp"

namespace glowq::cli {

namespace {

std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
            continue;
        }
        o += c;
    }
    return o + "\"";
}

std::string shape_of(const GgufTensor& t) {
    std::string s;
    for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? " x " : "") + std::to_string(t.ne[i]);
    return s;
}

// The architecture table's traits of the model, in a few words.
std::string traits(const ModelConfig& c) {
    std::string t = c.arch.rope == RopeStyle::Neox ? "NEOX rope" : "adjacent-pair rope";
    t += c.arch.activation == Activation::GeluTanh ? ", GELU FFN" : ", SiLU FFN";
    if (c.attn_bias) t += ", q/k/v biases";
    if (c.arch.qk_norm) t += ", q/k norms";
    if (c.arch.post_norms) t += ", post-norms";
    char buf[96];
    if (c.embd_scale != 1.0f) {
        std::snprintf(buf, sizeof buf, ", embeddings x%.4g", c.embd_scale);
        t += buf;
    }
    std::snprintf(buf, sizeof buf, ", attention scale %.4g", c.attn_scale);
    return t + buf;
}

int devices(bool json, const vk::ContextOptions& policy) {
    auto devices = vk::list_devices();
    for (auto& d : devices) vk::apply_policy(d, policy);
    if (json) {
        std::printf("{\"devices\":[");
        for (size_t i = 0; i < devices.size(); ++i) std::printf("%s%s", i ? "," : "", devices[i].to_json().c_str());
        std::printf("]}\n");
        return devices.empty() ? 1 : 0;
    }
    std::printf("%zu Vulkan device(s):\n", devices.size());
    for (const auto& d : devices) std::printf("%s", d.to_text().c_str());
    return devices.empty() ? 1 : 0;
}

int model(const std::string& path, bool json, bool all_tensors) {
    const GgufFile f = GgufFile::open(path);
    const ModelConfig c = read_model_config(f);
    const Tokenizer tok(vocab_from_gguf(f));
    const auto& v = tok.vocab();
    uint64_t total_bytes = 0, total_params = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_type;  // type -> (tensors, bytes)
    for (const auto& t : f.tensors()) {
        total_bytes += t.n_bytes;
        total_params += t.n_elements;
        auto& e = by_type[ggml_type_name(t.type)];
        e.first += 1;
        e.second += t.n_bytes;
    }
    const std::string chat = chat_format_name(detect_chat_format(v.chat_template, v.tokens));
    uint32_t local = 0;
    for (uint32_t l = 0; l < c.n_layers; ++l) local += c.layer_is_local(l);
    if (json) {
        std::ostringstream o;
        o << "{\"file\":" << json_str(path) << ",\"gguf_version\":" << f.version() << ",\"architecture\":"
          << json_str(c.architecture) << ",\"name\":" << json_str(c.name) << ",\"n_layers\":" << c.n_layers
          << ",\"n_embd\":" << c.n_embd << ",\"n_heads\":" << c.n_heads << ",\"n_kv_heads\":" << c.n_kv_heads
          << ",\"head_dim\":" << c.head_dim << ",\"n_ff\":" << c.n_ff << ",\"n_ctx\":" << c.n_ctx
          << ",\"n_vocab\":" << c.n_vocab << ",\"rope_dim\":" << c.rope_dim << ",\"rope_freq_base\":" << c.rope_freq_base
          << ",\"rope_scaling\":" << json_str(c.rope_scaling.type) << ",\"rms_eps\":" << c.rms_eps
          << ",\"tied_output\":" << (c.tied_output ? "true" : "false") << ",\"traits\":" << json_str(traits(c))
          << ",\"sliding_window\":" << c.sliding_window << ",\"local_layers\":" << local
          << ",\"rope_freq_base_local\":" << c.rope_freq_base_local << ",\"tokenizer\":{\"model\":"
          << json_str(v.model) << ",\"pre\":" << json_str(v.pre) << ",\"tokens\":" << v.tokens.size()
          << ",\"bos\":" << v.bos << ",\"eos\":" << v.eos << ",\"chat_format\":" << json_str(chat)
          << "},\"parameters\":" << total_params << ",\"tensor_bytes\":" << total_bytes;
        if (format::is_glowq_file(f)) {
            const quant::GlowqSummary g = quant::summarize_glowq(f);
            o << ",\"glowq\":{\"method\":" << json_str(g.method) << ",\"base\":" << json_str(g.base)
              << ",\"grid\":" << json_str(g.grid) << ",\"bits\":" << g.bits << ",\"group_size\":"
              << g.group_size << ",\"rank\":" << g.rank << ",\"restored_units\":[";
            for (size_t i = 0; i < g.restored_units.size(); ++i) o << (i ? "," : "") << json_str(g.restored_units[i]);
            o << "],\"calibration\":{\"text_sha256\":" << json_str(g.text_sha256) << ",\"tokens\":" << g.calib_tokens
              << ",\"alpha\":" << g.alpha << ",\"seed\":" << g.seed << "},\"int4_bytes\":" << g.int4_bytes
              << ",\"correction_bytes\":" << g.correction_bytes << "}";
        }
        o << ",\"tensors\":[";
        bool first = true;
        for (const auto& t : f.tensors()) {
            o << (first ? "" : ",") << "{\"name\":" << json_str(std::string(t.name)) << ",\"type\":"
              << json_str(ggml_type_name(t.type)) << ",\"shape\":[";
            for (uint32_t i = 0; i < t.n_dims; ++i) o << (i ? "," : "") << t.ne[i];
            o << "],\"bytes\":" << t.n_bytes << "}";
            first = false;
        }
        o << "]}\n";
        std::fputs(o.str().c_str(), stdout);
        return 0;
    }
    std::printf("%s  (GGUF v%u, %zu tensors, %zu metadata keys)\n", path.c_str(), f.version(), f.tensors().size(),
                f.metadata().size());
    std::printf("architecture  %s%s%s\n", c.architecture.c_str(), c.name.empty() ? "" : "  ", c.name.c_str());
    std::printf("layers        %u\nhidden        %u\nheads         %u (kv heads %u, head dim %u)\n", c.n_layers,
                c.n_embd, c.n_heads, c.n_kv_heads, c.head_dim);
    std::printf("ffn           %u\ncontext       %u\nvocab         %u\n", c.n_ff, c.n_ctx, c.n_vocab);
    std::printf("rope          dim %u, base %g, scaling %s", c.rope_dim, c.rope_freq_base, c.rope_scaling.type.c_str());
    if (c.rope_scaling.type != "none") std::printf(" x%g", c.rope_scaling.factor);
    std::printf("\nrms eps       %g\noutput        %s\n", c.rms_eps, c.tied_output ? "tied to token_embd" : "output.weight");
    std::printf("traits        %s\n", traits(c).c_str());
    if (c.sliding_window)
        std::printf("attention     sliding window %u on %u of %u layers (their rope base %g)\n", c.sliding_window, local,
                    c.n_layers, c.rope_freq_base_local);
    std::printf("tokenizer     %s (pre %s), %zu tokens, bos %d, eos %d, chat format %s\n", v.model.c_str(),
                v.pre.empty() ? "-" : v.pre.c_str(), v.tokens.size(), v.bos, v.eos, chat.c_str());
    std::printf("parameters    %.1f M, %.1f MiB of tensor data\n", total_params / 1e6, total_bytes / 1048576.0);
    for (const auto& [type, e] : by_type)
        std::printf("  %-6s %4llu tensors %10.2f MiB\n", type.c_str(), (unsigned long long)e.first, e.second / 1048576.0);
    if (format::is_glowq_file(f)) {
        const quant::GlowqSummary g = quant::summarize_glowq(f);
        std::printf("glowq         method %s on %s int%u, group %u, rank %u%s\n", g.method.c_str(), g.base.c_str(), g.bits,
                    g.group_size, g.rank, g.method == "rtn" ? "" : " at most");
        if (g.grid == "search") std::printf("  base        searched grids\n");
        std::printf("  corrected   %zu units", g.restored_units.size());
        for (size_t i = 0; i < g.restored_units.size() && i < 8; ++i)
            std::printf("%s%s", i ? ", " : ": ", g.restored_units[i].c_str());
        std::printf("%s\n", g.restored_units.size() > 8 ? ", ..." : "");
        std::printf("  bytes       int4 %.2f MiB, corrections %.2f MiB (%.2f%% of int4; %u A, %u B tensors)\n",
                    g.int4_bytes / 1048576.0, g.correction_bytes / 1048576.0,
                    g.int4_bytes ? 100.0 * double(g.correction_bytes) / double(g.int4_bytes) : 0.0, g.lr_a_tensors,
                    g.lr_b_tensors);
        std::printf("  calibration %llu tokens, text sha256 %s, alpha %g, seed %llu\n",
                    (unsigned long long)g.calib_tokens, g.text_sha256.empty() ? "-" : g.text_sha256.c_str(), g.alpha,
                    (unsigned long long)g.seed);
    }
    std::printf("\n%-32s %-6s %-18s %12s\n", "tensor", "type", "shape", "bytes");
    size_t shown = 0;
    for (const auto& t : f.tensors()) {
        const bool layer = t.name.rfind("blk.", 0) == 0;
        // Without --all, only the first layer's tensors stand for the rest.
        if (!all_tensors && layer && t.name.rfind("blk.0.", 0) != 0) continue;
        std::printf("%-32s %-6s %-18s %12llu\n", std::string(t.name).c_str(), ggml_type_name(t.type).c_str(),
                    shape_of(t).c_str(), (unsigned long long)t.n_bytes);
        ++shown;
    }
    if (shown < f.tensors().size())
        std::printf("... and %zu more layer tensors like blk.0 (--all lists every tensor)\n", f.tensors().size() - shown);
    return 0;
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
    Args args(argv, {"--help", "-h", "--json", "--all"}, {"--limits"});
    if (args.has("--help") || args.has("-h")) {
        std::printf(
            "usage: glowq info [MODEL.gguf] [--json] [--all]\n\n"
            "Without a file: lists the Vulkan devices with their capabilities (API and driver\n"
            "version, subgroup size and operations, shared memory, storage-buffer range, 8/16-bit\n"
            "storage, fp16 and int8 arithmetic, integer dot product, timestamps, memory heaps), as\n"
            "glowq uses them: lowered where a driver is known to be broken.\n"
            "With a GGUF file: architecture, hyper-parameters, tokenizer, tensor table, totals, and\n"
            "for a GlowQ file (glowq quantize) its method, rank, corrected units, calibration\n"
            "provenance and the bytes spent on corrections.\n\n"
            "  --json       machine-readable output\n"
            "  --all        list every tensor (default: the first layer's stand for the others)\n"
            "  --limits L   device | android-baseline: show the capabilities glowq would use within\n"
            "               these limits (known driver bugs are always applied; 'adjusted:' lines)\n");
        return 0;
    }
    if (args.positional().size() > 1) throw Error(ErrorKind::InvalidArgument, "glowq info takes at most one file");
    vk::ContextOptions policy;
    if (args.has("--limits") && !vk::parse_limits_profile(args.get("--limits"), policy.limits))
        throw Error(ErrorKind::InvalidArgument, "--limits must be device or android-baseline, got '" + args.get("--limits") + "'");
    if (args.positional().empty()) return devices(args.has("--json"), policy);
    return model(args.positional()[0], args.has("--json"), args.has("--all"));
}

}  // namespace glowq::cli

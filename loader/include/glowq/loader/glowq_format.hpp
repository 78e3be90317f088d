// The one definition of how a GlowQ model is stored in GGUF (ARCHITECTURE.md's convention,
// readable by standard GGUF tools). Written by `glowq quantize`, read by the runtime.
//
// Every quantized linear module M of layer N (M in kModules) is stored as
//   blk.N.M.q4       I32, ne = [row_words, rows]: the int4 codes in the runtime layout
//                    (shaders/include/int4_layout.h), each uint32 word stored as int32
//   blk.N.M.scale    F16, ne = [groups, rows]
//   blk.N.M.offset   F16, ne = [groups, rows]     (w = q * scale + offset)
// and, when the module's group is restored, its low-rank correction W ~ Wq + A B:
//   blk.N.M.lr_a     F16, ne = [rank, rows]       (A: rows x rank, row-major)
//   blk.N.G.lr_b     F16, ne = [cols, rank]       (B: rank x cols, row-major)
// where G is the module's group: for per-module methods (lqer, l2qer, qera) G = M; for
// glowq and glowq-s, q/k/v share G = "qkv" and gate/up share G = "gate_up"; attn_output and
// ffn_down are groups of one (G = M). All other tensors (embedding, norms, output) are
// copied from the input file unchanged.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/loader/architecture.hpp"

namespace glowq::format {

constexpr const char* kFormatVersion = "glowq.format_version";  // u32, 1
constexpr const char* kBits = "glowq.bits";                    // u32, 4
constexpr const char* kGroupSize = "glowq.group_size";         // u32
constexpr const char* kMethod = "glowq.method";                // string: rtn|lqer|l2qer|qera|glowq|glowq-s
constexpr const char* kRank = "glowq.rank";                    // u32, the largest (0 for rtn)
constexpr const char* kBase = "glowq.base";                    // string: rtn|gptq (absent: rtn)
constexpr const char* kGrid = "glowq.grid";                    // string: minmax|search (absent: minmax)
constexpr const char* kRestoredUnits = "glowq.restored_units";  // string array, "blk.N.qkv", ...
constexpr const char* kCalibTextSha256 = "glowq.calibration.text_sha256";  // string
constexpr const char* kCalibTokens = "glowq.calibration.tokens";           // u32
constexpr const char* kCalibAlpha = "glowq.calibration.alpha";             // f32
constexpr const char* kCalibSeed = "glowq.calibration.seed";               // u64
constexpr uint32_t kVersion = 1;

// The quantized modules of a layer, in llama.cpp's tensor names (the architecture table's).
inline const std::vector<std::string>& modules() {
    static const std::vector<std::string> m = [] {
        std::vector<std::string> v;
        for (Tensor t : quantized_modules()) v.push_back(tensor_base(t));
        return v;
    }();
    return m;
}

// The 4 GlowQ-S units of a layer (its input-sharing groups) and their members.
inline const std::vector<std::pair<std::string, std::vector<std::string>>>& units() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> u = [] {
        std::vector<std::pair<std::string, std::vector<std::string>>> v;
        for (const ModuleGroup& g : input_sharing_groups()) {
            v.push_back({g.name, {}});
            for (Tensor t : g.members) v.back().second.push_back(tensor_base(t));
        }
        return v;
    }();
    return u;
}

// GlowQ's input-sharing group of a module (the group name used in lr_b tensor names).
inline std::string shared_group(const std::string& module) {
    for (const auto& [group, members] : units())
        for (const auto& m : members)
            if (m == module) return group;
    return module;
}

inline std::string tensor(uint32_t layer, const std::string& name, const char* suffix) {
    return "blk." + std::to_string(layer) + "." + name + "." + suffix;
}

}  // namespace glowq::format

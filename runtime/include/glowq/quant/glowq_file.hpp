// GlowQ models in GGUF (loader/include/glowq/loader/glowq_format.hpp): writing a quantized
// model next to the unchanged tensors of its input file, and reading one back on the CPU
// as effective fp32 weights Wq + A B.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/int4_matrix.hpp"
#include "glowq/loader/gguf.hpp"
#include "glowq/loader/gguf_writer.hpp"
#include "glowq/loader/glowq_reader.hpp"
#include "glowq/model/host_weights.hpp"
#include "glowq/quant/int4_spill.hpp"
#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

struct Provenance {
    std::string text_sha256;  // empty when the method used no calibration
    uint64_t tokens = 0;
    double alpha = 0.05;
    uint64_t seed = 0;
};

// A writer holding the GlowQ file: every input metadata key copied (glowq.* keys added or
// replaced), every input tensor copied unchanged in its original order except the quantized
// modules' `.weight`, which become .q4/.scale/.offset (+ .lr_a, and the group's .lr_b
// before its first member). The input file must outlive the writer (tensor bytes are
// copied from its mapping at write time). Same inputs give the same bytes.
// With a spill, modules whose codes were parked there (Int4Spill::put) are read back from
// it at write time, so it must outlive the writer too.
GgufWriter glowq_writer(const GgufFile& input, const QuantizedModel& model, const Provenance& provenance,
                        const Int4Spill* spill = nullptr);

// Module `module` of layer `layer` of a GlowQ file (format::read_int4 and read_lowrank, the
// one reader), as effective weights: the correction added when the file has one.
HostMatrix read_glowq_effective(const GgufFile& file, uint32_t layer, const std::string& module, uint32_t rows,
                                uint32_t cols);

// What `glowq info` shows about a GlowQ file.
struct GlowqSummary {
    std::string method;
    std::string base = "rtn";  // the int4 quantizer under the correction
    std::string grid = "minmax";  // how RTN's group grids were chosen
    uint32_t rank = 0, group_size = 0, bits = 0;
    std::vector<std::string> restored_units;
    std::string text_sha256;
    uint64_t calib_tokens = 0, seed = 0;
    double alpha = 0.0;
    uint64_t int4_bytes = 0;        // .q4 + .scale + .offset
    uint64_t correction_bytes = 0;  // .lr_a + .lr_b
    uint32_t lr_a_tensors = 0, lr_b_tensors = 0;
};
GlowqSummary summarize_glowq(const GgufFile& file);

}  // namespace glowq::quant

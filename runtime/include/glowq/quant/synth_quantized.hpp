// Random quantized models for speed measurements: the exact tensors, shapes and groups that
// `glowq quantize` writes for a method (plain int4, per-module or GlowQ corrections, GlowQ-S
// with a share of its units restored), filled with random codes and factors instead of
// fitted ones. Timings do not depend on the values, so `glowq bench model --shape NAME
// --modes ...` can compare the correction modes of a large model on a machine with no
// model download and no calibration run. Values are kept small so a forward pass stays
// finite; they carry no meaning.
#pragma once
#include <cstdint>

#include "glowq/loader/model_config.hpp"
#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

struct SynthQuantOptions {
    Method method = Method::Glowq;
    uint32_t group_size = 128;
    uint32_t rank = 64;
    // glowq-s: the share of the 4 units per layer (qkv, gate_up, attn_output, ffn_down)
    // that keep their correction, drawn at random from the seed.
    double restore_fraction = 0.5;
    uint64_t seed = 1;
};

// Throws Error(InvalidArgument) for a rank above a group's smaller dimension or a
// restore fraction outside [0, 1].
QuantizedModel synth_quantized(const ModelConfig& config, const SynthQuantOptions& options);

}  // namespace glowq::quant

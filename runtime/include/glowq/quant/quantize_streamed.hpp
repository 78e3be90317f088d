// `glowq quantize` for models whose fp32 copy and statistics exceed memory (issue 16: a
// 7B model on a 24 GiB machine). The input is read one layer at a time from its mapped
// file, and calibration runs layer by layer: every window through layer L (its four
// inputs' statistics), then L's fits, with L's outputs kept as layer L+1's inputs. What is
// held at once is one layer's weights, statistics and fits plus the windows' residual
// streams, so the peak follows the widest layer, not the layer count. Each layer's int4
// codes go to `spill` as soon as it is done; the corrections (a few percent of the bytes)
// stay in memory until the budget has chosen the ranks.
//
// On the CPU, the result equals quantize_model(HostWeights::load(in), collect_calibration(...))
// bit for bit: the same layer arithmetic (ReferenceLayer) and the same sums in the same order.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glowq/loader/gguf.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/quant/calibration.hpp"
#include "glowq/quant/int4_spill.hpp"
#include "glowq/quant/quantize_model.hpp"

namespace glowq::quant {

// progress(steps done, steps, what): one step per window of a layer's calibration and one
// per layer's fits.
using StreamProgress = std::function<void(size_t, size_t, const std::string&)>;

struct StreamedOptions {
    // Calibration windows (calibration_windows()), all of one length; needed exactly when
    // needs_statistics(options).
    std::vector<std::vector<int32_t>> windows;
    StreamProgress progress;
    // When set, each layer's statistics are kept here too (their memory then grows with the
    // layer count): the tests compare them with collect_calibration's.
    std::vector<LayerStats>* keep_stats = nullptr;
    // When set, calibration runs on this Vulkan device through the inference kernels
    // (VulkanLlama::run_layer_calibration), with the whole unquantized model on the device
    // and each input's sums in fp32 there until its layer is done. The statistics then agree
    // with the CPU's within fp32 rounding, the device's fp16 KV cache and its fp16 copy of
    // bf16 or f32 weights, not bit for bit (docs/quantize-scale.md). What the device cannot
    // calibrate (device_calibration_unsupported) is refused before anything is loaded.
    vk::Context* device = nullptr;
    uint64_t moments_slice_bytes = 0;  // ops::allocate_moments (tests: several slices)
    // When set: wall seconds spent on calibration (the windows' forward and the sums,
    // loading the model onto a device included) and on everything else per layer.
    struct Times {
        double calibration_s = 0.0, layers_s = 0.0;
    }* times = nullptr;
};

// Throws Error(InvalidArgument) for windows missing, of mixed lengths or with tokens outside
// the vocabulary, and what quantize_model and HostWeights::load throw. options.threads also
// runs the windows of a layer in parallel.
QuantizedModel quantize_streamed(const GgufFile& in, const QuantizeOptions& options, Int4Spill& spill,
                                 const StreamedOptions& streamed);

}  // namespace glowq::quant

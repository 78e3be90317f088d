#include "glowq/quant/quantize_streamed.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/model/reference.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "glowq/quant/parallel_for.hpp"

namespace glowq::quant {

namespace {

void check_windows(const ModelConfig& c, const std::vector<std::vector<int32_t>>& windows) {
    for (const auto& w : windows) {
        if (w.size() != windows[0].size() || w.empty())
            throw Error(ErrorKind::InvalidArgument, "calibration windows must all have the same, non-zero length");
        for (int32_t t : w)
            if (t < 0 || uint32_t(t) >= c.n_vocab)
                throw Error(ErrorKind::InvalidArgument, "calibration token id " + std::to_string(t) +
                                                            " outside the vocabulary of " + std::to_string(c.n_vocab));
    }
}

// Drops the mapped pages of every tensor of layer l: they were decoded to fp32 and are not
// read again (the writer copies only the tensors that are not quantized modules).
void evict_layer(const GgufFile& in, uint32_t l) {
    const std::string prefix = "blk." + std::to_string(l) + ".";
    for (const GgufTensor& t : in.tensors())
        if (t.name.rfind(prefix, 0) == 0) in.evict(t);
}

}  // namespace

QuantizedModel quantize_streamed(const GgufFile& in, const QuantizeOptions& o, Int4Spill& spill,
                                 const StreamedOptions& so) {
    using Clock = std::chrono::steady_clock;
    const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
    const auto t_start = Clock::now();
    const ModelConfig c = read_model_config(in);
    const bool calibrate = needs_statistics(o);
    const auto& windows = so.windows;
    if (calibrate && windows.empty())
        throw Error(ErrorKind::InvalidArgument, "no calibration windows: the text is too short");
    check_windows(c, windows);
    const size_t n_windows = calibrate ? windows.size() : 0;
    const uint32_t window = n_windows ? uint32_t(windows[0].size()) : 0;
    const uint32_t kv_dim = c.n_kv_heads * c.head_dim;

    HostWeights::check(in);
    // The forward only where statistics are needed: rtn and lqer quantize models whose rope
    // scaling the reference does not implement.
    auto t_calib = Clock::now();
    double calib_s = 0.0;
    std::optional<ReferenceLayer> math;
    std::vector<std::vector<float>> stream(n_windows);  // each window's residual stream
    if (calibrate) {
        math.emplace(c, HostWeights::load_rope_freqs(in, c));
        const HostMatrix embd = HostWeights::load_token_embd(in, c);
        for (size_t i = 0; i < n_windows; ++i) {
            stream[i].resize(size_t(window) * c.n_embd);
            math->embed(embd, windows[i].data(), window, stream[i].data());
        }
        if (const GgufTensor* t = in.find_tensor(tensor_name(Tensor::TokenEmbd))) in.evict(*t);
    }

    QuantizedModel qm = start_quantized_model(o, c.n_layers);
    const size_t total = size_t(c.n_layers) * (n_windows + 1);
    size_t done = 0;
    const auto step = [&](uint32_t l, const char* what) {
        if (so.progress) so.progress(++done, total, "layer " + std::to_string(l) + ": " + what);
    };
    // Windows run `threads` at a time, each keeping its taps; the sums then take them in
    // window order (the four inputs' sums in parallel), as collect_calibration does.
    const size_t chunk = std::max<size_t>(1, std::min<size_t>(o.threads, n_windows));
    struct Taps {
        std::array<std::vector<float>, kTapPoints> x;
        std::array<uint32_t, kTapPoints> n{}, dim{};
    };
    // On a device: the whole model goes there once; each layer then runs every window.
    std::unique_ptr<VulkanLlama> device;
    if (calibrate && so.device) {
        if (const std::string why = device_calibration_unsupported(c, window); !why.empty())
            throw Error(ErrorKind::Unsupported, "calibration on a device: " + why);
        VulkanModelOptions vo;
        vo.max_context = window;
        vo.chunk = window;
        vo.calibration = true;
        vo.moments_slice_bytes = so.moments_slice_bytes;
        device = std::make_unique<VulkanLlama>(*so.device, in, vo);
    }
    calib_s += seconds_since(t_calib);
    std::vector<Taps> taps(calibrate && !device ? chunk : 0);
    std::vector<std::vector<float>> k_cache(taps.size()), v_cache(taps.size());
    for (size_t i = 0; i < taps.size(); ++i) {
        k_cache[i].resize(size_t(window) * kv_dim);
        v_cache[i].resize(size_t(window) * kv_dim);
    }

    for (uint32_t l = 0; l < c.n_layers; ++l) {
        HostLayer layer = HostWeights::load_layer(in, c, l);
        evict_layer(in, l);
        std::unique_ptr<LayerStats> stats;
        t_calib = Clock::now();
        if (device) {
            LayerStatsAccumulator acc(c, l);
            for (size_t i = 0; i < n_windows; ++i) {
                device->run_layer_calibration(l, stream[i].data(), i == 0);
                step(l, "calibration");
            }
            std::vector<float> abs;
            for (size_t p = 0; p < kTapPoints; ++p) {
                const TapPoint point = TapPoint(p);
                abs.resize(tap_dim(c, point));
                device->read_moments(point, [&](uint32_t row0, uint32_t rows, const float* s) {
                    acc.add_sum_rows(point, row0, rows, s);
                }, abs.data());
                acc.add_abs_sums(point, abs.data(), uint64_t(n_windows) * window);
            }
            stats = std::make_unique<LayerStats>(acc.finish());
        } else if (calibrate) {
            LayerStatsAccumulator acc(c, l);
            for (size_t first = 0; first < n_windows; first += chunk) {
                const size_t count = std::min(chunk, n_windows - first);
                parallel_for(count, o.threads, [&](size_t j) {
                    Taps& t = taps[j];
                    math->run(l, layer, stream[first + j].data(), window, 0, k_cache[j].data(), v_cache[j].data(),
                             [&t](uint32_t, TapPoint p, const float* x, uint32_t n, uint32_t dim) {
                                 t.x[size_t(p)].assign(x, x + size_t(n) * dim);
                                 t.n[size_t(p)] = n;
                                 t.dim[size_t(p)] = dim;
                             });
                });
                for (size_t j = 0; j < count; ++j) {
                    parallel_for(kTapPoints, o.threads, [&](size_t p) {
                        acc.add(TapPoint(p), taps[j].x[p].data(), taps[j].n[p], taps[j].dim[p]);
                    });
                    step(l, "calibration");
                }
            }
            stats = std::make_unique<LayerStats>(acc.finish());
            for (Taps& t : taps)  // not held through the fits (48 MiB a window on a 7B layer)
                for (auto& x : t.x) std::vector<float>().swap(x);
        }
        calib_s += seconds_since(t_calib);
        quantize_layer(layer, l, stats.get(), o, qm);
        layer = HostLayer();
        for (const auto& m : format::modules()) spill.put(l, m, qm.layers[l].at(m).q);
        if (so.keep_stats && stats) so.keep_stats->push_back(std::move(*stats));
        step(l, "fits");
    }
    finish_quantized_model(qm, o);
    if (so.times) *so.times = {calib_s, seconds_since(t_start) - calib_s};
    return qm;
}

}  // namespace glowq::quant

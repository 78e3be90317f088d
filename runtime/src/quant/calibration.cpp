#include "glowq/quant/calibration.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "glowq/error.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "glowq/model/reference.hpp"

namespace glowq::quant {

using Eigen::MatrixXd;
using Eigen::VectorXd;

std::vector<std::vector<int32_t>> calibration_windows(const std::vector<int32_t>& tokens, size_t first,
                                                      size_t max_tokens, uint32_t window, int32_t bos) {
    if (window < 2) throw Error(ErrorKind::InvalidArgument, "calibration window must be at least 2 tokens");
    std::vector<std::vector<int32_t>> out;
    for (size_t at = first; at + window <= tokens.size() && (out.size() + 1) * window <= max_tokens; at += window) {
        out.emplace_back(tokens.begin() + at, tokens.begin() + at + window);
        if (bos >= 0) out.back()[0] = bos;
    }
    return out;
}

LayerStatsAccumulator::LayerStatsAccumulator(const ModelConfig& c, uint32_t layer) : layer_(layer) {
    for (size_t p = 0; p < kTapPoints; ++p) {
        const uint32_t dim = tap_dim(c, TapPoint(p));
        stats_[p].second_moment = MatrixXd::Zero(dim, dim);
        abs_sum_[p] = VectorXd::Zero(dim);
    }
}

void LayerStatsAccumulator::add(TapPoint point, const float* x, uint32_t n, uint32_t dim) {
    InputStats& st = stats_[size_t(point)];
    if (triangle_[size_t(point)] == Eigen::Upper)
        throw Error(ErrorKind::Internal, "one input's sums both from taps and from rows");
    triangle_[size_t(point)] = Eigen::Lower;
    if (dim != uint32_t(st.second_moment.rows()))
        throw Error(ErrorKind::Internal, "tap of dimension " + std::to_string(dim) + " at layer " +
                                             std::to_string(layer_) + ", expected " +
                                             std::to_string(st.second_moment.rows()));
    // fp64 throughout: the sum runs over thousands of tokens whose activations differ by
    // orders of magnitude (outlier features), which fp32 would round away.
    // A local, not a member: collect_calibration keeps every layer's accumulator alive.
    const MatrixXd x64 = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(x, n, dim)
              .cast<double>();
    st.second_moment.selfadjointView<Eigen::Lower>().rankUpdate(x64.transpose());
    abs_sum_[size_t(point)] += x64.cwiseAbs().colwise().sum().transpose();
    st.count += n;
}

void LayerStatsAccumulator::add_sum_rows(TapPoint point, uint32_t row0, uint32_t rows, const float* s) {
    Eigen::MatrixXd& sm = stats_[size_t(point)].second_moment;
    const uint64_t dim = uint64_t(sm.rows());
    if (uint64_t(row0) + rows > dim)
        throw Error(ErrorKind::Internal, "second-moment rows " + std::to_string(row0) + "+" + std::to_string(rows) +
                                             " past an input of " + std::to_string(dim) + " at layer " +
                                             std::to_string(layer_));
    if (triangle_[size_t(point)] == Eigen::Lower)
        throw Error(ErrorKind::Internal, "one input's sums both from taps and from rows");
    triangle_[size_t(point)] = Eigen::Upper;
    // Row i of the sums (j <= i) goes into column i's first i + 1 entries: the upper
    // triangle of the column-major matrix, written contiguously.
    for (uint32_t r = 0; r < rows; ++r) {
        const uint32_t i = row0 + r;
        sm.col(i).head(i + 1) += Eigen::Map<const Eigen::VectorXf>(s + size_t(r) * dim, i + 1).cast<double>();
    }
}

void LayerStatsAccumulator::add_abs_sums(TapPoint point, const float* abs, uint64_t count) {
    VectorXd& a = abs_sum_[size_t(point)];
    for (Eigen::Index j = 0; j < a.size(); ++j) a(j) += double(abs[j]);
    stats_[size_t(point)].count += count;
}

LayerStats LayerStatsAccumulator::finish() {
    for (size_t p = 0; p < kTapPoints; ++p) {
        InputStats& st = stats_[p];
        const double inv = st.count ? 1.0 / double(st.count) : 0.0;
        st.second_moment = (triangle_[p] == Eigen::Upper ? MatrixXd(st.second_moment.selfadjointView<Eigen::Upper>())
                                                         : MatrixXd(st.second_moment.selfadjointView<Eigen::Lower>())) *
                           inv;
        st.mean_abs = abs_sum_[p] * inv;
        abs_sum_[p] = VectorXd();
    }
    return std::move(stats_);
}

CalibrationStats collect_calibration(std::shared_ptr<const HostWeights> weights,
                                     const std::vector<std::vector<int32_t>>& windows,
                                     const std::function<void(uint32_t, uint32_t)>& progress) {
    if (windows.empty()) throw Error(ErrorKind::InvalidArgument, "no calibration windows: the text is too short");
    const ModelConfig& c = weights->config;
    const uint32_t window = uint32_t(windows[0].size());
    CalibrationStats s;
    s.window = window;
    std::vector<LayerStatsAccumulator> acc;
    acc.reserve(c.n_layers);
    for (uint32_t l = 0; l < c.n_layers; ++l) acc.emplace_back(c, l);

    ReferenceLlama model(weights, window);
    model.set_tap([&](uint32_t layer, TapPoint point, const float* x, uint32_t n, uint32_t dim) {
        acc[layer].add(point, x, n, dim);
    });
    std::vector<float> logits(c.n_vocab);
    for (size_t i = 0; i < windows.size(); ++i) {
        if (windows[i].size() != window)
            throw Error(ErrorKind::InvalidArgument, "calibration windows must all have the same length");
        model.eval(windows[i].data(), window, 0, logits.data(), false);
        s.tokens += window;
        if (progress) progress(uint32_t(i + 1), uint32_t(windows.size()));
    }
    for (auto& a : acc) s.layers.push_back(a.finish());
    return s;
}

namespace {

constexpr char kMagic[8] = {'G', 'Q', 'C', 'A', 'L', 'I', 'B', '1'};

template <typename T> void put(AtomicFile& f, const T& v) { f.write(&v, sizeof v); }
template <typename T> T take(std::ifstream& f, const std::string& path) {
    T v;
    if (!f.read(reinterpret_cast<char*>(&v), sizeof v)) throw Error(ErrorKind::Io, path + ": truncated calibration statistics");
    return v;
}

}  // namespace

// Atomic (AtomicFile): a run killed while saving (statistics of a 7B model take many
// minutes to gather) leaves the old file or the new one, never a torn one.
void CalibrationStats::save(const std::string& path) const {
    AtomicFile f(path);
    f.write(kMagic, sizeof kMagic);
    put(f, tokens);
    put(f, window);
    put(f, uint64_t(text_sha256.size()));
    f.write(text_sha256.data(), text_sha256.size());
    put(f, uint32_t(layers.size()));
    for (const auto& layer : layers)
        for (const InputStats& st : layer) {
            put(f, uint32_t(st.second_moment.rows()));
            put(f, st.count);
            f.write(st.second_moment.data(), size_t(st.second_moment.size()) * sizeof(double));
            f.write(st.mean_abs.data(), size_t(st.mean_abs.size()) * sizeof(double));
        }
    f.commit();
}

CalibrationStats CalibrationStats::load(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw Error(ErrorKind::Io, "cannot read " + path);
    const uint64_t size = uint64_t(f.tellg());
    f.seekg(0);
    char magic[8];
    if (!f.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
        throw Error(ErrorKind::Io, path + ": not a glowq calibration statistics file");
    CalibrationStats s;
    s.tokens = take<uint64_t>(f, path);
    s.window = take<uint32_t>(f, path);
    const uint64_t sha_len = take<uint64_t>(f, path);
    if (sha_len > 256) throw Error(ErrorKind::Io, path + ": malformed calibration statistics");
    s.text_sha256.resize(sha_len);
    if (!f.read(s.text_sha256.data(), std::streamsize(sha_len))) throw Error(ErrorKind::Io, path + ": truncated");
    const uint32_t n_layers = take<uint32_t>(f, path);
    if (n_layers > 4096) throw Error(ErrorKind::Io, path + ": malformed calibration statistics");
    s.layers.resize(n_layers);
    for (auto& layer : s.layers)
        for (InputStats& st : layer) {
            const uint32_t n = take<uint32_t>(f, path);
            if (n == 0 || n > 65536) throw Error(ErrorKind::Io, path + ": malformed calibration statistics");
            // A damaged or hostile size is refused before it is allocated: never more than
            // the file holds.
            const uint64_t need = (uint64_t(n) * n + n) * sizeof(double) + sizeof(uint64_t);
            if (need > size - std::min<uint64_t>(size, uint64_t(f.tellg())))
                throw Error(ErrorKind::Io, path + ": truncated calibration statistics (an input of " +
                                               std::to_string(n) + " needs " + std::to_string(need) + " bytes more)");
            st.count = take<uint64_t>(f, path);
            st.second_moment.resize(n, n);
            st.mean_abs.resize(n);
            if (!f.read(reinterpret_cast<char*>(st.second_moment.data()), std::streamsize(size_t(n) * n * sizeof(double))) ||
                !f.read(reinterpret_cast<char*>(st.mean_abs.data()), std::streamsize(n * sizeof(double))))
                throw Error(ErrorKind::Io, path + ": truncated calibration statistics");
        }
    return s;
}

}  // namespace glowq::quant

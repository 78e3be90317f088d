#include "glowq/quant/glowq_file.hpp"

#include <cstring>
#include <set>

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/glowq_reader.hpp"
#include "glowq/loader/load_error.hpp"

namespace glowq::quant {

namespace {

std::vector<uint8_t> bytes_of(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    return std::vector<uint8_t>(b, b + n);
}

// "blk.N.M.weight" of a quantized module: N and M; false for any other tensor.
bool parse_module_weight(std::string_view name, uint32_t& layer, std::string& module) {
    if (name.rfind("blk.", 0) != 0) return false;
    const size_t dot = name.find('.', 4);
    if (dot == std::string_view::npos) return false;
    const std::string_view rest = name.substr(dot + 1);
    for (const auto& m : format::modules())
        if (rest == m + ".weight") {
            layer = uint32_t(std::stoul(std::string(name.substr(4, dot - 4))));
            module = m;
            return true;
        }
    return false;
}

// The low or high fp16 halves of packed scale/offset words.
void unpack_halves(const std::vector<uint32_t>& packed, bool high, uint8_t* dst) {
    for (size_t i = 0; i < packed.size(); ++i) {
        const uint16_t h = uint16_t(high ? packed[i] >> 16 : packed[i] & 0xffffu);
        std::memcpy(dst + 2 * i, &h, 2);
    }
}

void add_int4(GgufWriter& wr, uint32_t layer, const std::string& module, const Int4Matrix& q, const Int4Spill* spill) {
    const uint32_t groups = q.groups();
    const std::string q4 = format::tensor(layer, module, "q4"), scale = format::tensor(layer, module, "scale"),
                      offset = format::tensor(layer, module, "offset");
    if (q.codes.empty() && spill && spill->has(layer, module)) {
        wr.add_tensor(q4, GgmlType::I32, {q.row_words(), q.rows}, [spill, layer, module](uint8_t* dst, uint64_t n) {
            spill->read_codes(layer, module, reinterpret_cast<uint32_t*>(dst), n / 4);
        });
        for (const bool high : {false, true})
            wr.add_tensor(high ? offset : scale, GgmlType::F16, {groups, q.rows},
                          [spill, layer, module, high](uint8_t* dst, uint64_t n) {
                              const std::vector<uint32_t> packed = spill->read_scale_offset(layer, module);
                              if (packed.size() * 2 != n)
                                  throw Error(ErrorKind::Internal, "blk." + std::to_string(layer) + "." + module +
                                                                       ": parked scales disagree with the tensor's size");
                              unpack_halves(packed, high, dst);
                          });
        return;
    }
    if (q.codes.size() != size_t(q.rows) * q.row_words())
        throw Error(ErrorKind::InvalidArgument, "blk." + std::to_string(layer) + "." + module +
                                                    ": the int4 codes are not in memory (parked on disk: pass the Int4Spill)");
    std::vector<uint8_t> scales(q.scale_offset.size() * 2), offsets(scales.size());
    unpack_halves(q.scale_offset, false, scales.data());
    unpack_halves(q.scale_offset, true, offsets.data());
    wr.add_tensor(q4, GgmlType::I32, {q.row_words(), q.rows}, bytes_of(q.codes.data(), q.codes.size() * 4));
    wr.add_tensor(scale, GgmlType::F16, {groups, q.rows}, std::move(scales));
    wr.add_tensor(offset, GgmlType::F16, {groups, q.rows}, std::move(offsets));
}


}  // namespace

GgufWriter glowq_writer(const GgufFile& in, const QuantizedModel& qm, const Provenance& p, const Int4Spill* spill) {
    GgufWriter wr(in.alignment());
    // Input keys first, in order; the glowq.* keys below are added (or replace an input's).
    for (const auto& [key, value] : in.metadata()) wr.set(std::string(key), GgufWriteValue::copy_of(value));
    wr.set(format::kFormatVersion, format::kVersion);
    wr.set(format::kBits, uint32_t(4));
    wr.set(format::kGroupSize, qm.group_size);
    wr.set(format::kMethod, std::string(method_name(qm.method)));
    wr.set(format::kRank, qm.rank);
    wr.set(format::kBase, std::string(base_name(qm.base)));
    if (qm.grid != Grid::MinMax) wr.set(format::kGrid, std::string(grid_name(qm.grid)));
    wr.set_array(format::kRestoredUnits, qm.restored_units());
    wr.set(format::kCalibTextSha256, p.text_sha256);
    wr.set(format::kCalibTokens, uint32_t(p.tokens));
    wr.set(format::kCalibAlpha, float(p.alpha));
    wr.set(format::kCalibSeed, p.seed);

    std::set<int32_t> b_written;
    for (const GgufTensor& t : in.tensors()) {
        uint32_t layer = 0;
        std::string module;
        if (!parse_module_weight(t.name, layer, module)) {
            std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
            const uint8_t* src = t.data;
            wr.add_tensor(std::string(t.name), t.type, ne, [src](uint8_t* dst, uint64_t n) { std::memcpy(dst, src, n); });
            continue;
        }
        if (layer >= qm.layers.size() || !qm.layers[layer].count(module))
            throw Error(ErrorKind::InvalidArgument, "the quantized model has no " + std::string(t.name));
        const ModuleQuant& mq = qm.layers[layer].at(module);
        const CorrectionGroup* g = qm.correction_of(layer, module);
        if (g && b_written.insert(mq.group).second)
            wr.add_tensor(format::tensor(layer, g->name, "lr_b"), GgmlType::F16, {g->cols, g->rank},
                          bytes_of(g->b.data(), g->b.size() * 2));
        add_int4(wr, layer, module, mq.q, spill);
        if (g)
            wr.add_tensor(format::tensor(layer, module, "lr_a"), GgmlType::F16, {g->rank, mq.q.rows},
                          bytes_of(mq.a.data(), mq.a.size() * 2));
    }
    return wr;
}

HostMatrix read_glowq_effective(const GgufFile& f, uint32_t layer, const std::string& module, uint32_t rows,
                                uint32_t cols) {
    const Int4Matrix q = format::read_int4(f, layer, module, rows, cols);
    const format::LowRank lr = format::read_lowrank(f, layer, module, rows, cols);
    if (lr.rank == 0) return effective_matrix(q, nullptr, nullptr, 0);
    return effective_matrix(q, lr.a.data(), lr.b.data(), lr.rank);
}

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

GlowqSummary summarize_glowq(const GgufFile& f) {
    GlowqSummary s;
    s.method = f.get_string(format::kMethod);
    s.rank = uint32_t(f.get_uint(format::kRank));
    if (f.has(format::kBase)) s.base = f.get_string(format::kBase);
    if (f.has(format::kGrid)) s.grid = f.get_string(format::kGrid);
    s.group_size = uint32_t(f.get_uint(format::kGroupSize));
    s.bits = uint32_t(f.get_uint(format::kBits));
    if (f.has(format::kRestoredUnits)) s.restored_units = f.get_array<std::string>(format::kRestoredUnits);
    if (f.has(format::kCalibTextSha256)) s.text_sha256 = f.get_string(format::kCalibTextSha256);
    if (f.has(format::kCalibTokens)) s.calib_tokens = f.get_uint(format::kCalibTokens);
    if (f.has(format::kCalibSeed)) s.seed = f.get_uint(format::kCalibSeed);
    if (f.has(format::kCalibAlpha)) s.alpha = f.get_float(format::kCalibAlpha);
    for (const GgufTensor& t : f.tensors()) {
        if (ends_with(t.name, ".q4") || ends_with(t.name, ".scale") || ends_with(t.name, ".offset")) s.int4_bytes += t.n_bytes;
        if (ends_with(t.name, ".lr_a")) {
            s.correction_bytes += t.n_bytes;
            ++s.lr_a_tensors;
        }
        if (ends_with(t.name, ".lr_b")) {
            s.correction_bytes += t.n_bytes;
            ++s.lr_b_tensors;
        }
    }
    return s;
}

}  // namespace glowq::quant

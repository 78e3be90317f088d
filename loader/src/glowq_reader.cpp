#include "glowq/loader/glowq_reader.hpp"

#include <cstring>

#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/load_error.hpp"

namespace glowq::format {

namespace {

const GgufTensor& tensor_shaped(const GgufFile& f, const std::string& name, GgmlType type, uint64_t ne0, uint64_t ne1) {
    const GgufTensor& t = f.tensor(name);
    if (t.type != type || t.n_dims != 2 || t.ne[0] != ne0 || t.ne[1] != ne1)
        throw LoadError(f.name() + ": tensor " + name + " is " + ggml_type_name(t.type) + " [" + std::to_string(t.ne[0]) +
                        ", " + std::to_string(t.ne[1]) + "], expected " + ggml_type_name(type) + " [" +
                        std::to_string(ne0) + ", " + std::to_string(ne1) + "]");
    return t;
}

std::vector<uint16_t> f16_values(const GgufTensor& t) {
    std::vector<uint16_t> v(size_t(t.n_elements));
    std::memcpy(v.data(), t.data, v.size() * 2);
    return v;
}

}  // namespace

bool is_glowq_file(const GgufFile& f) { return f.has(kFormatVersion); }

uint32_t glowq_group_size(const GgufFile& f) {
    if (!is_glowq_file(f)) throw LoadError(f.name() + ": not a GlowQ file (no " + kFormatVersion + ")");
    const uint64_t version = f.get_uint(kFormatVersion);
    if (version != kVersion)
        throw LoadError(f.name() + ": GlowQ format version " + std::to_string(version) + " is not supported (expected " +
                        std::to_string(kVersion) + ")");
    const uint64_t gs = f.get_uint(kGroupSize);
    if (gs != 32 && gs != 64 && gs != 128)
        throw LoadError(f.name() + ": " + kGroupSize + " is " + std::to_string(gs) + ", expected 32, 64 or 128");
    return uint32_t(gs);
}

Int4Matrix read_int4(const GgufFile& f, uint32_t layer, const std::string& module, uint32_t rows, uint32_t cols) {
    Int4Matrix q = Int4Matrix::zeros(rows, cols, glowq_group_size(f));
    const GgufTensor& codes = tensor_shaped(f, tensor(layer, module, "q4"), GgmlType::I32, q.row_words(), rows);
    const GgufTensor& scale = tensor_shaped(f, tensor(layer, module, "scale"), GgmlType::F16, q.groups(), rows);
    const GgufTensor& offset = tensor_shaped(f, tensor(layer, module, "offset"), GgmlType::F16, q.groups(), rows);
    std::memcpy(q.codes.data(), codes.data, q.codes.size() * 4);
    for (size_t i = 0; i < q.scale_offset.size(); ++i) {
        uint16_t s, m;
        std::memcpy(&s, scale.data + 2 * i, 2);
        std::memcpy(&m, offset.data + 2 * i, 2);
        q.scale_offset[i] = uint32_t(s) | (uint32_t(m) << 16);
    }
    return q;
}

LowRank read_lowrank(const GgufFile& f, uint32_t layer, const std::string& module, uint32_t rows, uint32_t cols) {
    LowRank lr;
    const GgufTensor* a = f.find_tensor(tensor(layer, module, "lr_a"));
    // Per-module methods name B after the module, GlowQ after the shared group.
    const GgufTensor* b = f.find_tensor(tensor(layer, module, "lr_b"));
    if (!b && shared_group(module) != module) {
        b = f.find_tensor(tensor(layer, shared_group(module), "lr_b"));
        lr.shared_b = b != nullptr;
    }
    if (!a && !b) return lr;
    if (!a || !b)
        throw LoadError(f.name() + ": " + tensor(layer, module, "weight") + " has " + (a ? "lr_a" : "lr_b") + " but no " +
                        (a ? "lr_b" : "lr_a"));
    lr.rank = uint32_t(a->ne[0]);
    if (lr.rank == 0) throw LoadError(f.name() + ": tensor " + std::string(a->name) + " has rank 0");
    lr.a = f16_values(tensor_shaped(f, std::string(a->name), GgmlType::F16, lr.rank, rows));
    lr.b = f16_values(tensor_shaped(f, std::string(b->name), GgmlType::F16, cols, lr.rank));
    return lr;
}

}  // namespace glowq::format

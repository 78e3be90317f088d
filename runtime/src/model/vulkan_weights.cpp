#include "vulkan_weights.hpp"

#include <cstring>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/int4_import.hpp"

namespace glowq {

namespace {

const GgufTensor& expect_tensor(const GgufFile& f, const std::string& name, GgmlType type, uint64_t ne0, uint64_t ne1) {
    const GgufTensor& t = f.tensor(name);
    if (t.type != type || t.ne[0] != ne0 || t.rows() != ne1)
        throw Error(ErrorKind::InvalidArgument, f.name() + ": tensor " + name + " is " + ggml_type_name(t.type) + " " +
                                                    std::to_string(t.ne[0]) + " x " + std::to_string(t.rows()) +
                                                    ", expected " + ggml_type_name(type) + " " + std::to_string(ne0) +
                                                    " x " + std::to_string(ne1));
    return t;
}

// A GlowQ module's int4 weights: codes stored as I32 words, scale and offset as F16.
Int4Matrix glowq_int4(const GgufFile& f, uint32_t layer, const std::string& module, uint32_t cols, uint32_t group) {
    const std::string q_name = format::tensor(layer, module, "q4");
    const uint32_t rows = uint32_t(f.tensor(q_name).rows());
    Int4Matrix m = Int4Matrix::zeros(rows, cols, group);
    const GgufTensor& q = expect_tensor(f, q_name, GgmlType::I32, m.row_words(), rows);
    const GgufTensor& sc = expect_tensor(f, format::tensor(layer, module, "scale"), GgmlType::F16, m.groups(), rows);
    const GgufTensor& of = expect_tensor(f, format::tensor(layer, module, "offset"), GgmlType::F16, m.groups(), rows);
    std::memcpy(m.codes.data(), q.data, m.codes.size() * 4);
    const uint16_t* s = reinterpret_cast<const uint16_t*>(sc.data);
    const uint16_t* o = reinterpret_cast<const uint16_t*>(of.data);
    for (size_t i = 0; i < m.scale_offset.size(); ++i) m.scale_offset[i] = uint32_t(s[i]) | (uint32_t(o[i]) << 16);
    return m;
}

std::vector<uint16_t> f16_values(const GgufFile& f, const std::string& name, uint64_t ne0, uint64_t ne1) {
    const GgufTensor& t = expect_tensor(f, name, GgmlType::F16, ne0, ne1);
    const uint16_t* p = reinterpret_cast<const uint16_t*>(t.data);
    return std::vector<uint16_t>(p, p + ne0 * ne1);
}

}  // namespace

Projection upload_projection(vk::Allocator& alloc, const GgufFile& file, uint32_t layer,
                             const std::vector<std::string>& modules, uint32_t cols) {
    Projection p;
    if (!file.has(format::kFormatVersion)) {
        std::vector<std::string> names;
        for (const auto& m : modules) names.push_back("blk." + std::to_string(layer) + "." + m + ".weight");
        p.w = upload_stacked(alloc, file, names);
        return p;
    }
    const uint32_t group = uint32_t(file.get_uint(format::kGroupSize));
    std::vector<Int4Matrix> members;
    for (const auto& m : modules) members.push_back(glowq_int4(file, layer, m, cols, group));
    const std::string shared = format::tensor(layer, format::shared_group(modules[0]), "lr_b");
    const bool has_a = (nullptr != file.find_tensor(format::tensor(layer, modules[0], "lr_a")));
    const bool per_module = has_a && modules.size() > 1 && !(nullptr != file.find_tensor(shared));
    if (!has_a || !per_module) {
        Int4Matrix fused = members[0];
        for (size_t i = 1; i < members.size(); ++i) {
            fused.rows += members[i].rows;
            fused.codes.insert(fused.codes.end(), members[i].codes.begin(), members[i].codes.end());
            fused.scale_offset.insert(fused.scale_offset.end(), members[i].scale_offset.begin(),
                                      members[i].scale_offset.end());
        }
        p.w = ops::DeviceMatrix::upload_int4(alloc, fused);
    } else {
        p.w = ops::DeviceMatrix::upload_int4_members(alloc, members);
    }
    if (!has_a) return p;

    const uint32_t rank = uint32_t(file.tensor(format::tensor(layer, modules[0], "lr_a")).ne[0]);
    std::vector<uint16_t> a, b;
    std::vector<uint32_t> offsets;
    for (size_t i = 0; i < modules.size(); ++i) {
        const auto ai = f16_values(file, format::tensor(layer, modules[i], "lr_a"), rank, members[i].rows);
        a.insert(a.end(), ai.begin(), ai.end());
        if (per_module) {
            const auto bi = f16_values(file, format::tensor(layer, modules[i], "lr_b"), cols, rank);
            b.insert(b.end(), bi.begin(), bi.end());
            offsets.push_back(uint32_t(i) * rank);
        }
    }
    if (!per_module) {
        b = f16_values(file, shared, cols, rank);
        offsets = {0};
    }
    p.w.attach_lowrank(alloc, a, rank, offsets);
    p.b = ops::DeviceMatrix::upload_f16(alloc, b.data(), uint32_t(b.size() / cols), cols);
    return p;
}

ops::DeviceMatrix upload_stacked(vk::Allocator& alloc, const GgufFile& file, const std::vector<std::string>& names) {
    std::vector<ImportedMatrix> parts;
    for (const auto& n : names) parts.push_back(import_matrix(file.tensor(n), NonInt4Policy::KeepFp16, 32, file.name()));
    bool all_int4 = true;
    for (const auto& p : parts) {
        all_int4 = all_int4 && p.is_int4 && p.int4.group_size == parts[0].int4.group_size;
        if (p.cols != parts[0].cols)
            throw Error(ErrorKind::InvalidArgument, file.name() + ": tensors " + names[0] + " and " + names.back() +
                                                        " do not share an input dimension");
    }
    uint32_t rows = 0;
    for (const auto& p : parts) rows += p.rows;
    const uint32_t cols = parts[0].cols;
    if (all_int4) {
        if (parts.size() == 1) return ops::DeviceMatrix::upload_int4(alloc, parts[0].int4);
        Int4Matrix m = Int4Matrix::zeros(rows, cols, parts[0].int4.group_size);
        size_t c = 0, s = 0;
        for (const auto& p : parts) {
            std::copy(p.int4.codes.begin(), p.int4.codes.end(), m.codes.begin() + c);
            std::copy(p.int4.scale_offset.begin(), p.int4.scale_offset.end(), m.scale_offset.begin() + s);
            c += p.int4.codes.size();
            s += p.int4.scale_offset.size();
        }
        return ops::DeviceMatrix::upload_int4(alloc, m);
    }
    std::vector<uint16_t> h;
    h.reserve(size_t(rows) * cols);
    for (const auto& p : parts) {
        if (p.is_int4) {
            for (float v : p.int4.dequantize()) h.push_back(float_to_half(v));
        } else {
            h.insert(h.end(), p.fp16.begin(), p.fp16.end());
        }
    }
    return ops::DeviceMatrix::upload_f16(alloc, h.data(), rows, cols);
}

vk::Buffer upload_vector(vk::Allocator& alloc, const GgufFile& file, const std::string& name, uint32_t expect) {
    const GgufTensor& t = file.tensor(name);
    if (t.n_elements != expect)
        throw Error(ErrorKind::InvalidArgument, file.name() + ": tensor " + name + " has " +
                                                    std::to_string(t.n_elements) + " elements, expected " +
                                                    std::to_string(expect));
    const std::vector<float> v = dequantize(t, file.name());
    return alloc.upload(v.data(), v.size() * 4);
}

}  // namespace glowq

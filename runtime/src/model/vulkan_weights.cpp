#include "vulkan_weights.hpp"

#include <cstring>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/glowq_format.hpp"
#include "glowq/loader/glowq_reader.hpp"
#include "glowq/loader/load_error.hpp"
#include "glowq/loader/int4_import.hpp"

namespace glowq {


Projection upload_projection(vk::Allocator& alloc, const GgufFile& file, uint32_t layer,
                             const std::vector<std::string>& modules, uint32_t cols) {
    Projection p;
    if (!format::is_glowq_file(file)) {
        std::vector<std::string> names;
        for (const auto& m : modules) names.push_back(format::tensor(layer, m, "weight"));
        p.w = upload_stacked(alloc, file, names);
        return p;
    }
    std::vector<Int4Matrix> members;
    std::vector<format::LowRank> lrs;
    for (const auto& m : modules) {
        const uint32_t rows = uint32_t(file.tensor(format::tensor(layer, m, "q4")).rows());
        members.push_back(format::read_int4(file, layer, m, rows, cols));
        lrs.push_back(format::read_lowrank(file, layer, m, rows, cols));
        if (lrs.back().rank != lrs[0].rank || lrs.back().shared_b != lrs[0].shared_b)
            throw LoadError(file.name() + ": the corrections of layer " + std::to_string(layer) + "'s " + modules[0] +
                            " and " + m + " disagree in rank or in sharing B");
    }
    const bool corrected = lrs[0].rank > 0;
    const bool per_module = corrected && modules.size() > 1 && !lrs[0].shared_b;
    if (!per_module) {
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
    if (!corrected) return p;

    const uint32_t rank = lrs[0].rank;
    std::vector<uint16_t> a, b;
    std::vector<uint32_t> offsets;
    for (size_t i = 0; i < modules.size(); ++i) {
        a.insert(a.end(), lrs[i].a.begin(), lrs[i].a.end());
        if (per_module) {
            b.insert(b.end(), lrs[i].b.begin(), lrs[i].b.end());
            offsets.push_back(uint32_t(i) * rank);
        }
    }
    if (!per_module) {
        b = lrs[0].b;
        offsets = {0};
    }
    p.w.attach_lowrank(alloc, a, rank, offsets);
    p.b = ops::DeviceMatrix::upload_f16(alloc, b.data(), uint32_t(b.size() / cols), cols);
    return p;
}

ops::DeviceMatrix upload_stacked(vk::Allocator& alloc, const GgufFile& file, const std::vector<std::string>& names) {
    // A Q8_0 tensor on its own (the embedding, the output projection) stays Q8: 8.5 bits
    // per weight read per token instead of fp16's 16.
    if (names.size() == 1) {
        const GgufTensor& t = file.tensor(names[0]);
        if (t.type == GgmlType::Q8_0 && t.cols() % 32 == 0) return ops::DeviceMatrix::upload_q8(alloc, q8_from_gguf(t, file.name()));
    }
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

std::vector<float> read_vector(const GgufFile& file, const std::string& name, uint32_t expect) {
    const GgufTensor& t = file.tensor(name);
    if (t.n_elements != expect)
        throw Error(ErrorKind::InvalidArgument, file.name() + ": tensor " + name + " has " +
                                                    std::to_string(t.n_elements) + " elements, expected " +
                                                    std::to_string(expect));
    return dequantize(t, file.name());
}

vk::Buffer upload_vector(vk::Allocator& alloc, const GgufFile& file, const std::string& name, uint32_t expect) {
    const std::vector<float> v = read_vector(file, name, expect);
    return alloc.upload(v.data(), v.size() * 4);
}

}  // namespace glowq

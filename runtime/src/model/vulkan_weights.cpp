#include "vulkan_weights.hpp"

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/loader/dequant.hpp"
#include "glowq/loader/int4_import.hpp"

namespace glowq {

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

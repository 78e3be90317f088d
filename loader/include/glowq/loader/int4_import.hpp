// Turning GGUF weight tensors into the runtime's int4 layout (glowq::Int4Matrix).
// Q4_0 and Q4_1 map onto it exactly (group 32; Q4_0: s = d, m = -8d; Q4_1: s = d, m = m),
// so llama.cpp models load without re-quantizing. Other types are decoded to fp32 and then
// either RTN-quantized or kept as fp16, as the caller chooses.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/int4_matrix.hpp"
#include "glowq/q8_matrix.hpp"
#include "glowq/loader/gguf.hpp"

namespace glowq {

// Exact import of a Q4_0 or Q4_1 tensor: rows = product of ne[1..3], cols = ne[0].
// Int4Matrix::dequantize() then equals dequantize(tensor) exactly (bit for bit, except
// that a zero scale may give +0 where ggml gives -0). Throws LoadError
// for other types, and for a Q4_0 scale whose offset -8d does not fit fp16 (|d| > 8188).
Int4Matrix int4_from_gguf(const GgufTensor& t, const std::string& file_name = {});

// Exact import of a Q8_0 tensor (rows of whole 32-column blocks): the runtime's Q8 layout.
Q8Matrix q8_from_gguf(const GgufTensor& t, const std::string& file_name = {});

enum class NonInt4Policy {
    Requantize,  // decode to fp32, then RTN int4 (quantize_rtn) at the given group size
    KeepFp16,    // decode to fp32, store as fp16
};

struct ImportedMatrix {
    uint32_t rows = 0, cols = 0;
    bool is_int4 = false;        // true: int4 holds the weights; false: fp16 does
    bool exact = false;          // weights equal the file's, bit for bit
    Int4Matrix int4;
    std::vector<uint16_t> fp16;  // rows * cols, row-major
};

// Q4_0/Q4_1 import exactly; F16 kept as fp16 under KeepFp16 is exact too; everything
// else goes through fp32 by `policy`. group_size applies to Requantize (32, 64 or 128).
ImportedMatrix import_matrix(const GgufTensor& t, NonInt4Policy policy, uint32_t group_size = 32,
                             const std::string& file_name = {});

}  // namespace glowq

// The GGUF format's two enumerations: metadata value types and ggml tensor types, with the
// block geometry the reader needs to size tensors it cannot decode (so files holding
// exotic quantizations still open and their other tensors remain usable).
#pragma once
#include <cstdint>
#include <string>

namespace glowq {

enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
    STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// Name as written in messages ("u32", "string", ...); "type#N" for values outside the enum.
std::string gguf_type_name(GgufType t);
// Encoded size of a fixed-size scalar, 0 for STRING and ARRAY (and unknown types).
uint32_t gguf_scalar_size(GgufType t);
bool gguf_type_known(uint32_t t);

// ggml_type values as stored in GGUF tensor infos. Gaps are types ggml removed.
enum class GgmlType : uint32_t {
    F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
    Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
    IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21,
    IQ2_S = 22, IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28,
    IQ1_M = 29, BF16 = 30, TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct GgmlTypeTraits {
    const char* name;
    uint32_t block_size;  // elements per block (1 for plain types)
    uint32_t type_size;   // bytes per block
    bool can_dequantize;  // this loader has a decoder for it
};

// nullptr for values that are not a ggml type this loader knows the geometry of.
const GgmlTypeTraits* ggml_type_traits(uint32_t type);
std::string ggml_type_name(GgmlType t);

}  // namespace glowq

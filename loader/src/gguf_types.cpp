// Names and block geometry of the GGUF value and ggml tensor types. The geometry of types
// we cannot decode is still listed so that such tensors can be sized, skipped and copied.
#include "glowq/loader/gguf_types.hpp"

namespace glowq {

std::string gguf_type_name(GgufType t) {
    switch (t) {
        case GgufType::U8: return "u8";
        case GgufType::I8: return "i8";
        case GgufType::U16: return "u16";
        case GgufType::I16: return "i16";
        case GgufType::U32: return "u32";
        case GgufType::I32: return "i32";
        case GgufType::F32: return "f32";
        case GgufType::BOOL: return "bool";
        case GgufType::STRING: return "string";
        case GgufType::ARRAY: return "array";
        case GgufType::U64: return "u64";
        case GgufType::I64: return "i64";
        case GgufType::F64: return "f64";
    }
    return "type#" + std::to_string(uint32_t(t));
}

uint32_t gguf_scalar_size(GgufType t) {
    switch (t) {
        case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
        case GgufType::U16: case GgufType::I16: return 2;
        case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
        case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
        default: return 0;
    }
}

bool gguf_type_known(uint32_t t) { return t <= uint32_t(GgufType::F64); }

const GgmlTypeTraits* ggml_type_traits(uint32_t type) {
    // Indexed by the ggml_type value; block geometry as in ggml (and gguf-py's
    // GGML_QUANT_SIZES). A null name marks a removed or unknown value.
    static const GgmlTypeTraits table[] = {
        {"F32", 1, 4, true},       {"F16", 1, 2, true},       {"Q4_0", 32, 18, true},
        {"Q4_1", 32, 20, true},    {nullptr, 0, 0, false},    {nullptr, 0, 0, false},
        {"Q5_0", 32, 22, true},    {"Q5_1", 32, 24, true},    {"Q8_0", 32, 34, true},
        {"Q8_1", 32, 40, false},   {"Q2_K", 256, 84, true},   {"Q3_K", 256, 110, true},
        {"Q4_K", 256, 144, true},  {"Q5_K", 256, 176, true},  {"Q6_K", 256, 210, true},
        {"Q8_K", 256, 292, false}, {"IQ2_XXS", 256, 66, false}, {"IQ2_XS", 256, 74, false},
        {"IQ3_XXS", 256, 98, false}, {"IQ1_S", 256, 50, false}, {"IQ4_NL", 32, 18, false},
        {"IQ3_S", 256, 110, false}, {"IQ2_S", 256, 82, false}, {"IQ4_XS", 256, 136, false},
        {"I8", 1, 1, true},        {"I16", 1, 2, true},       {"I32", 1, 4, true},
        {"I64", 1, 8, false},      {"F64", 1, 8, true},       {"IQ1_M", 256, 56, false},
        {"BF16", 1, 2, true},      {nullptr, 0, 0, false},    {nullptr, 0, 0, false},
        {nullptr, 0, 0, false},    {"TQ1_0", 256, 54, false}, {"TQ2_0", 256, 66, false},
        {nullptr, 0, 0, false},    {nullptr, 0, 0, false},    {nullptr, 0, 0, false},
        {"MXFP4", 32, 17, false},
    };
    if (type >= sizeof(table) / sizeof(table[0]) || !table[type].name) return nullptr;
    return &table[type];
}

std::string ggml_type_name(GgmlType t) {
    const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(t));
    return tr ? tr->name : "ggml_type#" + std::to_string(uint32_t(t));
}

}  // namespace glowq

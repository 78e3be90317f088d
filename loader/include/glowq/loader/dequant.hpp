// Decoding GGUF tensor data to fp32, bit-for-bit as ggml's reference (scalar) decoders do,
// so that a model loaded here computes with the same weights as llama.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/loader/gguf.hpp"

namespace glowq {

bool can_dequantize(GgmlType t);

// Decodes n elements (a multiple of the type's block size) from src into dst. src holds
// n / block_size * type_size bytes. Throws LoadError for types without a decoder.
void dequantize_row(GgmlType t, const void* src, float* dst, uint64_t n);

// Whole tensor, row-major with ne[0] fastest. Throws LoadError naming the file (if given),
// the tensor and its type when the type has no decoder.
std::vector<float> dequantize(const GgufTensor& t, const std::string& file_name = {});
// dequantize's refusal without the decoding: throws its LoadError for a type without a decoder.
void check_dequantizable(const GgufTensor& t, const std::string& file_name = {});

namespace detail {
// K-quant decoders (256-element super-blocks); n is a multiple of 256.
void dequantize_q2_k(const uint8_t* src, float* dst, uint64_t n);
void dequantize_q3_k(const uint8_t* src, float* dst, uint64_t n);
void dequantize_q4_k(const uint8_t* src, float* dst, uint64_t n);
void dequantize_q5_k(const uint8_t* src, float* dst, uint64_t n);
void dequantize_q6_k(const uint8_t* src, float* dst, uint64_t n);
}  // namespace detail

}  // namespace glowq

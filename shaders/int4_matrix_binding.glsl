// An int4 matrix's one binding (int4_layout.h): codes read as aligned uvec4 blocks; its
// scale/offset words (from p.so_word) and a correction's A (from p.a_word) as words.
layout(std430, binding = 0) readonly buffer Codes { uvec4 codes[]; };
layout(std430, binding = 0) readonly buffer MatrixWords { uint w_words[]; };

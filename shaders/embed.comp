#version 450
// Embedding gather: out[t][:] = row tokens[t] of the embedding table, dequantized.
// Every value times p.scale (gemma scales embeddings by sqrt(dim)).
// EMBED_Q4: table in the int4 layout; EMBED_Q8: in the Q8 layout; otherwise fp16 rows
// (GQ_F16_ROW_WORDS words each).
// A table larger than one binding comes in parts, a dispatch each: a part writes the tokens
// whose rows it holds. A token id outside the table writes zeros (from the first part; the
// host validates ids, this keeps a bad id from reading out of bounds). One workgroup per
// token.
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Tokens { int tokens[]; };
#ifdef EMBED_Q4
// codes from word 0, scale/offset words from p.so_word (int4_layout.h)
#endif
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Push { GQ_PUSH_EMBED } p;

void main() {
    const uint t = gl_WorkGroupID.x;
    const int id = tokens[t];
    const bool in_table = id >= 0 && uint(id) < p.total_rows;
    const bool valid = in_table && uint(id) >= p.row0 && uint(id) - p.row0 < p.n_rows;
    if (!valid && (in_table || p.row0 != 0)) return;  // another part's row
    const uint row = valid ? uint(id) - p.row0 : 0u;
    for (uint k = gl_LocalInvocationID.x; k < p.dim; k += gl_WorkGroupSize.x) {
#ifdef EMBED_Q4
        const uint code = (w[row * GQ_ROW_WORDS(p.dim) + k / 8] >> (4 * (k % 8))) & 15u;
        const bool so = p.scale_only != 0u;
        const vec2 sm = gq_scale_offset(w[p.so_word + row * GQ_SO_ROW_WORDS(p.dim, p.G, so) + GQ_SO_COL(k / p.G, so)],
                                        k / p.G, so);
        const float v = float(code) * sm.x + sm.y;
#elif defined(EMBED_Q8)
        const int word = int(w[row * GQ_Q8_ROW_WORDS(p.dim) + k / 4]);
        const vec2 d = gq_unpack_half2(w[p.so_word + row * GQ_Q8_SCALE_WORDS(p.dim) + k / 64]);
        const float v = float(bitfieldExtract(word, int(8 * (k % 4)), 8)) * ((k / 32) % 2 == 0 ? d.x : d.y);
#else
        const vec2 pair = gq_unpack_half2(w[row * GQ_F16_ROW_WORDS(p.dim) + k / 2]);
        const float v = (k % 2 == 0) ? pair.x : pair.y;
#endif
        outv[t * p.dim + k] = valid ? v * p.scale : 0.0;
    }
}

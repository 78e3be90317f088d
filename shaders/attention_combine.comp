#version 450
// Merges attention.comp's splits for one (head, token): with M = max_s m_s,
//   out = sum_s o_s * exp(m_s - M) / sum_s l_s * exp(m_s - M).
// A split that saw no position has l = 0 and m = -1e30, so it contributes nothing.
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"

layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer Partial { float partial[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };  // [t][n_heads * hd]
layout(push_constant) uniform Push { GQ_PUSH_ATTENTION_COMBINE } p;

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
    const uint hd = p.head_dim, stride = hd + 2;
    const uint at = (t * p.n_heads + h) * p.splits * stride;
    float M = -1e30;
    for (uint s = 0; s < p.splits; ++s) M = max(M, partial[at + s * stride + hd]);
    float L = 0.0;
    for (uint s = 0; s < p.splits; ++s) L += partial[at + s * stride + hd + 1] * exp(partial[at + s * stride + hd] - M);
    for (uint d = gl_LocalInvocationID.x; d < hd; d += 64) {
        float acc = 0.0;
        for (uint s = 0; s < p.splits; ++s) acc += partial[at + s * stride + d] * exp(partial[at + s * stride + hd] - M);
        outv[t * p.n_heads * hd + h * hd + d] = acc / L;
    }
}

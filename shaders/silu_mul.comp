#version 450
// SwiGLU activation: out[t][i] = silu(gate[t][i]) * up[t][i], where the fused gate/up
// product of a token is the row [gate (n_ff) | up (n_ff)].
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"

layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer GateUp { float gu[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Push { GQ_PUSH_SILU_MUL } p;

void main() {
    const uint stride = gl_NumWorkGroups.x * 64;
    for (uint e = gl_GlobalInvocationID.x; e < p.n_total; e += stride) {
        const uint t = e / p.n_ff, i = e % p.n_ff;
        const float g = gu[t * 2 * p.n_ff + i], u = gu[t * 2 * p.n_ff + p.n_ff + i];
        outv[e] = g / (1.0 + exp(-g)) * u;
    }
}

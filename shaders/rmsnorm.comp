#version 450
// RMSNorm: out[t][i] = x[row0 + t][i] / sqrt(mean_i(x^2) + eps) * w[i]. One workgroup per
// output row; row0 lets the final norm take only the last token of a chunk. The workgroup
// size (a power of two) is chosen per device: wide on GPUs, where a 64-lane loop over a
// 4096-wide row was latency-bound (35 us on an H100). ADD: out[t] += instead (gemma's
// post-norms, which normalize a block's output before the residual add).
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"

layout(local_size_x_id = 0) in;
const uint WG = gl_WorkGroupSize.x;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
#ifdef ADD
layout(std430, binding = 2) buffer Out { float outv[]; };
#else
layout(std430, binding = 2) writeonly buffer Out { float outv[]; };
#endif
layout(push_constant) uniform Push { GQ_PUSH_RMSNORM } p;

shared float partial[WG];

void main() {
    const uint t = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    const uint src = (p.row0 + t) * p.dim;
    float ss = 0.0;
    for (uint i = tid; i < p.dim; i += WG) ss += x[src + i] * x[src + i];
    partial[tid] = ss;
    for (uint s = WG / 2; s > 0; s >>= 1) {
        barrier();
        if (tid < s) partial[tid] += partial[tid + s];
    }
    barrier();
    const float inv = inversesqrt(partial[0] / float(p.dim) + p.eps);
#ifdef ADD
    for (uint i = tid; i < p.dim; i += WG) outv[t * p.dim + i] += x[src + i] * inv * w[i];
#else
    for (uint i = tid; i < p.dim; i += WG) outv[t * p.dim + i] = x[src + i] * inv * w[i];
#endif
}

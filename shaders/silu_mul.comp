#version 450
// The gated FFN activation: out[t][i] = act(gate[t][i]) * up[t][i], act = SiLU (SwiGLU)
// or with p.gelu GELU's tanh form (GeGLU, gemma), where the fused gate/up product of a
// token is the row [gate (n_ff) | up (n_ff)]. Workgroup (x: 64 columns, y:
// token). LOWRANK: the group's correction A R is added to gate and up first
// (lowrank_input.glsl; A in binding 2).
#extension GL_GOOGLE_include_directive : require
#include "activations.h"
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer GateUp { float gu[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Push { GQ_PUSH_SILU_MUL } p;

#define LR_A_BINDING 2
#define LR_INPUT(i) gu[i]
#include "lowrank_input.glsl"

void main() {
    const uint t = gl_WorkGroupID.y, i = gl_GlobalInvocationID.x;
    lowrank_stage(t);
    // Loads outside control flow (past n_ff, the last column again): lavapipe turns every
    // load inside a branch into a loop over the SIMD lanes, 10x slower here.
    const uint ic = min(i, p.n_ff - 1);
    const float g = gu[t * 2 * p.n_ff + ic] + lowrank_row(ic);
    const float u = gu[t * 2 * p.n_ff + p.n_ff + ic] + lowrank_row(p.n_ff + ic);
    // GELU's 0.5 g (1 + tanh(z)) is g * sigmoid(2z): like SiLU, finite at both ends,
    // where GLSL's tanh of a large argument may not be.
    const float z = float(GQ_GELU_SQRT_2_OVER_PI) * g * (1.0 + float(GQ_GELU_CUBIC) * g * g);
    const float act = g / (1.0 + exp(p.gelu != 0 ? -2.0 * z : -g));
    const float v = act * u;
    if (i < p.n_ff) outv[t * p.n_ff + i] = v;
}

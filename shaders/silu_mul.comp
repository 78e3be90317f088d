#version 450
// The gated FFN activation: out[t][i] = act(gate[t][i]) * up[t][i], act = SiLU (SwiGLU)
// or with p.gelu GELU's tanh form (GeGLU, gemma), where the fused gate/up product of a
// token is the row [gate (n_ff) | up (n_ff)]. Workgroup (x: 64 columns, y:
// token). LOWRANK: the group's correction A R is added to gate and up first
// (lowrank_input.glsl; A in binding 2). B_PARTIAL: also the next product's B times the
// workgroup's columns of the output (push_constants.h), so that product (down) needs no
// dispatch for its R.
#extension GL_GOOGLE_include_directive : require
#if defined(LR_BCAST) || defined(B_PARTIAL)
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#include "activations.h"
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x = GQ_SILU_MUL_WORKGROUP) in;
layout(std430, binding = 0) readonly buffer GateUp { float gu[]; };
layout(std430, binding = 1) writeonly buffer Out { float outv[]; };
layout(push_constant) uniform Push { GQ_PUSH_SILU_MUL } p;

#ifdef B_PARTIAL
#ifdef LR_COOP
#error "B_PARTIAL takes a column per lane"
#endif
#ifdef LOWRANK
#define BP_BINDING 3
#else
#define BP_BINDING 2
#endif
layout(std430, binding = BP_BINDING) readonly buffer BNext { uint bn[]; };
layout(std430, binding = BP_BINDING) readonly buffer BNext4 { uvec4 bn4[]; };
#define BP_COLUMNS GQ_SILU_MUL_WORKGROUP
#include "b_partial.glsl"
#endif

// LR_COOP (GPUs): a quarter of the columns per workgroup, its 64 lanes computing the
// corrections of their gate and up rows together (lowrank_input.glsl).
#ifdef LR_COOP
const uint COLS = gl_WorkGroupSize.x / GQ_LR_COOP_SHARE;
#define LR_SLOTS (2 * COLS)
uint lr_slot_row(uint slot) {  // the gate rows of the workgroup's columns, then their up rows
    const uint col = min(gl_WorkGroupID.x * COLS + slot % COLS, p.n_ff - 1);
    return slot < COLS ? col : p.n_ff + col;
}
#else
const uint COLS = gl_WorkGroupSize.x;
#endif
#define LR_A_BINDING 2
#define LR_INPUT(i) gu[i]
#include "lowrank_input.glsl"

void main() {
    const uint t = gl_WorkGroupID.y, c = gl_LocalInvocationID.x, i = gl_WorkGroupID.x * COLS + c;
    lowrank_stage(t);
#ifdef LR_COOP
    lowrank_coop(LR_SLOTS);
    if (c >= COLS) return;
#endif
    // Loads outside control flow (past n_ff, the last column again): lavapipe turns every
    // load inside a branch into a loop over the SIMD lanes, 10x slower here.
    const uint ic = min(i, p.n_ff - 1);
#ifdef LR_COOP
    const float g = gu[t * 2 * p.n_ff + ic] + lowrank_slot(c);
    const float u = gu[t * 2 * p.n_ff + p.n_ff + ic] + lowrank_slot(COLS + c);
#else
    const float g = gu[t * 2 * p.n_ff + ic] + lowrank_row(ic);
    const float u = gu[t * 2 * p.n_ff + p.n_ff + ic] + lowrank_row(p.n_ff + ic);
#endif
    // GELU's 0.5 g (1 + tanh(z)) is g * sigmoid(2z): like SiLU, finite at both ends,
    // where GLSL's tanh of a large argument may not be.
    const float z = float(GQ_GELU_SQRT_2_OVER_PI) * g * (1.0 + float(GQ_GELU_CUBIC) * g * g);
    const float act = g / (1.0 + exp(p.gelu != 0 ? -2.0 * z : -g));
    const float v = act * u;
    if (i < p.n_ff) outv[t * p.n_ff + i] = v;
#ifdef B_PARTIAL
    bp_in[c / 4][c % 4] = i < p.n_ff ? v : 0.0;
    const uint col0 = gl_WorkGroupID.x * GQ_SILU_MUL_WORKGROUP;
    b_partial(c, p.bp_word + (gl_WorkGroupID.x * gl_NumWorkGroups.y + t) * p.b_rank, 0, GQ_F16_ROW_WORDS(p.n_ff), col0,
              min(GQ_SILU_MUL_WORKGROUP, p.n_ff - col0));
#endif
}

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
shared vec4 bp_out[GQ_SILU_MUL_WORKGROUP / 4];

// Every lane calls it (it has a barrier and shuffles; subgroups of at least 8 lanes that
// fill the workgroup, as LR_BCAST). v: this lane's output, 0 past n_ff. Lane j of the
// workgroup sums row j of B over the workgroup's 64 columns, as the dense kernel's
// X_BROADCAST does: per 32 columns, lane l of every 8 reads the outputs 4l..4l+3 and the
// lanes pass them around (lavapipe reads shared memory lane by lane).
void b_partial(uint t, uint c, float v) {
    bp_out[c / 4][c % 4] = v;
    barrier();
    const uint col0 = gl_WorkGroupID.x * GQ_SILU_MUL_WORKGROUP, sl = gl_SubgroupInvocationID % 8;
    const uint rw = GQ_F16_ROW_WORDS(p.n_ff);
    // Whole uvec4 of B (8 columns): rows start on 16 bytes and the workgroup's columns all exist.
    const bool whole = rw % 4 == 0 && col0 + GQ_SILU_MUL_WORKGROUP <= p.n_ff;
    for (uint j0 = 0; j0 < p.b_rank; j0 += GQ_SILU_MUL_WORKGROUP) {
        const uint j = min(j0 + c, p.b_rank - 1);
        float s = 0.0;
        if (whole) {
            for (uint k0 = 0; k0 < GQ_SILU_MUL_WORKGROUP; k0 += 32) {
                const uint first = (j * rw + (col0 + k0) / 2) / 4;
                const vec4 ol = bp_out[k0 / 4 + sl];
                // Columns 4m..4m+3 are words 2m, 2m+1 of the 32 columns, from lane m.
#define GQ_STEP(m) s += dot(vec4(gq_unpack_half2(b[(m) / 2][(m) % 2 * 2]), gq_unpack_half2(b[(m) / 2][(m) % 2 * 2 + 1])), \
                            subgroupShuffle(ol, m));
                const uvec4 b[4] = uvec4[4](bn4[first], bn4[first + 1], bn4[first + 2], bn4[first + 3]);
                GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
            }
        } else {  // the last workgroup, or rows not on 16 bytes: column by column
            const uint n = min(GQ_SILU_MUL_WORKGROUP, p.n_ff - min(col0, p.n_ff));
            for (uint k = 0; k < n; ++k) {
                const vec2 w = gq_unpack_half2(bn[j * rw + (col0 + k) / 2]);
                s += (k % 2 == 0 ? w.x : w.y) * bp_out[k / 4][k % 4];  // col0 is even
            }
        }
        if (j0 + c < p.b_rank) outv[p.bp_word + (gl_WorkGroupID.x * gl_NumWorkGroups.y + t) * p.b_rank + j0 + c] = s;
    }
}
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
    b_partial(t, c, i < p.n_ff ? v : 0.0);
#endif
}

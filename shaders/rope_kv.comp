#version 450
// RoPE on q (in place) and k, then k and v stored into this layer's fp16 KV cache at
// positions pos + t (pos from the step buffer, so a recorded graph serves every step).
// Llama's rotation as GGUF files expect it: adjacent pairs (x[2i], x[2i+1]) rotate by
// theta = (pos * freq_scale) * base^(-2i / rope_dim); dimensions past rope_dim pass through.
// The fused qkv row of a token is [q (n_heads*hd) | k (n_kv*hd) | v (n_kv*hd)].
// Workgroup (x: WG pairs of q, then of k and v together; y: token). LOWRANK: the group's
// correction A R is added to q, k and v first (lowrank_input.glsl; A in binding 3).
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x_id = 0) in;  // wide on GPUs, 64 on CPU drivers
const uint WG = gl_WorkGroupSize.x;
layout(std430, binding = 0) readonly buffer Step { uint step[]; };
layout(std430, binding = 1) buffer QKV { float qkv[]; };
// K [pos][n_kv*hd/2] half2 from word 0, V the same from word p.v_word
layout(std430, binding = 2) writeonly buffer KV { uint kv[]; };
layout(push_constant) uniform Push { GQ_PUSH_ROPE_KV } p;

#define LR_A_BINDING 3
#define LR_INPUT(i) qkv[i]
#include "lowrank_input.glsl"

vec2 rotate(vec2 v, uint pair_in_head, float pos) {
    if (2 * pair_in_head >= p.rope_dim) return v;
    const float theta = pos * p.freq_scale * pow(p.freq_base, -float(2 * pair_in_head) / float(p.rope_dim));
    const float c = cos(theta), s = sin(theta);
    return vec2(v.x * c - v.y * s, v.x * s + v.y * c);
}

// Input row n of the token's fused qkv row (at `row`), corrected.
vec2 pair_at(uint row, uint n) {
    return vec2(qkv[row + n] + lowrank_row(n), qkv[row + n + 1] + lowrank_row(n + 1));
}

void main() {
    const uint t = gl_WorkGroupID.y;
    lowrank_stage(t);
    const uint pos = step[0] + t;
    const uint q_dim = p.n_heads * p.head_dim, kv_dim = p.n_kv * p.head_dim;
    const uint row = t * (q_dim + 2 * kv_dim);
    const uint half_hd = p.head_dim / 2;
    const uint i = gl_GlobalInvocationID.x;
    // Every lane loads a q or k pair and a v pair, only the stores are conditional: lavapipe
    // turns every load inside a branch into a loop over the SIMD lanes.
    const bool is_q = i < q_dim / 2;
    const uint j = min(is_q ? 0 : i - q_dim / 2, kv_dim / 2 - 1);  // the k/v pair
    const vec2 r = rotate(pair_at(row, is_q ? 2 * i : q_dim + 2 * j), (is_q ? i : j) % half_hd, float(pos));
    const vec2 v = pair_at(row, q_dim + kv_dim + 2 * j);
    if (is_q) {
        qkv[row + 2 * i] = r.x;
        qkv[row + 2 * i + 1] = r.y;
    } else if (i < q_dim / 2 + kv_dim / 2) {
        kv[pos * (kv_dim / 2) + j] = gq_pack_half2(r);
        kv[p.v_word + pos * (kv_dim / 2) + j] = gq_pack_half2(v);
    }
}

#version 450
// RoPE on q (in place) and k, then k and v stored into this layer's fp16 KV cache at
// positions pos + t (pos from the step buffer, so a recorded graph serves every step).
// Llama's rotation as GGUF files expect it: adjacent pairs (x[2i], x[2i+1]) rotate by
// theta = (pos * freq_scale) * base^(-2i / rope_dim); dimensions past rope_dim pass through.
// The fused qkv row of a token is [q (n_heads*hd) | k (n_kv*hd) | v (n_kv*hd)].
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"

layout(local_size_x_id = 0) in;  // wide on GPUs, 64 on CPU drivers
const uint WG = gl_WorkGroupSize.x;
layout(std430, binding = 0) readonly buffer Step { uint step[]; };
layout(std430, binding = 1) buffer QKV { float qkv[]; };
// K [pos][n_kv*hd/2] half2 from word 0, V the same from word p.v_word
layout(std430, binding = 2) writeonly buffer KV { uint kv[]; };
layout(push_constant) uniform Push { GQ_PUSH_ROPE_KV } p;

vec2 rotate(vec2 v, uint pair_in_head, float pos) {
    if (2 * pair_in_head >= p.rope_dim) return v;
    const float theta = pos * p.freq_scale * pow(p.freq_base, -float(2 * pair_in_head) / float(p.rope_dim));
    const float c = cos(theta), s = sin(theta);
    return vec2(v.x * c - v.y * s, v.x * s + v.y * c);
}

void main() {
    const uint t = gl_WorkGroupID.x;
    const uint pos = step[0] + t;
    const uint q_dim = p.n_heads * p.head_dim, kv_dim = p.n_kv * p.head_dim;
    const uint row = t * (q_dim + 2 * kv_dim);
    const uint half_hd = p.head_dim / 2;
    for (uint i = gl_LocalInvocationID.x; i < q_dim / 2; i += WG) {
        const uint at = row + 2 * i;
        const vec2 r = rotate(vec2(qkv[at], qkv[at + 1]), i % half_hd, float(pos));
        qkv[at] = r.x;
        qkv[at + 1] = r.y;
    }
    for (uint i = gl_LocalInvocationID.x; i < kv_dim / 2; i += WG) {
        const uint k_at = row + q_dim + 2 * i, v_at = row + q_dim + kv_dim + 2 * i;
        const vec2 k = rotate(vec2(qkv[k_at], qkv[k_at + 1]), i % half_hd, float(pos));
        kv[pos * (kv_dim / 2) + i] = gq_pack_half2(k);
        kv[p.v_word + pos * (kv_dim / 2) + i] = gq_pack_half2(vec2(qkv[v_at], qkv[v_at + 1]));
    }
}

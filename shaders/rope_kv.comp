#version 450
// RoPE on q (in place) and k, then k and v stored into this layer's fp16 KV cache at
// positions pos + t (pos from the step buffer, so a recorded graph serves every step).
// Rotation pair i of a head (i < rope_dim / 2) turns by theta = (pos * freq_scale) *
// base^(-2i / rope_dim); it is the dimensions (2i, 2i+1) as Llama GGUFs expect, or
// (i, i + rope_dim/2) with p.neox (qwen2, gemma3). Dimensions past rope_dim pass through.
// The fused qkv row of a token is [q (n_heads*hd) | k (n_kv*hd) | v (n_kv*hd)].
// LOWRANK: the group's correction A R is added to q, k and v first (lowrank_input.glsl;
// A in binding 3).
// HEADS (NEOX pairs, qwen2's biases, gemma3's q/k norms): one workgroup per head of q and
// of k (x) and token (y), since a head's RMSNorm needs all of it and a NEOX pair's halves
// lie in different words of the cache; the biases (p.bias_word) and the norm weights
// (p.norm_word: q's then k's, head_dim each) are fp32 sections of binding 3 (the qkv
// matrix's binding, or a buffer of their own: ops::QkvSections); word 0 means none.
// Without HEADS (Llama's adjacent pairs, nothing added), workgroups take WG pairs of q,
// then of k and v together (x) per token (y).
#extension GL_GOOGLE_include_directive : require
#ifdef LR_BCAST
#extension GL_KHR_shader_subgroup_shuffle : require
#ifdef HEADS
#error "LR_BCAST needs every lane at every lowrank_row: the adjacent-pairs form only"
#endif
#endif
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

// LR_COOP (GPUs, Llama's pairs): a quarter of the pairs per workgroup, its lanes computing
// the corrections of the pairs' rows together (lowrank_input.glsl): slots 2s, 2s+1 are
// pair s's q or k rows, slots 2P + 2s, 2P + 2s + 1 its v rows.
#ifdef LR_COOP
#ifdef HEADS
#error "LR_COOP is for adjacent pairs"
#endif
// rounded up: the default size of 1 must still give an array
const uint PAIRS = (WG + GQ_LR_COOP_SHARE - 1) / GQ_LR_COOP_SHARE;
#define LR_SLOTS (4 * PAIRS)
uint lr_slot_row(uint slot) {
    const uint q_dim = p.n_heads * p.head_dim, kv_dim = p.n_kv * p.head_dim;
    const uint s = slot % (2 * PAIRS), i = gl_WorkGroupID.x * PAIRS + s / 2;
    const uint j = min(i < q_dim / 2 ? 0 : i - q_dim / 2, kv_dim / 2 - 1);
    if (slot >= 2 * PAIRS) return q_dim + kv_dim + 2 * j + s % 2;
    return (i < q_dim / 2 ? 2 * i : q_dim + 2 * j) + s % 2;
}
#else
const uint PAIRS = WG;
#endif
#define LR_A_BINDING 3
#define LR_INPUT(i) qkv[i]
#include "lowrank_input.glsl"

#ifdef HEADS
layout(std430, binding = 3) readonly buffer Sections { float sections[]; };
shared float red[WG];
float bias(uint n) { return p.bias_word != 0 ? sections[p.bias_word + n] : 0.0; }
#else
float bias(uint n) { return 0.0; }
#endif

// The two dimensions of a head that rotation pair i moves.
uvec2 pair_dims(uint i) {
    const uint half_rot = p.rope_dim / 2;
    if (p.neox == 0) return uvec2(2 * i, 2 * i + 1);
    if (i < half_rot) return uvec2(i, i + half_rot);
    return uvec2(p.rope_dim + 2 * (i - half_rot), p.rope_dim + 2 * (i - half_rot) + 1);
}

vec2 rotate(vec2 v, uint i, float pos) {
    if (2 * i >= p.rope_dim) return v;
    const float theta = pos * p.freq_scale * pow(p.freq_base, -float(2 * i) / float(p.rope_dim));
    const float c = cos(theta), s = sin(theta);
    return vec2(v.x * c - v.y * s, v.x * s + v.y * c);
}

// Input row n of the token's fused qkv row (at word `row`), corrected and biased.
float input_at(uint row, uint n) { return qkv[row + n] + lowrank_row(n) + bias(n); }

#ifdef HEADS
float reduce_sum(float v) {
    const uint tid = gl_LocalInvocationID.x;
    red[tid] = v;
    for (uint s = WG / 2; s > 0; s >>= 1) {
        barrier();
        if (tid < s) red[tid] += red[tid + s];
    }
    barrier();
    return red[0];
}

void main() {
    const uint t = gl_WorkGroupID.y, head = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    lowrank_stage(t);
    const uint pos = step[0] + t;
    const uint hd = p.head_dim, q_dim = p.n_heads * hd, kv_dim = p.n_kv * hd;
    const uint row = t * (q_dim + 2 * kv_dim);
    const bool is_q = head < p.n_heads;
    const uint kvh = is_q ? 0 : head - p.n_heads;
    const uint first = is_q ? head * hd : q_dim + kvh * hd;  // the head's first row in qkv

    float inv = 1.0;
    if (p.norm_word != 0) {
        float ss = 0.0;
        for (uint d = tid; d < hd; d += WG) {
            const float v = input_at(row, first + d);
            ss += v * v;
        }
        // reduce_sum's last barrier also keeps every read of the head before the writes
        inv = inversesqrt(reduce_sum(ss) / float(hd) + p.eps);
    }
    // q and k are rotated in place; a NEOX pair's dimensions lie in different words of the
    // cache, so k goes there from qkv once the whole head is rotated.
    const uint w_at = p.norm_word + (is_q ? 0 : hd);
    for (uint i = tid; i < hd / 2; i += WG) {
        const uvec2 dims = pair_dims(i);
        vec2 v = vec2(input_at(row, first + dims.x), input_at(row, first + dims.y)) * inv;
        if (p.norm_word != 0) v *= vec2(sections[w_at + dims.x], sections[w_at + dims.y]);
        const vec2 r = rotate(v, i, float(pos));
        qkv[row + first + dims.x] = r.x;
        qkv[row + first + dims.y] = r.y;
    }
    if (is_q) return;
    memoryBarrierBuffer();
    barrier();
    const uint k_at = pos * (kv_dim / 2) + kvh * (hd / 2);
    const uint v_first = q_dim + kv_dim + kvh * hd;
    for (uint w = tid; w < hd / 2; w += WG) {
        kv[k_at + w] = gq_pack_half2(vec2(qkv[row + first + 2 * w], qkv[row + first + 2 * w + 1]));
        kv[p.v_word + k_at + w] = gq_pack_half2(vec2(input_at(row, v_first + 2 * w), input_at(row, v_first + 2 * w + 1)));
    }
}
#else
// Adjacent pairs without biases or norms: a pair is a word of the cache.
void main() {
    const uint t = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    lowrank_stage(t);
    const uint pos = step[0] + t;
    const uint q_dim = p.n_heads * p.head_dim, kv_dim = p.n_kv * p.head_dim;
    const uint row = t * (q_dim + 2 * kv_dim);
    const uint half_hd = p.head_dim / 2;
    const uint i = gl_WorkGroupID.x * PAIRS + tid;
#ifdef LR_COOP
    // only workgroups with k pairs need v's rows
    lowrank_coop((gl_WorkGroupID.x + 1) * PAIRS > q_dim / 2 ? 4 * PAIRS : 2 * PAIRS);
    if (tid >= PAIRS) return;
#endif
    // Every lane loads a q or k pair and a v pair, only the stores are conditional: lavapipe
    // turns every load inside a branch into a loop over the SIMD lanes.
    const bool is_q = i < q_dim / 2;
    const uint j = min(is_q ? 0 : i - q_dim / 2, kv_dim / 2 - 1);  // the k/v pair
    const uint n = is_q ? 2 * i : q_dim + 2 * j;
    const uint vn = q_dim + kv_dim + 2 * j;
#ifdef LR_COOP
    const vec2 in_n = vec2(qkv[row + n] + lowrank_slot(2 * tid), qkv[row + n + 1] + lowrank_slot(2 * tid + 1));
    const vec2 v_lr = is_q ? vec2(0.0) : vec2(lowrank_slot(2 * PAIRS + 2 * tid), lowrank_slot(2 * PAIRS + 2 * tid + 1));
    const vec2 v = vec2(qkv[row + vn], qkv[row + vn + 1]) + v_lr;  // q lanes' v slots were not computed
#else
    const vec2 in_n = vec2(input_at(row, n), input_at(row, n + 1));
    const vec2 v = vec2(input_at(row, vn), input_at(row, vn + 1));
#endif
    const vec2 r = rotate(in_n, (is_q ? i : j) % half_hd, float(pos));
    if (is_q) {
        qkv[row + 2 * i] = r.x;
        qkv[row + 2 * i + 1] = r.y;
    } else if (i < q_dim / 2 + kv_dim / 2) {
        kv[pos * (kv_dim / 2) + j] = gq_pack_half2(r);
        kv[p.v_word + pos * (kv_dim / 2) + j] = gq_pack_half2(v);
    }
}
#endif

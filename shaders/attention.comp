#version 450
// Causal attention over the fp16 KV cache, one workgroup per (head, token, split):
// query token t sits at position pos + t and sees positions [0, pos + t], or the last
// p.window of them on a sliding-window layer. Each split takes a contiguous slice of those
// positions and keeps an online softmax (running max m, sum l, unnormalized output o).
// Splitting over the KV length gives a GPU enough workgroups when decoding one token with
// few heads. The output is written normalized as [t][h * hd + d] from word 0 of binding 3;
// with several splits, each writes (o, m, l) to the scratch after it (from p.scratch_word)
// and counts itself in that (head, token)'s counter there; the last to arrive merges them,
//   out = sum_s o_s exp(m_s - M) / sum_s l_s exp(m_s - M), M = max_s m_s,
// and sets the counter back to 0 for the next step. Merging in a dispatch of its own cost a
// dependent dispatch per layer (4-10 us each on GPUs behind a barrier). A split that saw no
// position has l = 0 and m = -1e30: it contributes nothing.
// GQA: query head h reads KV head h / (n_heads / n_kv).
// B_PARTIAL (one split): each workgroup also multiplies its head's output by the next
// product's B (o's, copied after the cache in its binding), so o's R needs no dispatch.
#extension GL_GOOGLE_include_directive : require
#ifdef B_PARTIAL
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x = GQ_ATTENTION_WORKGROUP) in;
const uint WG = GQ_ATTENTION_WORKGROUP;
const uint MAX_DPT = GQ_ATTENTION_MAX_HEAD_DIM / WG;  // each invocation owns head_dim / WG output dims

layout(std430, binding = 0) readonly buffer Step { uint step[]; };
layout(std430, binding = 1) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 2) readonly buffer KV { uint kv[]; };  // K, then V from word p.v_word
// The output [t][n_heads * hd]; from p.scratch_word the splits' [t][h][split][hd + 2], then
// a uint counter per (t, h). Coherent: the last split reads what the others wrote.
layout(std430, binding = 3) coherent buffer Out { float outv[]; };
layout(std430, binding = 3) coherent buffer Counters { uint counters[]; };
layout(push_constant) uniform Push { GQ_PUSH_ATTENTION } p;

#ifdef B_PARTIAL
layout(std430, binding = 2) readonly buffer BNext { uint bn[]; };  // the cache's binding
layout(std430, binding = 2) readonly buffer BNext4 { uvec4 bn4[]; };
#define BP_COLUMNS GQ_ATTENTION_MAX_HEAD_DIM
#include "b_partial.glsl"
#endif

shared float qs[GQ_ATTENTION_MAX_HEAD_DIM];
shared float scores[WG];
shared float red[WG];
shared uint last_split;

float reduce_max(float v) {
    const uint tid = gl_LocalInvocationID.x;
    red[tid] = v;
    for (uint s = WG / 2; s > 0; s >>= 1) {
        barrier();
        if (tid < s) red[tid] = max(red[tid], red[tid + s]);
    }
    barrier();
    const float r = red[0];
    barrier();
    return r;
}

float reduce_sum(float v) {
    const uint tid = gl_LocalInvocationID.x;
    red[tid] = v;
    for (uint s = WG / 2; s > 0; s >>= 1) {
        barrier();
        if (tid < s) red[tid] += red[tid + s];
    }
    barrier();
    const float r = red[0];
    barrier();
    return r;
}

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y, split = gl_WorkGroupID.z;
    const uint tid = gl_LocalInvocationID.x;
    const uint hd = p.head_dim, q_dim = p.n_heads * hd, kv_dim = p.n_kv * hd;
    const uint kvh = h / (p.n_heads / p.n_kv);
    const uint n_pos = step[0] + t + 1;
    const uint first = p.window != 0 && n_pos > p.window ? n_pos - p.window : 0;
    const uint chunk = (n_pos - first + p.splits - 1) / p.splits;
    const uint begin = min(n_pos, first + split * chunk), end = min(n_pos, begin + chunk);

    const uint q_at = t * (q_dim + 2 * kv_dim) + h * hd;
    for (uint d = tid; d < hd; d += WG) qs[d] = qkv[q_at + d] * p.scale;
    barrier();

    float m = -1e30, l = 0.0;
    float o[MAX_DPT];
    for (uint i = 0; i < MAX_DPT; ++i) o[i] = 0.0;

    for (uint base = begin; base < end; base += WG) {
        const uint j = base + tid;
        float s = -1e30;
        if (j < end) {
            const uint k_at = j * (kv_dim / 2) + kvh * (hd / 2);
            s = 0.0;
            for (uint d2 = 0; d2 < hd / 2; ++d2) {
                const vec2 k = gq_unpack_half2(kv[k_at + d2]);
                s += qs[2 * d2] * k.x + qs[2 * d2 + 1] * k.y;
            }
        }
        const float m_new = max(m, reduce_max(s));
        const float pj = j < end ? exp(s - m_new) : 0.0;
        scores[tid] = pj;
        const float correction = exp(m - m_new);
        l = l * correction + reduce_sum(pj);  // reduce_sum's barriers publish scores[]
        m = m_new;
        const uint n_here = min(WG, end - base);
        for (uint i = 0; i < MAX_DPT; ++i) {
            const uint d = tid + i * WG;
            if (d >= hd) break;
            float acc = o[i] * correction;
            for (uint jj = 0; jj < n_here; ++jj) {
                const vec2 v = gq_unpack_half2(kv[p.v_word + (base + jj) * (kv_dim / 2) + kvh * (hd / 2) + d / 2]);
                acc += scores[jj] * ((d % 2 == 0) ? v.x : v.y);
            }
            o[i] = acc;
        }
        barrier();  // scores[] is rewritten by the next tile
    }

    if (p.splits == 1) {
        for (uint i = 0; i < MAX_DPT; ++i) {
            const uint d = tid + i * WG;
            if (d >= hd) break;
            const float v = o[i] / l;
            outv[(t * p.n_heads + h) * hd + d] = v;
#ifdef B_PARTIAL
            bp_in[d / 4][d % 4] = v;
#endif
        }
#ifdef B_PARTIAL
        b_partial(tid, p.bp_word + (h * gl_NumWorkGroups.y + t) * p.b_rank, p.b_word, GQ_F16_ROW_WORDS(q_dim), h * hd, hd);
#endif
        return;
    }
    const uint stride = hd + 2, at = p.scratch_word + (t * p.n_heads + h) * p.splits * stride;
    for (uint i = 0; i < MAX_DPT; ++i) {
        const uint d = tid + i * WG;
        if (d < hd) outv[at + split * stride + d] = o[i];
    }
    if (tid == 0) {
        outv[at + split * stride + hd] = m;
        outv[at + split * stride + hd + 1] = l;
    }
    // This workgroup's partial is visible before its arrival is counted.
    memoryBarrierBuffer();
    barrier();
    const uint counter = p.scratch_word + gl_NumWorkGroups.y * p.n_heads * p.splits * stride + t * p.n_heads + h;
    if (tid == 0) last_split = atomicAdd(counters[counter], 1u) == p.splits - 1 ? 1u : 0u;
    barrier();
    if (last_split == 0) return;
    memoryBarrierBuffer();
    float M = -1e30;
    for (uint s = 0; s < p.splits; ++s) M = max(M, outv[at + s * stride + hd]);
    float L = 0.0;
    for (uint s = 0; s < p.splits; ++s) L += outv[at + s * stride + hd + 1] * exp(outv[at + s * stride + hd] - M);
    for (uint d = tid; d < hd; d += WG) {
        float acc = 0.0;
        for (uint s = 0; s < p.splits; ++s) acc += outv[at + s * stride + d] * exp(outv[at + s * stride + hd] - M);
        outv[(t * p.n_heads + h) * hd + d] = acc / L;
    }
    if (tid == 0) counters[counter] = 0;
}

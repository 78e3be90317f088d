#version 450
// Matrix product for weights that are not int4: fp32, fp16 (WEIGHT_F16) or Q8 (WEIGHT_Q8,
// llama.cpp's Q8_0 blocks): y[t][n] = sum_k w[n][k] * x[t][k]. fp16 halves and int8 codes
// are read packed in uint words, so no 8- or 16-bit storage feature is needed. Workgroup
// (x: ROWS rows, y: NTOK tokens).
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"
#ifdef X_BROADCAST
// CPU drivers (lavapipe): x shared across the subgroup, see main(). Needs TPR == 1 and a
// subgroup of at least 8 lanes.
#extension GL_KHR_shader_subgroup_shuffle : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint NTOK = 1;
const uint WG = gl_WorkGroupSize.x;
const uint TPR = WG / ROWS;

#if defined(WEIGHT_F16) || defined(WEIGHT_Q8)
// fp16: rows of GQ_F16_ROW_WORDS(K); Q8: rows of GQ_Q8_ROW_WORDS(K), scales from p.so_word
layout(std430, binding = 0) readonly buffer W { uint w[]; };
#else
layout(std430, binding = 0) readonly buffer W { float w[]; };
#endif
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { GQ_PUSH_MATMUL } p;

#include "row_reduce.glsl"

void store_y(uint i, float v) { y[i] = p.accumulate != 0 ? y[i] + v : v; }

#ifdef WEIGHT_Q8
// The scale of the 32-column block holding column k of a row.
float q8_scale(uint row, uint k) {
    const vec2 d = gq_unpack_half2(w[p.so_word + row * GQ_Q8_SCALE_WORDS(p.K) + k / 64]);
    return (k / 32) % 2 == 0 ? d.x : d.y;
}
// Columns 4j .. 4j+3 of a row (sign-extended bytes of word j), unscaled.
vec4 q8_word(uint row, uint j) {
    const int v = int(w[row * GQ_Q8_ROW_WORDS(p.K) + j]);
    return vec4(bitfieldExtract(v, 0, 8), bitfieldExtract(v, 8, 8), bitfieldExtract(v, 16, 8), bitfieldExtract(v, 24, 8));
}
#endif

#ifdef X_BROADCAST
// The activations as vec4 too (same binding), for rows whose start is a multiple of 4.
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };

// Weights of columns k .. k+3 of a row.
#ifndef WEIGHT_Q8
vec4 w4(uint row, uint k) {
#if defined(WEIGHT_F16)
    const uint i = row * GQ_F16_ROW_WORDS(p.K) + k / 2;  // k is even
    return vec4(gq_unpack_half2(w[i]), gq_unpack_half2(w[i + 1]));
#else
    const uint i = row * p.K + k;
    return vec4(w[i], w[i + 1], w[i + 2], w[i + 3]);
#endif
}
#endif

float w1(uint row, uint k) {
#if defined(WEIGHT_Q8)
    return q8_word(row, k / 4)[k % 4] * q8_scale(row, k);
#elif defined(WEIGHT_F16)
    const vec2 h = gq_unpack_half2(w[row * GQ_F16_ROW_WORDS(p.K) + k / 2]);
    return k % 2 == 0 ? h.x : h.y;
#else
    return w[row * p.K + k];
#endif
}
#endif

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = tid % TPR;
    const uint row = gl_WorkGroupID.x * ROWS + tid / TPR;
    const uint t0 = gl_WorkGroupID.y * NTOK;

    float acc[NTOK];
    for (uint t = 0; t < NTOK; ++t) acc[t] = 0.0;

#ifdef X_BROADCAST
    // lavapipe emits each storage buffer load inside control flow as a loop over the 8
    // SIMD lanes (a scalar load each), even when every lane reads the same address: with
    // one row per lane, x cost 8 loads per float. Here the subgroup's first 8 lanes load
    // 8 different vec4 of a 32-column chunk of x and pass them around with subgroupShuffle
    // (see matmul_q4_gemv.comp). All lanes run the loop (rows past N read row N - 1 and
    // store nothing), as the shuffle reads other lanes' values.
    {
        const uint rowc = min(row, p.N - 1);
        const uint sl = gl_SubgroupInvocationID % 8;
        const uint kfull = p.x_stride % 4 == 0 ? p.K / 32 * 32 : 0;  // columns done 32 at a time
        for (uint k0 = 0; k0 < kfull; k0 += 32) {
            vec4 wv[8];
#ifdef WEIGHT_Q8
            const float d = q8_scale(rowc, k0);  // one scale per 32-column block
            for (uint j = 0; j < 8; ++j) wv[j] = q8_word(rowc, k0 / 4 + j) * d;
#else
            for (uint j = 0; j < 8; ++j) wv[j] = w4(rowc, k0 + 4 * j);
#endif
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t < p.T) {
                    const vec4 xl = x4[((t0 + t) * p.x_stride + k0) / 4 + sl];
                    vec4 a = vec4(0.0);
                    // Columns 4j..4j+3 come from lane j. Unrolled by hand: a run-time index
                    // into wv[] would spill it to memory.
#define GQ_STEP(j) a += wv[j] * subgroupShuffle(xl, j);
                    GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
                    acc[t] += a.x + a.y + a.z + a.w;
                }
            }
        }
        for (uint k = kfull; k < p.K; ++k) {  // the tail, one column at a time
            const float wk = w1(rowc, k);
            for (uint t = 0; t < NTOK; ++t)
                if (t0 + t < p.T) acc[t] += wk * x[(t0 + t) * p.x_stride + k];
        }
    }
#else
    if (row < p.N) {
#if defined(WEIGHT_Q8)
        // A lane takes whole words (4 columns); every column of a padded block has a zero
        // code, and columns past K read x only below K.
        for (uint j = lane; j < (p.K + 3) / 4; j += TPR) {
            const vec4 wv = q8_word(row, j) * q8_scale(row, 4 * j);
            const uint k = 4 * j;
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t < p.T) {
                    const uint xb = (t0 + t) * p.x_stride + k;
                    for (uint i = 0; i < 4; ++i)
                        if (k + i < p.K) acc[t] += wv[i] * x[xb + i];
                }
            }
        }
#elif defined(WEIGHT_F16)
        const uint row_words = GQ_F16_ROW_WORDS(p.K);
        for (uint j = lane; j < row_words; j += TPR) {
            const vec2 wv = gq_unpack_half2(w[row * row_words + j]);
            const uint k = 2 * j;
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t < p.T) {
                    const uint xb = (t0 + t) * p.x_stride + k;
                    acc[t] += wv.x * x[xb];
                    if (k + 1 < p.K) acc[t] += wv.y * x[xb + 1];
                }
            }
        }
#else
        for (uint k = lane; k < p.K; k += TPR) {
            const float wv = w[row * p.K + k];
            for (uint t = 0; t < NTOK; ++t)
                if (t0 + t < p.T) acc[t] += wv * x[(t0 + t) * p.x_stride + k];
        }
#endif
    }
#endif

    if (TPR == 1) {
        // One lane per row: nothing to reduce (and no barrier, which lavapipe runs as a
        // coroutine switch per invocation).
        if (row < p.N)
            for (uint t = 0; t < NTOK; ++t)
                if (t0 + t < p.T) store_y((t0 + t) * p.y_stride + p.y_row0 + row, acc[t]);
        return;
    }
    for (uint t = 0; t < NTOK; ++t) row_reduce_put(t, acc[t]);
    row_reduce();
    if (lane == 0 && row < p.N)
        for (uint t = 0; t < NTOK; ++t)
            if (t0 + t < p.T) store_y((t0 + t) * p.y_stride + p.y_row0 + row, row_reduce_get(t));
}

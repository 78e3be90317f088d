#version 450
// Dense matrix product for unquantized weights (fp32, or fp16 with WEIGHT_F16):
// y[t][n] = sum_k w[n][k] * x[t][k]. fp16 weights are read as packed uint pairs, so no
// 16-bit storage feature is needed. Workgroup (x: ROWS rows, y: NTOK tokens).
#extension GL_GOOGLE_include_directive : require
#include "int4_layout.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint NTOK = 1;
const uint WG = gl_WorkGroupSize.x;
const uint TPR = WG / ROWS;

#ifdef WEIGHT_F16
layout(std430, binding = 0) readonly buffer W { uint w[]; };  // rows of GQ_F16_ROW_WORDS(K)
#else
layout(std430, binding = 0) readonly buffer W { float w[]; };
#endif
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push {
    uint N, K, G, T;      // G is unused: the same push layout as the int4 kernels
    uint x_stride, y_stride;
    uint y_row0;          // this dispatch's first row in Y (tensors split by rows)
    uint accumulate;      // 1: Y += W X (residual connections), 0: Y = W X
    uint rank, r_stride, r_offset;  // unused here: the same push layout as the int4 kernels
} p;

#include "row_reduce.glsl"

void store_y(uint i, float v) { y[i] = p.accumulate != 0 ? y[i] + v : v; }

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = tid % TPR;
    const uint row = gl_WorkGroupID.x * ROWS + tid / TPR;
    const uint t0 = gl_WorkGroupID.y * NTOK;

    float acc[NTOK];
    for (uint t = 0; t < NTOK; ++t) acc[t] = 0.0;

    if (row < p.N) {
#ifdef WEIGHT_F16
        const uint row_words = GQ_F16_ROW_WORDS(p.K);
        for (uint j = lane; j < row_words; j += TPR) {
            const vec2 wv = unpackHalf2x16(w[row * row_words + j]);
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

    for (uint t = 0; t < NTOK; ++t) row_reduce_put(t, acc[t]);
    row_reduce();
    if (lane == 0 && row < p.N)
        for (uint t = 0; t < NTOK; ++t)
            if (t0 + t < p.T) store_y((t0 + t) * p.y_stride + p.y_row0 + row, row_reduce_get(t));
}

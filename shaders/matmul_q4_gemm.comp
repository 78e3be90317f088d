#version 450
// int4 dequant matrix-matrix product for prefill: Y[t][n] = sum_k w[n][k] X[t][k] over
// many tokens. A workgroup computes a BM x BT tile (rows x tokens), walking K one 32-column
// block at a time: the block's weights are dequantized once into shared memory and reused
// by all BT tokens. 128 invocations, each computing TM x TT outputs. Shared memory:
// 32*(BM+1) + 32*(BT+1) floats = 12.5 KiB, within the 16 KiB every device has.
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

const uint BM = 64, BT = 32, TM = 4, TT = 4;
const uint WG = (BM / TM) * (BT / TT);  // 128
layout(local_size_x = 128) in;

#include "int4_matrix_binding.glsl"
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { GQ_PUSH_MATMUL } p;

#ifdef LOWRANK
// GlowQ's correction Y += A R: one more pass of the tile product after the K loop, 32
// ranks at a time, with the tile's rows of A and tokens' R staged in shared memory like
// the weights and x. (Reading them from memory per output made prefill with corrections
// 7x slower than without on an H100.)
layout(std430, binding = 3) readonly buffer LrR { float lr_r[]; };
#endif

shared float ws[GQ_BLOCK_COLS][BM + 1];  // +1: no bank conflicts on the transposed store
shared float xs[GQ_BLOCK_COLS][BT + 1];

void store_y(uint i, float v) { y[i] = p.accumulate != 0 ? y[i] + v : v; }

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint row0 = gl_WorkGroupID.x * BM;
    const uint tok0 = gl_WorkGroupID.y * BT;
    const uint tr = tid % (BM / TM);  // this invocation's rows: row0 + tr + i*(BM/TM)
    const uint tt = tid / (BM / TM);  // its tokens: tok0 + tt + j*(BT/TT)
    const uint nblocks = GQ_ROW_BLOCKS(p.K);
    const uint ngroups = GQ_GROUPS(p.K, p.G);

    float acc[TM][TT];
    for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TT; ++j) acc[i][j] = 0.0;

    for (uint b = 0; b < nblocks; ++b) {
        const uint k0 = b * GQ_BLOCK_COLS;
        const uint valid = min(GQ_BLOCK_COLS, p.K - k0);
        barrier();
        if (tid < BM) {
            // One row's 32 codes; columns past K dequantize to 0 so they add nothing.
            const uint row = row0 + tid;
            uvec4 q = uvec4(0);
            vec2 sm = vec2(0.0);
            if (row < p.N) {
                q = codes[row * nblocks + b];
                sm = gq_unpack_half2(w_words[p.so_word + row * ngroups + k0 / p.G]);
            }
            for (uint i = 0; i < GQ_BLOCK_COLS; ++i) {
                const float code = float((q[i / 8] >> (4 * (i % 8))) & 15u);
                ws[i][tid] = (i < valid) ? code * sm.x + sm.y : 0.0;
            }
        } else {
            // The other 64 invocations stage the tokens' 32 columns: BT*32 floats.
            for (uint e = tid - BM; e < BT * GQ_BLOCK_COLS; e += WG - BM) {
                const uint t = e / GQ_BLOCK_COLS, i = e % GQ_BLOCK_COLS;
                const uint tok = tok0 + t;
                xs[i][t] = (tok < p.T && i < valid) ? x[tok * p.x_stride + k0 + i] : 0.0;
            }
        }
        barrier();
        for (uint kk = 0; kk < GQ_BLOCK_COLS; ++kk) {
            float a[TM], v[TT];
            for (uint i = 0; i < TM; ++i) a[i] = ws[kk][tr + i * (BM / TM)];
            for (uint j = 0; j < TT; ++j) v[j] = xs[kk][tt + j * (BT / TT)];
            for (uint i = 0; i < TM; ++i)
                for (uint j = 0; j < TT; ++j) acc[i][j] += a[i] * v[j];
        }
    }

#ifdef LOWRANK
    for (uint j0 = 0; j0 < p.rank; j0 += GQ_BLOCK_COLS) {
        const uint nj = min(GQ_BLOCK_COLS, p.rank - j0);  // even: the rank is
        barrier();
        for (uint e = tid; e < BM * GQ_BLOCK_COLS / 2; e += WG) {  // A: BM rows x 16 fp16 pairs
            const uint r = e / (GQ_BLOCK_COLS / 2), j2 = e % (GQ_BLOCK_COLS / 2);
            const uint row = row0 + r;
            const vec2 a = row < p.N && 2 * j2 < nj ? gq_unpack_half2(w_words[p.a_word + row * (p.rank / 2) + j0 / 2 + j2]) : vec2(0.0);
            ws[2 * j2][r] = a.x;
            ws[2 * j2 + 1][r] = a.y;
        }
        for (uint e = tid; e < BT * GQ_BLOCK_COLS; e += WG) {
            const uint t = e / GQ_BLOCK_COLS, j = e % GQ_BLOCK_COLS;
            const uint tok = tok0 + t;
            xs[j][t] = tok < p.T && j < nj ? lr_r[tok * p.r_stride + p.r_offset + j0 + j] : 0.0;
        }
        barrier();
        for (uint kk = 0; kk < GQ_BLOCK_COLS; ++kk) {
            float a[TM], v[TT];
            for (uint i = 0; i < TM; ++i) a[i] = ws[kk][tr + i * (BM / TM)];
            for (uint j = 0; j < TT; ++j) v[j] = xs[kk][tt + j * (BT / TT)];
            for (uint i = 0; i < TM; ++i)
                for (uint j = 0; j < TT; ++j) acc[i][j] += a[i] * v[j];
        }
    }
#endif

    for (uint i = 0; i < TM; ++i) {
        const uint row = row0 + tr + i * (BM / TM);
        if (row >= p.N) continue;
        for (uint j = 0; j < TT; ++j) {
            const uint tok = tok0 + tt + j * (BT / TT);
            if (tok < p.T) store_y(tok * p.y_stride + p.y_row0 + row, acc[i][j]);
        }
    }
}

#version 450
// int4 dequant matrix-matrix product for prefill: Y[t][n] = sum_k w[n][k] X[t][k] over
// many tokens. A workgroup computes a BM x BT tile (rows x tokens), walking K 16 columns at
// a time: the step's weights are dequantized once into shared memory and reused by all BT
// tokens, its inputs by all BM rows. 128 invocations (the Vulkan minimum), 16 x 8 of them,
// each computing TM x TT outputs from vec4 reads of shared memory: 8 fp32 FMAs per float
// read at TT = 8, against 2 with the 4 x 4 scalar tile this replaced (16 TFLOP/s on an
// H200). Shared memory: (BM + BT) * 20 floats, at most 15 KiB, within the 16 KiB every
// device has. The next step's codes and inputs are loaded into registers while this one's
// are multiplied, so the loads' latency hides behind the arithmetic.
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

// Tokens per invocation: 8 (64-token tiles) for long prompts, 2 or 4 where 64-token tiles
// would leave most of the tile empty or the GPU with too few workgroups.
layout(constant_id = 0) const uint TT = 8;
const uint TM = 8, BM = 128, RT = BM / TM;  // 16 row lanes x 8 token lanes
const uint BT = 8 * TT;
const uint BK = 16;       // columns per step: half a code block, in one group
const uint STRIDE = 20;   // floats per shared row: 16 + 4 keeps 8 consecutive rows' vec4 reads conflict-free
layout(local_size_x = 128) in;

#include "int4_matrix_binding.glsl"
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { GQ_PUSH_MATMUL } p;

#ifdef LOWRANK
// GlowQ's correction Y += A R: one more pass of the tile product after the K loop, 16 ranks
// at a time, with the tile's rows of A and tokens' R staged in shared memory like the
// weights and x. (Reading them from memory per output made prefill with corrections 7x
// slower than without on an H100.)
layout(std430, binding = 3) readonly buffer LrR { float lr_r[]; };
#endif

shared vec4 ws[BM * STRIDE / 4];  // row r's step: ws[r * STRIDE/4 + 0..3]
shared vec4 xs[BT * STRIDE / 4];

const uint XS_PER_LANE = BT * BK / 128;  // the step's inputs each invocation stages

void store_y(uint i, float v) { y[i] = p.accumulate != 0 ? y[i] + v : v; }

// The tile product of one staged step: acc[i][j] += ws[row i] . xs[token j].
void multiply_step(inout float acc[TM][TT], uint tr, uint tt) {
    for (uint kq = 0; kq < BK / 4; ++kq) {
        vec4 a[TM];
        for (uint i = 0; i < TM; ++i) a[i] = ws[(tr + i * RT) * (STRIDE / 4) + kq];
        for (uint j = 0; j < TT; ++j) {
            const vec4 v = xs[(tt + j * 8) * (STRIDE / 4) + kq];
            for (uint i = 0; i < TM; ++i) acc[i][j] += dot(a[i], v);
        }
    }
}

void stage_x(uint e, float v) {
    const uint t = e / BK, k = e % BK;
    xs[t * (STRIDE / 4) + k / 4][k % 4] = v;
}

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint row0 = gl_WorkGroupID.x * BM;
    const uint tok0 = gl_WorkGroupID.y * BT;
    const uint tr = tid % RT;  // this invocation's rows: row0 + tr + i*RT
    const uint tt = tid / RT;  // its tokens: tok0 + tt + j*8
    const uint nsteps = (p.K + BK - 1) / BK;
    const uint nblocks = GQ_ROW_BLOCKS(p.K);
    const bool so = p.scale_only != 0u;
    const uint so_row = GQ_SO_ROW_WORDS(p.K, p.G, so);
    const uint my_row = row0 + tid;  // the row this invocation dequantizes (BM == 128)

    float acc[TM][TT];
    for (uint i = 0; i < TM; ++i)
        for (uint j = 0; j < TT; ++j) acc[i][j] = 0.0;

    // Registers holding the next step: its row's 16 codes (two words of the block's uvec4),
    // scale/offset, and XS_PER_LANE inputs.
    uvec2 q = uvec2(0);
    vec2 sm = vec2(0.0);
    float xr[XS_PER_LANE];
    for (uint s = 0; s <= nsteps; ++s) {
        if (s > 0) {  // stage step s-1 from the registers
            const uint k0 = (s - 1) * BK;
            barrier();
            for (uint c = 0; c < BK / 4; ++c) {
                vec4 w4;
                for (uint i = 0; i < 4; ++i) {
                    const uint col = c * 4 + i;
                    const float code = float((q[col / 8] >> (4 * (col % 8))) & 15u);
                    w4[i] = k0 + col < p.K ? code * sm.x + sm.y : 0.0;  // columns past K add nothing
                }
                ws[tid * (STRIDE / 4) + c] = w4;
            }
            for (uint r = 0; r < XS_PER_LANE; ++r) stage_x(tid + r * 128, xr[r]);
            barrier();
        }
        if (s < nsteps) {  // load step s
            const uint k0 = s * BK;
            q = uvec2(0);
            sm = vec2(0.0);
            if (my_row < p.N) {
                const uvec4 block = codes[my_row * nblocks + k0 / GQ_BLOCK_COLS];
                q = (k0 % GQ_BLOCK_COLS) == 0 ? block.xy : block.zw;
                sm = gq_scale_offset(w_words[p.so_word + my_row * so_row + GQ_SO_COL(k0 / p.G, so)], k0 / p.G, so);
            }
            for (uint r = 0; r < XS_PER_LANE; ++r) {
                const uint e = tid + r * 128, tok = tok0 + e / BK, k = k0 + e % BK;
                xr[r] = tok < p.T && k < p.K ? x[tok * p.x_stride + k] : 0.0;
            }
        }
        if (s > 0) multiply_step(acc, tr, tt);
    }

#ifdef LOWRANK
    for (uint j0 = 0; j0 < p.rank; j0 += BK) {
        barrier();
        // This invocation's row of A: 16 ranks as 8 fp16 pairs (the rank is even).
        for (uint c = 0; c < BK / 4; ++c) {
            vec4 a4 = vec4(0.0);
            for (uint h = 0; h < 2; ++h) {
                const uint j = j0 + c * 4 + h * 2;
                if (my_row < p.N && j < p.rank) {
                    const vec2 a = gq_unpack_half2(w_words[p.a_word + my_row * (p.rank / 2) + j / 2]);
                    a4[h * 2] = a.x;
                    a4[h * 2 + 1] = a.y;
                }
            }
            ws[tid * (STRIDE / 4) + c] = a4;
        }
        for (uint r = 0; r < XS_PER_LANE; ++r) {
            const uint e = tid + r * 128, tok = tok0 + e / BK, j = j0 + e % BK;
            stage_x(e, tok < p.T && j < p.rank ? lr_r[tok * p.r_stride + p.r_offset + j] : 0.0);
        }
        barrier();
        multiply_step(acc, tr, tt);
    }
#endif

    for (uint j = 0; j < TT; ++j) {
        const uint tok = tok0 + tt + j * 8;
        if (tok >= p.T) continue;
        for (uint i = 0; i < TM; ++i) {
            const uint row = row0 + tr + i * RT;
            if (row < p.N) store_y(tok * p.y_stride + p.y_row0 + row, acc[i][j]);
        }
    }
}

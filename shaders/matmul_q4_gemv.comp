#version 450
// int4 dequant matrix-vector product for decode: y[t][n] = sum_k w[n][k] * x[t][k] for a
// few tokens t. Bandwidth-bound: each invocation streams 32 codes (one aligned uvec4) at a
// time along its row; TPR invocations share a row and their partial sums are reduced.
// Workgroup (x: block of ROWS rows, y: block of NTOK tokens).
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"
#ifdef X_BROADCAST
// CPU drivers (lavapipe): see main(). Needs TPR == 1, a subgroup of at least 8 lanes and a
// power-of-two group size.
#extension GL_KHR_shader_subgroup_shuffle : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 4;  // rows per workgroup; TPR = WG / ROWS
layout(constant_id = 2) const uint NTOK = 1;  // tokens per workgroup, 1..8
const uint WG = gl_WorkGroupSize.x;
const uint TPR = WG / ROWS;

#include "int4_matrix_binding.glsl"
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
layout(push_constant) uniform Push { GQ_PUSH_MATMUL } p;

#if defined(LOWRANK) && (defined(NORM_INPUT) || defined(NORM_PRE))
#error "the low-rank epilogue adds A R after the norm's scale: not a combination the runtime uses"
#endif
#if defined(NORM_INPUT) && defined(NORM_PRE)
#error "NORM_PRE's input already carries the norm's weights"
#endif
#ifdef NORM_INPUT
// The decoder layer's RMSNorm folded into the product that consumes it (one dispatch less
// per norm): each invocation sums x^2 as it streams x, multiplies x by the norm weights
// (word norm_word of the matrix binding) as it loads it, and scales its sums by
// 1 / sqrt(mean(x^2) + eps) at the end.
layout(std430, binding = 0) readonly buffer MatrixVec4 { vec4 w_vec4[]; };
float input_scale(uint k) { return uintBitsToFloat(w_words[p.norm_word + k]); }
vec4 input_scale4(uint k) { return w_vec4[p.norm_word / 4 + k / 4]; }  // k a multiple of 4
#define ROW_RED_SLOTS (2 * NTOK)  // the row's sums, then its sums of x^2
#else
float input_scale(uint k) { return 1.0; }
vec4 input_scale4(uint k) { return vec4(1.0); }
#endif
#ifdef B_ROWS
// GlowQ's shared projection R = B x computed by this dispatch's last workgroups (B's fp16
// rows, binding 3), so a corrected group needs no dispatch of its own for it; whoever
// consumes Y adds A R (rope_kv.comp, silu_mul.comp).
layout(std430, binding = 3) readonly buffer BRows { uint b_words[]; };
#endif

#ifdef LOWRANK
// GlowQ's correction: Y += A R, with R = X B^T computed once per group by its own
// dispatch, or in parts by the dispatch that wrote X (r_parts). The workgroup's tokens' R
// slices are loaded (summed) into shared memory once.
const uint MAX_RANK = GQ_MAX_RANK;
layout(std430, binding = 3) readonly buffer LrR { float lr_r[]; };  // T x r_stride
shared float rs[NTOK * MAX_RANK];
#endif

#include "row_reduce.glsl"

// The activations as vec4 too (same binding): rows whose start and length are multiples
// of 4 floats load four at a time.
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };

// The 32 codes of a block as 8 vec4 (columns 4j..4j+3 in element j), extracted once and
// reused for every token of the workgroup.
void unpack_block(uvec4 q, out vec4 c[8]) {
    for (uint w = 0; w < 4; ++w) {
        const uint word = q[w];
        c[2 * w] = vec4(word & 15u, (word >> 4) & 15u, (word >> 8) & 15u, (word >> 12) & 15u);
        c[2 * w + 1] = vec4((word >> 16) & 15u, (word >> 20) & 15u, (word >> 24) & 15u, word >> 28);
    }
}

// Sum over the block's first `valid` columns of q*x and of x, so that
// sum(w*x) = s*sum(q*x) + m*sum(x); ss gains the block's sum of x^2 (before the norm's
// weights). xb is the float index of the block's first column, k0 its column.
void block_dot(const vec4 c[8], uvec4 q, uint xb, uint k0, uint valid, bool aligned, out float qx, out float sx,
               inout float ss) {
    vec4 acc = vec4(0.0), xs = vec4(0.0);
    if (valid == 32 && aligned) {
        for (uint j = 0; j < 8; ++j) {
            vec4 xv = x4[xb / 4 + j];
            ss += dot(xv, xv);
            xv *= input_scale4(k0 + 4 * j);
            acc += c[j] * xv;
            xs += xv;
        }
    } else {
        // Tail: codes come from the packed words (a dynamic index into c[] would push the
        // whole array to memory on some compilers).
        for (uint i = 0; i < valid; ++i) {
            float xv = x[xb + i];
            ss += xv * xv;
            xv *= input_scale(k0 + i);
            acc.x += float((q[i / 8] >> (4 * (i % 8))) & 15u) * xv;
            xs.x += xv;
        }
    }
    qx = acc.x + acc.y + acc.z + acc.w;
    sx = xs.x + xs.y + xs.z + xs.w;
}

// Stores row `row` of token t (R is always written; Y's rows may accumulate) and returns
// the square of what Y holds now (RESID_OUT, which also writes it times the next norm's
// weights).
float store_out(bool r_row, uint t, uint out0, uint out_stride, uint row, float v) {
    const uint i = t * out_stride + out0 + row;
    const float nv = p.accumulate != 0 && !r_row ? y[i] + v : v;
    y[i] = nv;
#ifdef RESID_OUT
    y[p.xg_word + i] = nv * uintBitsToFloat(w_words[p.out_norm_word + out0 + row]);
#endif
    return nv * nv;
}

// NORM_PRE: the norm folded in with no load beyond x (the product that finished the
// residual stream wrote x times this norm's weights and its workgroups' sums of x^2);
// RESID_OUT: that product's side.
#include "norm_partials.glsl"

#ifdef B_ROWS
// Row `row` of B (rows past b_rows compute the last one and store nothing) for the
// workgroup's tokens: sums into acc, sums of x^2 into ssl (this lane's share of x: summed
// over the 8 lanes below in the broadcast kernel, over the row's lanes otherwise) and sst
// (every lane's, the broadcast kernel's tail).
void b_row_dot(uint row, uint lane, uint t0, inout float acc[NTOK], inout float ssl[NTOK], inout float sst[NTOK]) {
    const uint rowc = min(row, p.b_rows - 1);
    const uint rw = GQ_F16_ROW_WORDS(p.K);
#ifdef X_BROADCAST
    const uint sl = gl_SubgroupInvocationID % 8;
    const uint kfull = p.x_stride % 4 == 0 ? p.K / 32 * 32 : 0;
    for (uint k0 = 0; k0 < kfull; k0 += 32) {
        vec4 wv[8];
        for (uint j = 0; j < 8; ++j) {
            const uint i = rowc * rw + k0 / 2 + 2 * j;
            wv[j] = vec4(gq_unpack_half2(b_words[i]), gq_unpack_half2(b_words[i + 1]));
        }
        const vec4 gl = input_scale4(k0 + 4 * sl);
        for (uint t = 0; t < NTOK; ++t) {
            if (t0 + t < p.T) {
                const vec4 xr = x4[(p.x_word + (t0 + t) * p.x_stride + k0) / 4 + sl];
                ssl[t] += dot(xr, xr);
                const vec4 xl = xr * gl;
                vec4 a = vec4(0.0);
#define GQ_STEP(j) a += wv[j] * subgroupShuffle(xl, j);
                GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
                acc[t] += a.x + a.y + a.z + a.w;
            }
        }
    }
    for (uint k = kfull; k < p.K; ++k) {  // the tail, one column at a time
        const vec2 h = gq_unpack_half2(b_words[rowc * rw + k / 2]);
        const float wk = (k % 2 == 0 ? h.x : h.y) * input_scale(k);
        for (uint t = 0; t < NTOK; ++t) {
            if (t0 + t < p.T) {
                const float xv = x[p.x_word + (t0 + t) * p.x_stride + k];
                sst[t] += xv * xv;
                acc[t] += wk * xv;
            }
        }
    }
#else
    for (uint j = lane; j < rw; j += TPR) {
        const vec2 wv = gq_unpack_half2(b_words[rowc * rw + j]);
        const uint k = 2 * j;
        for (uint t = 0; t < NTOK; ++t) {
            if (t0 + t < p.T) {
                const uint xb = p.x_word + (t0 + t) * p.x_stride + k;
                const float x0 = x[xb];
                ssl[t] += x0 * x0;
                acc[t] += wv.x * input_scale(k) * x0;
                if (k + 1 < p.K) {
                    const float x1 = x[xb + 1];
                    ssl[t] += x1 * x1;
                    acc[t] += wv.y * input_scale(k + 1) * x1;
                }
            }
        }
    }
#endif
}
#endif

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = tid % TPR;
    const uint w_groups = (p.N + ROWS - 1) / ROWS;  // B_ROWS: the workgroups after these do B
    const bool b_group = gl_WorkGroupID.x >= w_groups;
    const uint row = (b_group ? gl_WorkGroupID.x - w_groups : gl_WorkGroupID.x) * ROWS + tid / TPR;
    const uint n_rows = b_group ? p.b_rows : p.N;
    const uint t0 = gl_WorkGroupID.y * NTOK;

    float acc[NTOK];
    // Sums of x^2 for NORM_INPUT: ssl over this lane's share of x, sst over what every
    // lane reads (unused sums are dead code in the other variants).
    float ssl[NTOK], sst[NTOK];
    for (uint t = 0; t < NTOK; ++t) {
        acc[t] = 0.0;
        ssl[t] = 0.0;
        sst[t] = 0.0;
    }
#ifdef B_ROWS
    if (b_group) {
        b_row_dot(row, lane, t0, acc, ssl, sst);
    } else {
#endif

#ifdef LOWRANK
    for (uint i = tid; i < NTOK * p.rank; i += WG) {
        const uint t = i / p.rank, j = i % p.rank;
        float r = 0.0;
        if (t0 + t < p.T)
            for (uint q = 0; q < max(p.r_parts, 1u); ++q) r += lr_r[q * p.r_part_stride + (t0 + t) * p.r_stride + p.r_offset + j];
        rs[t * MAX_RANK + j] = r;
    }
    barrier();
#ifdef X_BROADCAST
    // As for x below: R is the same for every row, so the 8 lanes read 8 different pairs
    // of a 16-wide slice of it and shuffle them, instead of each lane reading all of R
    // (lavapipe reads shared memory lane by lane too). Rows past N compute row N - 1.
    {
        const uint rowc = min(row, p.N - 1);
        const uint sl = gl_SubgroupInvocationID % 8;
        const uint rfull = p.rank / 16 * 16;
        for (uint j0 = 0; j0 < rfull; j0 += 16) {
            vec2 a[8];
            for (uint i = 0; i < 8; ++i) a[i] = gq_unpack_half2(w_words[p.a_word + rowc * (p.rank / 2) + j0 / 2 + i]);
            for (uint t = 0; t < NTOK; ++t) {  // rs is zero for tokens past T
                const vec2 rl = vec2(rs[t * MAX_RANK + j0 + 2 * sl], rs[t * MAX_RANK + j0 + 2 * sl + 1]);
                float s = 0.0;
#define GQ_STEP(i) s += dot(a[i], subgroupShuffle(rl, i));
                GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
                acc[t] += s;
            }
        }
        for (uint j2 = rfull / 2; j2 < p.rank / 2; ++j2) {  // rank not a multiple of 16
            const vec2 a = gq_unpack_half2(w_words[p.a_word + rowc * (p.rank / 2) + j2]);
            for (uint t = 0; t < NTOK; ++t)
                acc[t] += a.x * rs[t * MAX_RANK + 2 * j2] + a.y * rs[t * MAX_RANK + 2 * j2 + 1];
        }
    }
#else
    // Each lane of the row takes a share of the rank; the row reduction below sums them.
    if (row < p.N) {
        for (uint j2 = lane; j2 < p.rank / 2; j2 += TPR) {
            const vec2 a = gq_unpack_half2(w_words[p.a_word + row * (p.rank / 2) + j2]);
            for (uint t = 0; t < NTOK; ++t)
                acc[t] += a.x * rs[t * MAX_RANK + 2 * j2] + a.y * rs[t * MAX_RANK + 2 * j2 + 1];
        }
    }
#endif
#endif

#ifdef X_BROADCAST
    // lavapipe runs a subgroup as the 8 SIMD lanes of one core, and emits every storage
    // buffer load inside control flow as a loop over the lanes (mask test, bounds check,
    // scalar load per lane), even when all lanes read the same address. With one row per
    // lane, reading x that way cost 8 scalar loads per float, most of the kernel's time.
    // Here the 8 lanes instead load 8 different vec4 of the block's x (one scalar load per
    // float) and pass them around with subgroupShuffle. (subgroupBroadcast was no faster
    // than the plain loads: inside control flow lavapipe looks for the first active lane
    // with a loop per component.) Every lane runs the loop (rows past N read row N - 1 and
    // store nothing), as the shuffle reads other lanes' values.
    {
        const uint rowc = min(row, p.N - 1);
        const uint nblocks = GQ_ROW_BLOCKS(p.K);
        const bool so = p.scale_only != 0u;
        const uint so_row = GQ_SO_ROW_WORDS(p.K, p.G, so);
        const uint gshift = findMSB(p.G) - 5;  // blocks per group = 2^gshift (no division)
        const bool aligned = p.x_stride % 4 == 0;
        const uint sl = gl_SubgroupInvocationID % 8;
        for (uint b = 0; b < nblocks; ++b) {
            const uvec4 q = codes[rowc * nblocks + b];
            vec4 c[8];
            unpack_block(q, c);
            const vec2 sm = gq_scale_offset(w_words[p.so_word + rowc * so_row + GQ_SO_COL(b >> gshift, so)], b >> gshift, so);
            const uint k0 = b * GQ_BLOCK_COLS;
            const uint valid = min(GQ_BLOCK_COLS, p.K - k0);
            const vec4 gl = input_scale4(k0 + 4 * sl);
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t < p.T) {
                    const uint xb = p.x_word + (t0 + t) * p.x_stride + k0;
                    float qx, sx;
                    if (valid == 32 && aligned) {
                        const vec4 xr = x4[xb / 4 + sl];
                        ssl[t] += dot(xr, xr);
                        const vec4 xl = xr * gl;
                        vec4 a = vec4(0.0), xs = vec4(0.0);
                        // Columns 4j..4j+3 come from lane j. Unrolled by hand: a run-time
                        // index into c[] would spill it to memory.
#define GQ_STEP(j) { const vec4 xv = subgroupShuffle(xl, j); a += c[j] * xv; xs += xv; }
                        GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
                        qx = a.x + a.y + a.z + a.w;
                        sx = xs.x + xs.y + xs.z + xs.w;
                    } else {
                        block_dot(c, q, xb, k0, valid, aligned, qx, sx, sst[t]);  // the row's last block
                    }
                    acc[t] += sm.x * qx + sm.y * sx;
                }
            }
        }
    }
#else
    if (row < p.N) {
        const uint nblocks = GQ_ROW_BLOCKS(p.K);
        const bool so = p.scale_only != 0u;
        const uint so_row = GQ_SO_ROW_WORDS(p.K, p.G, so);
        const bool aligned = p.x_stride % 4 == 0;
        for (uint b = lane; b < nblocks; b += TPR) {
            const uvec4 q = codes[row * nblocks + b];
            vec4 c[8];
            unpack_block(q, c);
            const uint j = (b * GQ_BLOCK_COLS) / p.G;
            const vec2 sm = gq_scale_offset(w_words[p.so_word + row * so_row + GQ_SO_COL(j, so)], j, so);
            const uint k0 = b * GQ_BLOCK_COLS;
            const uint valid = min(GQ_BLOCK_COLS, p.K - k0);
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t < p.T) {
                    float qx, sx;
                    block_dot(c, q, p.x_word + (t0 + t) * p.x_stride + k0, k0, valid, aligned, qx, sx, ssl[t]);
                    acc[t] += sm.x * qx + sm.y * sx;
                }
            }
        }
    }
#endif

#ifdef B_ROWS
    }
#endif

    // Where the sums go: Y's rows (y_row0 on), or R's (from r_word, rows r_stride long).
    const uint out0 = b_group ? p.r_word : p.y_row0;
    const uint out_stride = b_group ? p.r_stride : p.y_stride;
#ifdef NORM_INPUT
#ifdef X_BROADCAST
    // The 8 lanes each summed x^2 over a quarter of every 32 columns.
    for (uint t = 0; t < NTOK; ++t) {
        float s = sst[t];
        for (uint j = 0; j < 8; ++j) s += subgroupShuffle(ssl[t], j);
        ssl[t] = s;
    }
#endif
    if (TPR == 1) {  // each lane saw all of x
        for (uint t = 0; t < NTOK; ++t) acc[t] *= inversesqrt(ssl[t] / float(p.K) + p.eps);
    }
#endif
#ifdef NORM_PRE
    for (uint t = 0; t < NTOK; ++t)  // the scale is linear: applied before the row's sum
        acc[t] *= inversesqrt(pre_sum_sq(min(t0 + t, p.T - 1)) / float(p.K) + p.eps);
#endif

    float sq[NTOK];  // RESID_OUT: the squares of the values this invocation stored
    for (uint t = 0; t < NTOK; ++t) sq[t] = 0.0;
    if (TPR == 1) {
        // One lane per row: nothing to reduce (and no barrier, which lavapipe runs as a
        // coroutine switch per invocation).
        if (row < n_rows)
            for (uint t = 0; t < NTOK; ++t)
                if (t0 + t < p.T) sq[t] = store_out(b_group, t0 + t, out0, out_stride, row, acc[t]);
    } else {
        for (uint t = 0; t < NTOK; ++t) row_reduce_put(t, acc[t]);
#ifdef NORM_INPUT
        for (uint t = 0; t < NTOK; ++t) row_reduce_put(NTOK + t, ssl[t]);
#endif
        row_reduce();
        if (lane == 0 && row < n_rows)
            for (uint t = 0; t < NTOK; ++t) {
                float v = row_reduce_get(t);
#ifdef NORM_INPUT
                v *= inversesqrt(row_reduce_get(NTOK + t) / float(p.K) + p.eps);
#endif
                if (t0 + t < p.T) sq[t] = store_out(b_group, t0 + t, out0, out_stride, row, v);
            }
    }
#ifdef RESID_OUT
    resid_partials(sq, t0);
#endif
}

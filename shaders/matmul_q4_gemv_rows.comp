#version 450
// int4 matrix-vector product for GPUs with subgroup arithmetic (decode, up to 8 tokens):
// y[t][n] = sum_k w[n][k] * x[t][k]. Each subgroup owns NR consecutive rows; its lanes walk
// along them one 32-code block (an aligned uvec4) at a time, so a subgroup's loads of a row
// are contiguous, and the x of a block is loaded once for all NR rows. Each row's partial
// sums are added with subgroupAdd alone: no shared memory, no barrier.
// Against matmul_q4_gemv.comp (one row per workgroup of 64 on GPUs, x reloaded per row,
// a shared-memory reduction behind a barrier) this took the Llama-3-8B gate/up GEMV on an
// H100 from 427 to 1754 GB/s (docs/design-notes.md). The host uses it only where the
// subgroup size is fixed (min = max), as the grid is computed from it.
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#include "push_constants.h"
#include "half.glsl"
#include "int4_layout.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NR = 2;    // rows per subgroup
layout(constant_id = 2) const uint NTOK = 1;  // tokens per workgroup, 1..8
// Subgroups sharing the same NR rows, each walking its own interleaved share of the
// blocks (a "team"): more subgroups for a matrix with few rows, whose product runs alone
// in a decode step. Their sums meet in shared memory. NSG: subgroups per workgroup.
layout(constant_id = 3) const uint KSPLIT = 1;
layout(constant_id = 4) const uint NSG = 4;
const uint WG = gl_WorkGroupSize.x;
#ifdef NORM_INPUT
const uint NSUM = NR + 1;  // per token: the NR rows' sums, then the sum of x^2
#else
const uint NSUM = NR;
#endif
shared float team_sums[NSG * NSUM * NTOK];

#include "int4_matrix_binding.glsl"
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 2) buffer Y { float y[]; };
#ifdef LOWRANK
// GlowQ's correction: Y += A R, with R = X B^T computed once per group by its own dispatch.
// Lanes take pairs of the rank; R is small and read through the cache.
layout(std430, binding = 3) readonly buffer LrR { float lr_r[]; };  // T x r_stride
#endif
layout(push_constant) uniform Push { GQ_PUSH_MATMUL } p;
#if defined(LOWRANK) && (defined(NORM_INPUT) || defined(NORM_PRE) || defined(B_ROWS))
#error "the low-rank epilogue is not combined with the fused input norm or B rows"
#endif
// NORM_PRE: x already times the norm's weights, its sums of x^2 from the workgroups that
// wrote it; RESID_OUT: those written (see matmul_q4_gemv.comp).
#define NORM_PARTIALS_SUBGROUP
#include "norm_partials.glsl"
#ifdef NORM_INPUT
// The RMSNorm folded in, as in matmul_q4_gemv.comp: x^2 summed as x streams, x times the
// norm weights (word norm_word of the matrix binding) on load, the sums scaled at the end.
layout(std430, binding = 0) readonly buffer MatrixVec4 { vec4 w_vec4[]; };
#endif
// The block of x at columns k0.. for token t (zeros past K), times the norm's weights with
// NORM_INPUT, whose x^2 goes into ss.
void load_x(uint t, uint k0, uint valid, bool aligned, out vec4 xv[8], inout float ss) {
    const uint xb = p.x_word + t * p.x_stride + k0;
    if (valid == GQ_BLOCK_COLS && aligned) {
        for (uint j = 0; j < 8; ++j) xv[j] = x4[xb / 4 + j];
    } else {  // the row's last block, or an unaligned x: zeros past K
        for (uint j = 0; j < 8; ++j)
            for (uint i = 0; i < 4; ++i) xv[j][i] = 4 * j + i < valid ? x[xb + 4 * j + i] : 0.0;
    }
#ifdef NORM_INPUT
    for (uint j = 0; j < 8; ++j) {
        ss += dot(xv[j], xv[j]);
        if (valid == GQ_BLOCK_COLS) {
            xv[j] *= w_vec4[p.norm_word / 4 + k0 / 4 + j];
        } else {
            for (uint i = 0; i < 4; ++i)
                if (4 * j + i < valid) xv[j][i] *= uintBitsToFloat(w_words[p.norm_word + k0 + 4 * j + i]);
        }
    }
#endif
}

// The input norm's 1/rms for token t (t < T), from this lane's share of x^2 (NORM_INPUT,
// summed over the subgroup here) or from the partials (NORM_PRE). Uniform control flow.
float norm_scale(uint t, float ss_lane) {
#if defined(NORM_PRE)
    return inversesqrt(pre_sum_sq(t) / float(p.K) + p.eps);
#elif defined(NORM_INPUT)
    return inversesqrt(subgroupAdd(ss_lane) / float(p.K) + p.eps);
#else
    return 1.0;
#endif
}

#ifdef B_ROWS
// GlowQ's R = B norm(x) (fp16 B in binding 3) by the first b_groups workgroups: one row of
// B per subgroup, its lanes along K, 32 columns (four uvec4) per load where B's rows start
// on 16 bytes. B is a few rows: with W's rows per subgroup and team (up to 8 x 2) it took
// 4 workgroups for rank 64, whose lanes each walked 8 rows word by word, and the Llama-3-8B
// gate/up dispatch 20 us more than without B on an H200 (docs/bench/nvidia-h200.md); now
// about 5. First, so they start while W's workgroups stream. (The same path alone, for o's
// and down's B, was slower than the Lanes kernel's wide workgroup per row: 16 workgroups
// for 64 rows, each lane walking a 14336-wide row.)
layout(std430, binding = 3) readonly buffer BRows { uint b_words[]; };
layout(std430, binding = 3) readonly buffer BRows4 { uvec4 b_words4[]; };

void b_rows_main(uint bgroup) {
    const uint SG = gl_SubgroupSize, lane = gl_SubgroupInvocationID;
    const uint row = bgroup * NSG + gl_SubgroupID, rowc = min(row, p.b_rows - 1);
    const uint rw = GQ_F16_ROW_WORDS(p.K), nblocks = GQ_ROW_BLOCKS(p.K);
    const uint t0 = gl_WorkGroupID.y * NTOK;
    const bool aligned = p.x_stride % 4 == 0, b_aligned = rw % 4 == 0;
    float acc[NTOK], ss[NTOK];
    for (uint t = 0; t < NTOK; ++t) acc[t] = ss[t] = 0.0;
    for (uint b = lane; b < nblocks; b += SG) {
        const uint k0 = b * GQ_BLOCK_COLS, valid = min(GQ_BLOCK_COLS, p.K - k0);
        vec4 bv[8];
        if (valid == GQ_BLOCK_COLS && b_aligned) {
            for (uint j = 0; j < 4; ++j) {
                const uvec4 w = b_words4[(rowc * rw + k0 / 2) / 4 + j];
                bv[2 * j] = vec4(gq_unpack_half2(w.x), gq_unpack_half2(w.y));
                bv[2 * j + 1] = vec4(gq_unpack_half2(w.z), gq_unpack_half2(w.w));
            }
        } else {  // zeros past K; an odd K's last word holds one column
            for (uint j = 0; j < 8; ++j)
                for (uint i = 0; i < 4; i += 2) {
                    const uint c = 4 * j + i;
                    const vec2 h = c < valid ? gq_unpack_half2(b_words[rowc * rw + (k0 + c) / 2]) : vec2(0.0);
                    bv[j][i] = h.x;
                    bv[j][i + 1] = c + 1 < valid ? h.y : 0.0;
                }
        }
        for (uint t = 0; t < NTOK; ++t) {
            if (t0 + t >= p.T) break;
            vec4 xv[8];
            load_x(t0 + t, k0, valid, aligned, xv, ss[t]);
            vec4 a = vec4(0.0);
            for (uint j = 0; j < 8; ++j) a += bv[j] * xv[j];
            acc[t] += a.x + a.y + a.z + a.w;
        }
    }
    for (uint t = 0; t < NTOK; ++t) {
        const float s = subgroupAdd(acc[t]) * norm_scale(min(t0 + t, p.T - 1), ss[t]);
        if (lane == 0 && row < p.b_rows && t0 + t < p.T) y[p.r_word + (t0 + t) * p.r_stride + row] = s;
    }
}
#endif

#ifndef INT_DOT
// sum over the block of q * x, with the 32 codes of q against x columns xv[0..7]. Codes
// become floats by bit pattern (0x4B000000 | q is the float 2^23 + q) rather than by
// int-to-float conversions, which GPUs issue at a fraction of the FMA rate; on an H100
// this measured the same as conversions (the kernel is not arithmetic-bound there).
float block_qx(uvec4 q, const vec4 xv[8]) {
    const uvec4 shifts_lo = uvec4(0u, 4u, 8u, 12u), shifts_hi = uvec4(16u, 20u, 24u, 28u);
    vec4 a = vec4(0.0);
    for (uint w = 0; w < 4; ++w) {
        const uvec4 word = uvec4(q[w]);
        a += (uintBitsToFloat(((word >> shifts_lo) & 15u) | 0x4B000000u) - 8388608.0) * xv[2 * w];
        a += (uintBitsToFloat(((word >> shifts_hi) & 15u) | 0x4B000000u) - 8388608.0) * xv[2 * w + 1];
    }
    return a.x + a.y + a.z + a.w;
}
#endif

#ifdef INT_DOT
// The products as integer dot products (devices with accelerated 4x8-bit packed dot
// products, VK_KHR_shader_integer_dot_product): each lane rounds its block of x to int8
// with one scale per block (|x| max / 127, as llama.cpp's q8_1 activations), once for all
// NR rows, and a row's block is then 8 dot products of 4 byte pairs instead of 32 float
// conversions and FMAs. Byte i of (word & 0x0F0F0F0F) is the code of column 2i of the
// word's 8 and of (word >> 4) & 0x0F0F0F0F column 2i + 1, so x is packed in that order.
// Codes are 0..15: as signed bytes they are themselves (OpSDot, both operands signed).
// (Debian's glslang has no GLSL dot-product extension; GL_EXT_spirv_intrinsics names the
// SPIR-V instruction: OpSDot = 4450, capabilities DotProduct = 6019 and
// DotProductInput4x8BitPacked = 6018, PackedVectorFormat4x8Bit = 0.)
#extension GL_EXT_spirv_intrinsics : require
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot4x8(uint a, uint b, spirv_literal int packed_vector_format);

// x's block as int8: xq[2w] holds columns 8w, 8w+2, 8w+4, 8w+6 and xq[2w+1] the odd ones;
// returns the scale (x = xq * scale).
float quantize_x(const vec4 xv[8], out uint xq[8]) {
    vec4 m = max(max(max(abs(xv[0]), abs(xv[1])), max(abs(xv[2]), abs(xv[3]))),
                 max(max(abs(xv[4]), abs(xv[5])), max(abs(xv[6]), abs(xv[7]))));
    const float amax = max(max(m.x, m.y), max(m.z, m.w));
    const float inv = amax > 0.0 ? 1.0 / amax : 0.0;
    for (uint w = 0; w < 4; ++w) {
        const vec4 a = xv[2 * w] * inv, b = xv[2 * w + 1] * inv;
        xq[2 * w] = packSnorm4x8(vec4(a.x, a.z, b.x, b.z));
        xq[2 * w + 1] = packSnorm4x8(vec4(a.y, a.w, b.y, b.w));
    }
    return amax / 127.0;
}

// sum over the block of q * xq (exact in int32: |sum| <= 32 * 15 * 127).
int block_qx_dot(uvec4 q, const uint xq[8]) {
    int d = 0;
    for (uint w = 0; w < 4; ++w) {
        d += sdot4x8(q[w] & 0x0F0F0F0Fu, xq[2 * w], 0);
        d += sdot4x8((q[w] >> 4) & 0x0F0F0F0Fu, xq[2 * w + 1], 0);
    }
    return d;
}
#endif

void main() {
#ifdef B_ROWS
    const uint b_groups = (p.b_rows + NSG - 1) / NSG;  // B's workgroups, then W's
    if (gl_WorkGroupID.x < b_groups) {
        b_rows_main(gl_WorkGroupID.x);
        return;
    }
    const uint wg = gl_WorkGroupID.x - b_groups;
#else
    const uint wg = gl_WorkGroupID.x;
#endif
    const uint SG = gl_SubgroupSize;
    const uint team = gl_SubgroupID / KSPLIT, member = gl_SubgroupID % KSPLIT;
    const uint lane = member * SG + gl_SubgroupInvocationID;  // within the team
    const uint TL = SG * KSPLIT;                               // lanes per team
    const uint row0 = (wg * (NSG / KSPLIT) + team) * NR;
    const uint t0 = gl_WorkGroupID.y * NTOK;
    const uint nblocks = GQ_ROW_BLOCKS(p.K);
    const bool so = p.scale_only != 0u;
    const uint so_row = GQ_SO_ROW_WORDS(p.K, p.G, so);
    const bool aligned = p.x_stride % 4 == 0;

    float acc[NSUM * NTOK];  // [r * NTOK + t], then the sums of x^2 at [NR * NTOK + t]
    for (uint i = 0; i < NSUM * NTOK; ++i) acc[i] = 0.0;

#ifdef LOWRANK
    // A's and R's first pair per lane loaded before W's stream and used after it, so their
    // latency overlaps it instead of following it (lanes take pairs of the rank; R is small
    // and read through the cache).
    vec2 a_first[NR], r_first[NTOK];
    for (uint r = 0; r < NR; ++r)
        a_first[r] = lane < p.rank / 2 ? gq_unpack_half2(w_words[p.a_word + min(row0 + r, p.N - 1) * (p.rank / 2) + lane])
                                       : vec2(0.0);
    for (uint t = 0; t < NTOK; ++t) {
        const uint ri = min(t0 + t, p.T - 1) * p.r_stride + p.r_offset + 2 * lane;
        r_first[t] = lane < p.rank / 2 && t0 + t < p.T ? vec2(lr_r[ri], lr_r[ri + 1]) : vec2(0.0);
    }
#endif

    // One block per lane per step: two (all loads issued first) spilled registers at NR 8.
    for (uint b = lane; b < nblocks; b += TL) {
        uvec4 q[NR];
        vec2 sm[NR];
        for (uint r = 0; r < NR; ++r) {  // rows past N read row N - 1 and store nothing
            const uint row = min(row0 + r, p.N - 1);
            q[r] = codes[row * nblocks + b];
            const uint j = b * GQ_BLOCK_COLS / p.G;
            sm[r] = gq_scale_offset(w_words[p.so_word + row * so_row + GQ_SO_COL(j, so)], j, so);
        }
        const uint k0 = b * GQ_BLOCK_COLS;
        const uint valid = min(GQ_BLOCK_COLS, p.K - k0);
        for (uint t = 0; t < NTOK; ++t) {
            if (t0 + t >= p.T) break;
            vec4 xv[8];
#ifdef NORM_INPUT
            load_x(t0 + t, k0, valid, aligned, xv, acc[NR * NTOK + t]);
#else
            float no_ss = 0.0;
            load_x(t0 + t, k0, valid, aligned, xv, no_ss);
#endif
            const vec4 x4sum = ((xv[0] + xv[1]) + (xv[2] + xv[3])) + ((xv[4] + xv[5]) + (xv[6] + xv[7]));
            const float sx = x4sum.x + x4sum.y + x4sum.z + x4sum.w;
#ifdef INT_DOT
            uint xq[8];
            const float dx = quantize_x(xv, xq);
            for (uint r = 0; r < NR; ++r) acc[r * NTOK + t] += sm[r].x * dx * float(block_qx_dot(q[r], xq)) + sm[r].y * sx;
#else
            for (uint r = 0; r < NR; ++r) acc[r * NTOK + t] += sm[r].x * block_qx(q[r], xv) + sm[r].y * sx;
#endif
        }
    }

#ifdef LOWRANK
    for (uint r = 0; r < NR; ++r)
        for (uint t = 0; t < NTOK; ++t) acc[r * NTOK + t] += dot(a_first[r], r_first[t]);
    for (uint r = 0; r < NR; ++r) {
        const uint row = min(row0 + r, p.N - 1);
        for (uint j2 = lane + TL; j2 < p.rank / 2; j2 += TL) {
            const vec2 a = gq_unpack_half2(w_words[p.a_word + row * (p.rank / 2) + j2]);
            for (uint t = 0; t < NTOK; ++t) {
                if (t0 + t >= p.T) break;
                const uint ri = (t0 + t) * p.r_stride + p.r_offset + 2 * j2;
                acc[r * NTOK + t] += a.x * lr_r[ri] + a.y * lr_r[ri + 1];
            }
        }
    }
#endif

    for (uint i = 0; i < NSUM * NTOK; ++i) {
        const float s = subgroupAdd(acc[i]);
        if (KSPLIT == 1) {
            acc[i] = s;
        } else if (gl_SubgroupInvocationID == 0) {
            team_sums[gl_SubgroupID * NSUM * NTOK + i] = s;
        }
    }
    if (KSPLIT > 1) {
        barrier();
        for (uint i = 0; i < NSUM * NTOK; ++i) {
            float s = 0.0;
            for (uint m = 0; m < KSPLIT; ++m) s += team_sums[(team * KSPLIT + m) * NSUM * NTOK + i];
            acc[i] = s;
        }
    }
#if defined(NORM_INPUT) || defined(NORM_PRE)
    for (uint t = 0; t < NTOK; ++t) {
#ifdef NORM_PRE
        const float inv = norm_scale(min(t0 + t, p.T - 1), 0.0);
#else
        const float inv = inversesqrt(acc[NR * NTOK + t] / float(p.K) + p.eps);  // summed above
#endif
        for (uint r = 0; r < NR; ++r) acc[r * NTOK + t] *= inv;
    }
#endif
    float sq[NTOK];  // RESID_OUT: the squares of what this invocation stored
    for (uint t = 0; t < NTOK; ++t) sq[t] = 0.0;
    if (lane == 0)
        for (uint r = 0; r < NR; ++r)
            for (uint t = 0; t < NTOK; ++t)
                if (row0 + r < p.N && t0 + t < p.T) {
                    const uint i = (t0 + t) * p.y_stride + p.y_row0 + row0 + r;
                    const float v = p.accumulate != 0 ? y[i] + acc[r * NTOK + t] : acc[r * NTOK + t];
                    y[i] = v;
#ifdef RESID_OUT
                    y[p.xg_word + i] = v * uintBitsToFloat(w_words[p.out_norm_word + p.y_row0 + row0 + r]);
                    sq[t] += v * v;
#endif
                }
#ifdef RESID_OUT
    resid_partials(sq, t0);
#endif
}

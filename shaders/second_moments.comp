#version 450
// The quantizer's calibration statistics on a device (GLOWQ.md section 4): for one group
// input x (n_tokens rows of dim floats from word 0), S += x^T x over the tiles on and below
// the diagonal of S's rows [row0, row0 + rows), and a += |x| per feature (by the diagonal
// tiles, which together cover every column once). S comes in row slices, one binding each:
// an 11008-wide S is 485 MB, past the 128 MiB a binding is guaranteed to reach. The sums
// are fp32 here; the host takes them in fp64 once per layer.
//
// Workgroup: 8 x 8 lanes (within the 128 invocations every device allows), each summing an
// 8 x 8 block of the 64 x 64 tile (rows ly + 8a, columns lx + 8b), 16 tokens staged in
// shared memory at a time: 64 products per 16 shared loads.
#extension GL_GOOGLE_include_directive : require
#include "push_constants.h"

layout(local_size_x = 8, local_size_y = 8) in;
layout(std430, binding = 0) readonly buffer Step { uint step[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer S { float s[]; };
layout(std430, binding = 3) buffer A { float a[]; };
layout(push_constant) uniform Push { GQ_PUSH_MOMENTS } p;

const uint TILE = GQ_MOMENTS_TILE, CHUNK = 16, LANES = 64, PER = TILE / 8;
shared float xi[CHUNK][TILE];
shared float xj[CHUNK][TILE];

void main() {
    const uint i0 = p.row0 + gl_WorkGroupID.y * TILE, j0 = gl_WorkGroupID.x * TILE;
    if (j0 > i0) return;  // above the diagonal (S is symmetric): the whole workgroup leaves
    const bool diag = i0 == j0;
    const uint lx = gl_LocalInvocationID.x, ly = gl_LocalInvocationID.y, lane = ly * 8 + lx;
    float acc[PER][PER];
    float abs_sum[PER];
    for (uint u = 0; u < PER; ++u) {
        abs_sum[u] = 0.0;
        for (uint v = 0; v < PER; ++v) acc[u][v] = 0.0;
    }
    for (uint t0 = 0; t0 < p.n_tokens; t0 += CHUNK) {
        // Loads outside control flow, clamped and zeroed past the edges: lavapipe turns a
        // load inside a branch into a loop over its SIMD lanes.
        for (uint k = lane; k < CHUNK * TILE; k += LANES) {
            const uint tt = k / TILE, c = k % TILE, t = min(t0 + tt, p.n_tokens - 1);
            const float vi = x[t * p.dim + min(i0 + c, p.dim - 1)];
            const float vj = x[t * p.dim + min(j0 + c, p.dim - 1)];
            const bool in_t = t0 + tt < p.n_tokens;
            xi[tt][c] = in_t && i0 + c < p.dim ? vi : 0.0;
            xj[tt][c] = in_t && j0 + c < p.dim ? vj : 0.0;
        }
        barrier();
        for (uint tt = 0; tt < CHUNK; ++tt) {
            float rj[PER];
            for (uint v = 0; v < PER; ++v) rj[v] = xj[tt][lx + 8 * v];
            for (uint u = 0; u < PER; ++u) {
                const float ri = xi[tt][ly + 8 * u];
                for (uint v = 0; v < PER; ++v) acc[u][v] += ri * rj[v];
            }
            if (diag && ly == 0)
                for (uint v = 0; v < PER; ++v) abs_sum[v] += abs(rj[v]);
        }
        barrier();
    }
    const bool add = step[GQ_STEP_MOMENTS_ADD] != 0;
    const uint row_end = min(p.row0 + p.rows, p.dim);
    for (uint u = 0; u < PER; ++u) {
        const uint i = i0 + ly + 8 * u;
        if (i >= row_end) continue;
        for (uint v = 0; v < PER; ++v) {
            const uint j = j0 + lx + 8 * v;
            if (j >= p.dim) continue;
            const uint at = (i - p.row0) * p.dim + j;
            s[at] = add ? s[at] + acc[u][v] : acc[u][v];
        }
    }
    if (diag && ly == 0)
        for (uint v = 0; v < PER; ++v) {
            const uint j = j0 + lx + 8 * v;
            if (j < p.dim) a[j] = add ? a[j] + abs_sum[v] : abs_sum[v];
        }
}

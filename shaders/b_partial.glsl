// The next product's R in parts (B_PARTIAL variants of silu_mul.comp and attention.comp):
// a workgroup that holds n whole columns of that product's input multiplies them by the
// same columns of its fp16 B, and the product sums the workgroups' parts as its R
// (GQ_PUSH_MATMUL's r_parts), so B needs no dispatch of its own.
// The includer enables GL_KHR_shader_subgroup_shuffle and declares, before including:
// bn[] and bn4[] (B's binding, as uint and uvec4), outv[] (where the part goes), the push
// constants p with p.b_rank, and BP_COLUMNS (the most columns a workgroup holds, a
// multiple of 4).
shared vec4 bp_in[BP_COLUMNS / 4];

// Every lane of a 64-lane workgroup calls it (a barrier, shuffles over subgroups of at
// least 8 lanes that fill it), after storing its column values in bp_in (column k at
// bp_in[k / 4][k % 4]). Writes rows j of B (b_rank of them, rw words each from word b0)
// times columns [col0, col0 + n) to outv[out_word + j]. Lane j sums row j as the dense
// kernel's X_BROADCAST does: per 32 columns, lane l of every 8 reads columns 4l..4l+3 and
// the lanes pass them around (lavapipe reads shared memory lane by lane).
void b_partial(uint lane, uint out_word, uint b0, uint rw, uint col0, uint n) {
    barrier();
    const uint sl = gl_SubgroupInvocationID % 8;
    // Whole uvec4 of B (8 columns) where rows and columns start on 16 bytes.
    const bool whole = b0 % 4 == 0 && rw % 4 == 0 && col0 % 8 == 0 && n % 32 == 0;
    // Rows clamped, not skipped: lavapipe turns every load inside a branch into a loop
    // over the SIMD lanes.
    for (uint j0 = 0; j0 < p.b_rank; j0 += gl_WorkGroupSize.x) {
        const uint j = min(j0 + lane, p.b_rank - 1);
        float s = 0.0;
        if (whole) {
            for (uint k0 = 0; k0 < n; k0 += 32) {
                const uint first = (b0 + j * rw + (col0 + k0) / 2) / 4;
                const vec4 ol = bp_in[k0 / 4 + sl];
                // Columns 4m..4m+3 are words 2m, 2m+1 of the 32 columns, from lane m.
#define GQ_STEP(m) s += dot(vec4(gq_unpack_half2(b[(m) / 2][(m) % 2 * 2]), gq_unpack_half2(b[(m) / 2][(m) % 2 * 2 + 1])), \
                            subgroupShuffle(ol, m));
                const uvec4 b[4] = uvec4[4](bn4[first], bn4[first + 1], bn4[first + 2], bn4[first + 3]);
                GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7)
#undef GQ_STEP
            }
        } else {  // a last workgroup's few columns, or rows not on 16 bytes: column by column
            for (uint k = 0; k < n; ++k) {
                const vec2 w = gq_unpack_half2(bn[b0 + j * rw + (col0 + k) / 2]);
                s += ((col0 + k) % 2 == 0 ? w.x : w.y) * bp_in[k / 4][k % 4];
            }
        }
        if (j0 + lane < p.b_rank) outv[out_word + j0 + lane] = s;
    }
}

// GlowQ's correction added by the kernel that consumes a corrected product (LOWRANK
// variants of rope_kv.comp and silu_mul.comp): input row `row` of token t gains
// sum_j A[row][j] R[t][j]. R comes from the product's own output binding (the GEMV wrote it
// after Y, from word p.r_word, see matmul_q4_gemv.comp's B_ROWS); A from the matrix's
// binding (word p.a_word, pairs of halves). Include after the push constants (fields
// GQ_LOWRANK_INPUT) and after defining LR_A_BINDING and LR_INPUT(i), the input word i.
#ifdef LOWRANK
layout(std430, binding = LR_A_BINDING) readonly buffer LrA { uint lr_a[]; };
layout(std430, binding = LR_A_BINDING) readonly buffer LrA4 { uvec4 lr_a4[]; };
shared vec4 lr_r[GQ_MAX_RANK / 4];

// Stages token t's R in shared memory, zero-padded to a multiple of 8; every invocation
// calls it (it has a barrier).
void lowrank_stage(uint t) {
    for (uint j = gl_LocalInvocationID.x; j < GQ_MAX_RANK / 4; j += gl_WorkGroupSize.x) {
        vec4 r = vec4(0.0);
        for (uint i = 0; i < 4; ++i)
            if (4 * j + i < p.rank) r[i] = LR_INPUT(p.r_word + t * p.r_stride + 4 * j + i);
        lr_r[j] = r;
    }
    barrier();
}

// Eight columns of A per load where rows start on 16 bytes (rank a multiple of 8): a
// quarter of the loads, which lavapipe issues lane by lane.
float lowrank_row(uint row) {
    float s = 0.0;
    const uint row_words = p.rank / 2, first = p.a_word + row * row_words;
    uint j2 = 0;
    if (p.rank % 8 == 0) {
        for (; j2 < row_words; j2 += 4) {
            const uvec4 a = lr_a4[(first + j2) / 4];
            s += dot(vec4(gq_unpack_half2(a.x), gq_unpack_half2(a.y)), lr_r[j2 / 2]) +
                 dot(vec4(gq_unpack_half2(a.z), gq_unpack_half2(a.w)), lr_r[j2 / 2 + 1]);
        }
    }
    for (; j2 < row_words; ++j2) {
        const vec2 a = gq_unpack_half2(lr_a[first + j2]);
        const vec4 r = lr_r[j2 / 2];
        s += j2 % 2 == 0 ? dot(a, r.xy) : dot(a, r.zw);
    }
    return s;
}

#ifdef LR_COOP
// GPUs: the workgroup's lanes compute its input rows' corrections together, before any is
// used. Each row's A is read by LR_PARTS adjacent lanes, 16 bytes each (a rank-64 row is
// one 128-byte line), their sums meet in shared memory. With a lane per row (lowrank_row)
// a Llama-3-8B decode step's RoPE with A R took 17.7 us against 4.3 without on an H200
// (docs/bench/nvidia-h200.md): few lanes, each walking whole rows. Needs rank % 8 == 0
// (the host picks this variant only then). The includer defines LR_SLOTS (rows per
// workgroup at most) and uint lr_slot_row(uint slot).
const uint LR_PARTS = 8;
shared float lr_part[LR_SLOTS * LR_PARTS];

// Every invocation calls it, after lowrank_stage (it has a barrier); slots below n_slots.
void lowrank_coop(uint n_slots) {
    const uint chunks = p.rank / 8;
    for (uint task = gl_LocalInvocationID.x; task < n_slots * LR_PARTS; task += gl_WorkGroupSize.x) {
        const uint first = (p.a_word + lr_slot_row(task / LR_PARTS) * (p.rank / 2)) / 4;
        float s = 0.0;
        for (uint c = task % LR_PARTS; c < chunks; c += LR_PARTS) {
            const uvec4 a = lr_a4[first + c];
            s += dot(vec4(gq_unpack_half2(a.x), gq_unpack_half2(a.y)), lr_r[2 * c]) +
                 dot(vec4(gq_unpack_half2(a.z), gq_unpack_half2(a.w)), lr_r[2 * c + 1]);
        }
        lr_part[task] = s;
    }
    barrier();
}

float lowrank_slot(uint slot) {
    float s = 0.0;
    for (uint i = 0; i < LR_PARTS; ++i) s += lr_part[slot * LR_PARTS + i];
    return s;
}
#endif
#else
void lowrank_stage(uint t) {}
float lowrank_row(uint row) { return 0.0; }
#endif

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

#ifdef LR_BCAST
// CPU drivers (lavapipe): a lane per row, and R shared across the subgroup's lanes as the
// int4 GEMV's X_BROADCAST shares x: for each 16 ranks, lane l of every 8 reads R's pair l
// and the lanes pass the pairs around with subgroupShuffle, instead of each lane reading
// all of R from shared memory (lavapipe gathers those reads lane by lane: a GlowQ r64
// SmolLM2's SiLU with A R took 10x the time of SiLU alone). Every lane must call it (rows
// clamped by the caller); the includer enables GL_KHR_shader_subgroup_shuffle, and the
// host picks it for subgroups of at least 8 lanes filling the workgroup.
float lowrank_row(uint row) {
    const uint sl = gl_SubgroupInvocationID % 8, first = p.a_word + row * (p.rank / 2);
    const uint rfull = p.rank / 16 * 16;
    float s = 0.0;
    vec2 a[8];
#define GQ_STEP(i) s += dot(a[i], subgroupShuffle(rl, i));
#define GQ_LR_BCAST_LOOP(LOAD_A)                                                       \
    for (uint j0 = 0; j0 < rfull; j0 += 16) {                                          \
        const vec4 r4 = lr_r[j0 / 4 + sl / 2];                                         \
        const vec2 rl = sl % 2 == 0 ? r4.xy : r4.zw;                                   \
        LOAD_A                                                                         \
        GQ_STEP(0) GQ_STEP(1) GQ_STEP(2) GQ_STEP(3) GQ_STEP(4) GQ_STEP(5) GQ_STEP(6) GQ_STEP(7) \
    }
    if (p.rank % 8 == 0) {  // rows start on 16 bytes: two uvec4 loads per 16 ranks
        GQ_LR_BCAST_LOOP(const uvec4 a0 = lr_a4[(first + j0 / 2) / 4]; const uvec4 a1 = lr_a4[(first + j0 / 2) / 4 + 1];
                         for (uint i = 0; i < 4; ++i) { a[i] = gq_unpack_half2(a0[i]); a[4 + i] = gq_unpack_half2(a1[i]); })
    } else {
        GQ_LR_BCAST_LOOP(for (uint i = 0; i < 8; ++i) a[i] = gq_unpack_half2(lr_a[first + j0 / 2 + i]);)
    }
#undef GQ_LR_BCAST_LOOP
#undef GQ_STEP
    for (uint j2 = rfull / 2; j2 < p.rank / 2; ++j2) {  // rank not a multiple of 16
        const vec2 at = gq_unpack_half2(lr_a[first + j2]);
        const vec4 r = lr_r[j2 / 2];
        s += j2 % 2 == 0 ? dot(at, r.xy) : dot(at, r.zw);
    }
    return s;
}
#else
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
#endif

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

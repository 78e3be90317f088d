// The RMSNorm handed from one product to the next (see matmul_q4_gemv.comp). RESID_OUT (the
// products that finish the residual stream, o and down): each workgroup's sum over its
// rows of Y^2, per token, to word ss_word + t * (workgroups) + workgroup of Y. NORM_PRE (the
// product that reads Y next): the sum of those partials, instead of loading x twice or the
// norm's weights. Include after WG, NTOK, x or y, and p;
// define NORM_PARTIALS_SUBGROUP where subgroup arithmetic is enabled.
#ifdef RESID_OUT
shared float resid_sq[WG * NTOK];

// Call from uniform control flow with the squares this invocation stored (zeros elsewhere).
void resid_partials(float sq[NTOK], uint t0) {
    const uint tid = gl_LocalInvocationID.x;
#ifdef NORM_PARTIALS_SUBGROUP
    const uint n = gl_NumSubgroups;  // a subgroup's sum first: fewer serial adds below
    for (uint t = 0; t < NTOK; ++t) {
        const float s = subgroupAdd(sq[t]);
        if (gl_SubgroupInvocationID == 0) resid_sq[t * WG + gl_SubgroupID] = s;
    }
#else
    const uint n = WG;
    for (uint t = 0; t < NTOK; ++t) resid_sq[t * WG + tid] = sq[t];
#endif
    barrier();
    if (tid < NTOK && t0 + tid < p.T) {
        float s = 0.0;
        for (uint i = 0; i < n; ++i) s += resid_sq[tid * WG + i];
        y[p.ss_word + (t0 + tid) * gl_NumWorkGroups.x + gl_WorkGroupID.x] = s;
    }
}
#endif

#ifdef NORM_PRE
#ifdef NORM_PARTIALS_SUBGROUP
// The subgroup's lanes share the partials: one lane summing the ~1000 of a 4096-row product
// alone was a serial chain of loads at every workgroup's end, which took the Llama-3-8B
// qkv GEMV on an H200 to 5% of copy bandwidth (docs/bench/nvidia-h200.md). Call from
// uniform control flow.
float pre_sum_sq(uint t) {  // t < T
    float s = 0.0;
    for (uint i = gl_SubgroupInvocationID; i < p.n_partials; i += gl_SubgroupSize)
        s += x[p.ss_word + t * p.n_partials + i];
    return subgroupAdd(s);
}
#else
float pre_sum_sq(uint t) {  // t < T
    float s = 0.0;
    for (uint i = 0; i < p.n_partials; ++i) s += x[p.ss_word + t * p.n_partials + i];
    return s;
}
#endif
#endif

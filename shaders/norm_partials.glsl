// The RMSNorm handed from one product to the next (see matmul_q4_gemv.comp). RESID_OUT (the
// products that finish the residual stream, o and down): each workgroup's sum over its
// rows of Y^2, per token, to word ss_word + t * (workgroups) + workgroup of Y. NORM_PRE (the
// product that reads Y next): the sum of those partials, instead of loading x twice or the
// norm's weights. Include after WG, NTOK, x or y, and p.
#ifdef RESID_OUT
shared float resid_sq[WG * NTOK];

// Call from uniform control flow with the squares this invocation stored (zeros elsewhere).
void resid_partials(float sq[NTOK], uint t0) {
    const uint tid = gl_LocalInvocationID.x;
    for (uint t = 0; t < NTOK; ++t) resid_sq[t * WG + tid] = sq[t];
    barrier();
    if (tid < NTOK && t0 + tid < p.T) {
        float s = 0.0;
        for (uint i = 0; i < WG; ++i) s += resid_sq[tid * WG + i];
        y[p.ss_word + (t0 + tid) * gl_NumWorkGroups.x + gl_WorkGroupID.x] = s;
    }
}
#endif

#ifdef NORM_PRE
float pre_sum_sq(uint t) {  // t < T
    float s = 0.0;
    for (uint i = 0; i < p.n_partials; ++i) s += x[p.ss_word + t * p.n_partials + i];
    return s;
}
#endif

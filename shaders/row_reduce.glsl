// Sums one float per token over the TPR consecutive invocations that share a matrix row.
// Include after defining: WG (workgroup size), TPR (threads per row, a power of two that
// divides WG) and NTOK (tokens per invocation); ROW_RED_SLOTS (default NTOK) values per
// invocation may be summed at once. Usage, in uniform control flow:
//   for t < slots: row_reduce_put(t, partial[t]);   row_reduce();
//   then on lane 0 of a row: row_reduce_get(t) is the row's sum of slot t.
// With USE_SUBGROUP the subgroup adds first and only one value per subgroup goes through
// shared memory (TPR must then be a multiple of the subgroup size).
#extension GL_KHR_shader_subgroup_basic : enable
#ifdef USE_SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#ifndef ROW_RED_SLOTS
#define ROW_RED_SLOTS NTOK
#endif
shared float row_red[WG * ROW_RED_SLOTS];

void row_reduce_put(uint t, float v) {
#ifdef USE_SUBGROUP
    v = subgroupAdd(v);
    if (subgroupElect()) row_red[t * WG + gl_SubgroupID] = v;
#else
    row_red[t * WG + gl_LocalInvocationID.x] = v;
#endif
}

void row_reduce() {
#ifdef USE_SUBGROUP
    barrier();
#else
    const uint tid = gl_LocalInvocationID.x;
    const uint lane = tid % TPR;
    for (uint s = TPR / 2; s > 0; s >>= 1) {
        barrier();
        if (lane < s)
            for (uint t = 0; t < ROW_RED_SLOTS; ++t) row_red[t * WG + tid] += row_red[t * WG + tid + s];
    }
    barrier();
#endif
}

float row_reduce_get(uint t) {
    const uint row_local = gl_LocalInvocationID.x / TPR;
#ifdef USE_SUBGROUP
    const uint per_row = TPR / gl_SubgroupSize;
    float sum = 0.0;
    for (uint i = 0; i < per_row; ++i) sum += row_red[t * WG + row_local * per_row + i];
    return sum;
#else
    return row_red[t * WG + row_local * TPR];
#endif
}

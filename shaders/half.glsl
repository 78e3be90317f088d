// fp16 <-> fp32 for packed pairs: the built-ins, or the same IEEE conversions in integer and
// fp32 operations where the driver's own are broken (vk::kFeatureHalfConversion off: arm64
// llvmpipe with LLVM 15 aborts compiling unpackHalf2x16, docs/android.md). Specialization
// constant 31 is set by the Kernel for every shader; the branch not taken is removed when
// the pipeline is specialized.
layout(constant_id = 31) const bool GQ_SOFT_HALF = false;

vec2 gq_unpack_half2(uint u) {
    if (!GQ_SOFT_HALF) return unpackHalf2x16(u);
    const uvec2 h = uvec2(u & 0xffffu, u >> 16);
    const uvec2 e = (h >> 10) & 31u, m = h & 1023u;
    const vec2 normal = uintBitsToFloat(((e + 112u) << 23) | (m << 13));  // rebias 15 -> 127
    const vec2 subnormal = (uintBitsToFloat(m | 0x4B000000u) - 8388608.0) * 5.9604644775390625e-8;  // m * 2^-24
    const vec2 special = uintBitsToFloat(0x7F800000u | (m << 13));        // inf, nan
    vec2 v = mix(normal, subnormal, equal(e, uvec2(0u)));
    v = mix(v, special, equal(e, uvec2(31u)));
    return uintBitsToFloat(floatBitsToUint(v) | ((h & 0x8000u) << 16));
}

// Round to nearest even, as packHalf2x16 on conforming drivers.
uint gq_float_to_half(float f) {
    const uint x = floatBitsToUint(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return sign | (ax > 0x7F800000u ? 0x7E00u : 0x7C00u);
    if (ax < 0x38800000u) return sign | uint(roundEven(uintBitsToFloat(ax) * 16777216.0));  // below 2^-14
    const uint r = ax - 0x38000000u;  // exponent 127 -> 15
    return sign | min((r + 0x0FFFu + ((r >> 13) & 1u)) >> 13, 0x7C00u);
}

uint gq_pack_half2(vec2 v) {
    if (!GQ_SOFT_HALF) return packHalf2x16(v);
    return gq_float_to_half(v.x) | (gq_float_to_half(v.y) << 16);
}

#include "int4_layout.h"

// Group j's (scale, offset) from its scale/offset word, in either form (int4_layout.h: the
// scale-only form holds two scales per word, and the offset is -8 s).
vec2 gq_scale_offset(uint word, uint j, bool scale_only) {
    const vec2 h = gq_unpack_half2(word);
    const float s = scale_only && (j & 1u) != 0u ? h.y : h.x;
    return vec2(s, scale_only ? -float(GQ_SYMMETRIC_ZERO) * s : h.y);
}

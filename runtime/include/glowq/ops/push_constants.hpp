// The kernels' push-constant structs, from the layouts the shaders include
// (shaders/include/push_constants.h): one definition for C++ and GLSL.
#pragma once
#include <cstdint>

#include "push_constants.h"

namespace glowq::ops::push {

using uint = uint32_t;  // the GLSL type name the shared layouts use

struct Matmul { GQ_PUSH_MATMUL };
struct Embed { GQ_PUSH_EMBED };
struct RmsNorm { GQ_PUSH_RMSNORM };
struct RopeKv { GQ_PUSH_ROPE_KV };
struct Attention { GQ_PUSH_ATTENTION };
struct SiluMul { GQ_PUSH_SILU_MUL };
struct Copy { GQ_PUSH_COPY };
struct Moments { GQ_PUSH_MOMENTS };

// Every device takes 128 bytes of push constants (the Vulkan minimum maxPushConstantsSize).
static_assert(sizeof(Matmul) <= 128 && sizeof(RopeKv) <= 128 && sizeof(Attention) <= 128,
              "push constants past the Vulkan minimum of 128 bytes");

}  // namespace glowq::ops::push

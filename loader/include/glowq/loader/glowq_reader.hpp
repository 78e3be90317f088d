// The one reader of GlowQ model files (glowq_format.hpp): the runtime's upload and the CPU
// reference read the same tensors by the same checks (format version, group size, every
// tensor's type and shape), so a file one accepts the other accepts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glowq/int4_matrix.hpp"
#include "glowq/loader/gguf.hpp"

namespace glowq::format {

bool is_glowq_file(const GgufFile& file);

// Checks glowq.format_version and glowq.group_size; returns the group size. Throws
// LoadError naming the file and key.
uint32_t glowq_group_size(const GgufFile& file);

// Module `module` of layer `layer` (rows x cols as the model config says: the int4 rows do
// not record the width) as an int4 matrix.
Int4Matrix read_int4(const GgufFile& file, uint32_t layer, const std::string& module, uint32_t rows, uint32_t cols);

// A module's low-rank correction W ~ Wq + A B, fp16 row-major: A is rows x rank, B is
// rank x cols. B is the module's own (per-module methods) or its group's (GlowQ); rank 0
// when the module has none.
struct LowRank {
    uint32_t rank = 0;
    std::vector<uint16_t> a, b;
    bool shared_b = false;  // B is the input-sharing group's (blk.N.G.lr_b)
};
LowRank read_lowrank(const GgufFile& file, uint32_t layer, const std::string& module, uint32_t rows, uint32_t cols);

}  // namespace glowq::format

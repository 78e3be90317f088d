// Round to nearest with each group's grid searched instead of taken from its range: a
// group's extreme weights set a grid whose steps are wide for all the others, and a
// slightly narrower range (clipping those extremes) often lowers the group's error. For each
// of a few ranges narrowed around the group's own, the codes are rounded, the scale and
// offset refitted to them by weighted least squares (then rounded to fp16 as stored), the
// codes rounded again; the grid with the least weighted error wins, the min-max grid
// included, so a group is never worse than plain RTN under its weights.
#pragma once
#include <cstdint>

#include "glowq/int4_matrix.hpp"

namespace glowq::quant {

// Ranges tried besides the group's own: its min and max scaled by 1 - k * kGridShrinkStep.
constexpr uint32_t kGridShrinkSteps = 16;
constexpr float kGridShrinkStep = 0.02f;

// w: rows x cols, row-major. col_weight: cols non-negative weights of each column's squared
// error (the mean square of the module's input: the output error's diagonal), or null for
// the plain weight error.
Int4Matrix quantize_rtn_searched(const float* w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                 const double* col_weight);

}  // namespace glowq::quant

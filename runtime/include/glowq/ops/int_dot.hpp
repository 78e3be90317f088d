// Whether the decode GEMV multiplies with x rounded to int8 per 32 columns, as integer dot
// products (matmul_q4_gemv_rows.comp, INT_DOT), or in fp32.
#pragma once

namespace glowq::ops {

// Auto: the device's choice (ops::gemv_int_dot); On: wherever the device has integer dot
// products; Off: fp32 products.
enum class IntDot { Auto, Off, On };

}  // namespace glowq::ops

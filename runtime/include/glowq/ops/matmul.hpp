// Matrix products as graph nodes: y = W x for T tokens, W int4 (runtime layout) or dense
// fp32/fp16. Activations are row-major: X is T x K floats, Y is T x N floats.
// The kernel and workgroup shape are chosen here from the device's capabilities.
#pragma once
#include <cstdint>
#include <vector>

#include "glowq/int4_matrix.hpp"
#include "glowq/q8_matrix.hpp"
#include "glowq/ops/int_dot.hpp"
#include "glowq/ops/push_constants.hpp"
#include "glowq/vk/device_caps.hpp"
#include "glowq/vk/graph.hpp"
#include "glowq/vk/memory.hpp"

namespace glowq::ops {

// A weight matrix split by rows into parts whose bindings each fit maxStorageBufferRange.
// An int4 part is one buffer (int4_layout.h): codes, then its scale/offset words from
// so_word, then the rows of a low-rank correction's A from a_word.
struct DeviceMatrixPart {
    uint32_t row0 = 0, rows = 0;
    vk::Buffer weights;       // int4 codes (+ scale/offset, A), Q8 codes (+ scales), or dense values
    uint32_t so_word = 0;     // int4: first scale/offset word; Q8: first scale word
    uint32_t a_word = 0;      // with a correction: first word of A (rows x lr_rank fp16, pairs)
    uint64_t lr_bytes = 0;    // bytes of A
    // The correction reads R columns [lr_r_offset, +lr_rank).
    uint32_t lr_r_offset = 0;
    uint32_t norm_word = 0;   // int4 with attach_input_norm: first word of the norm weights (fp32)
    uint32_t out_norm_word = 0;  // int4 with attach_output_norm: the next norm's weights (fp32)
};

enum class WeightType { Int4, Q8, F16, F32 };

struct DeviceMatrix {
    WeightType type = WeightType::Int4;
    uint32_t rows = 0, cols = 0, group_size = 0;
    bool scale_only = false;  // int4: scale/offset words in the scale-only form (int4_layout.h)
    std::vector<DeviceMatrixPart> parts;
    uint32_t lr_rank = 0;           // 0: no low-rank correction
    uint64_t weight_bytes() const;  // bytes a full product streams from memory (A included)
    uint64_t lowrank_bytes() const;  // bytes of A alone

    // max_part_bytes: split rows so no binding exceeds this (0: the device's
    // maxStorageBufferRange); tests set it small to exercise the split path.
    static DeviceMatrix upload_int4(vk::Allocator& alloc, const Int4Matrix& m, uint64_t max_part_bytes = 0);
    // Bytes one row of an int4 part may take (room for a correction of the largest rank
    // included, so attaching one never pushes a part past the binding limit).
    static uint64_t int4_row_bytes(const Int4Matrix& m);
    // Several int4 matrices with one column count stacked by rows, each its own part
    // (per-module low-rank corrections give each member its own slice of R).
    static DeviceMatrix upload_int4_members(vk::Allocator& alloc, const std::vector<Int4Matrix>& members);
    // Attaches A (rows x rank, IEEE half bits, row-major over all rows of the matrix); part
    // p reads R columns starting at r_offsets[p] (one entry, or one per part).
    void attach_lowrank(vk::Allocator& alloc, const std::vector<uint16_t>& a, uint32_t rank,
                        const std::vector<uint32_t>& r_offsets);
    // Attaches the weights (cols floats) of the RMSNorm that produces this matrix's input,
    // for MatmulOptions::norm_input. False (nothing attached) where a part would outgrow
    // one binding.
    bool attach_input_norm(vk::Allocator& alloc, const std::vector<float>& weights);
    bool has_input_norm() const { return !parts.empty() && parts[0].norm_word != 0; }
    // Attaches the weights (rows floats) of the RMSNorm applied to this matrix's output (the
    // residual stream it finishes), for MatmulOptions::resid_out. False as above.
    bool attach_output_norm(vk::Allocator& alloc, const std::vector<float>& weights);
    bool has_output_norm() const { return !parts.empty() && parts[0].out_norm_word != 0; }
    // Appends fp32 values for the product's consumer (rope_kv's biases and q/k norms) to
    // the matrix's one binding, of any weight type; returns their first word (never 0).
    // Throws Error(Unsupported) for a matrix of several parts or one that would outgrow
    // a binding.
    uint32_t attach_consumer_section(vk::Allocator& alloc, const std::vector<float>& values);
    // Dense weights, row-major rows x cols fp32; stored as fp16 when f16 is set.
    static DeviceMatrix upload_dense(vk::Allocator& alloc, const float* w, uint32_t rows, uint32_t cols, bool f16,
                                     uint64_t max_part_bytes = 0);
    // Q8 weights (llama.cpp's Q8_0 blocks), as they are: 8.5 bits per weight.
    static DeviceMatrix upload_q8(vk::Allocator& alloc, const Q8Matrix& m, uint64_t max_part_bytes = 0);
    // fp16 weights given as IEEE half bit patterns, row-major rows x cols.
    static DeviceMatrix upload_f16(vk::Allocator& alloc, const uint16_t* w, uint32_t rows, uint32_t cols,
                                   uint64_t max_part_bytes = 0);

private:
    bool attach_norm(vk::Allocator& alloc, const std::vector<float>& weights, uint32_t expect, const char* what,
                     uint32_t DeviceMatrixPart::*word);
    bool fits_section(vk::Allocator& alloc, uint64_t bytes) const;
    static uint32_t append_section(vk::Allocator& alloc, DeviceMatrixPart& p, const void* data, uint64_t bytes);
};

enum class MatmulPath { Auto, Gemv, Gemm };

// The int4 GEMV kernel: Lanes (matmul_q4_gemv.comp: TPR lanes per row, reduced through
// shared memory; one row per lane on CPU drivers) or Rows (matmul_q4_gemv_rows.comp: a
// subgroup per NR rows, reduced with subgroupAdd; GPUs with a fixed subgroup size).
enum class GemvKernel { Auto, Lanes, Rows };

struct MatmulOptions {
    MatmulPath path = MatmulPath::Auto;  // Auto: GEMV for up to 8 tokens (64 with the Rows GEMV), else GEMM
    bool subgroup_ops = true;            // use subgroup arithmetic where the device has it
    uint32_t threads_per_row = 0;        // GEMV lanes per row, a power of two; 0: chosen for the device
    bool accumulate = false;             // Y += W X instead of Y = W X (residual connections)
    // For a matrix with a low-rank correction: R = X B^T (T x r_stride floats), computed
    // once per group by its own dispatch (a dense fp16 matmul with B).
    const vk::Buffer* lowrank_r = nullptr;
    uint32_t r_stride = 0;
    // R written in parts by the dispatch before (silu_mul's PartialR): the sum of `count`
    // parts, part q of token t from word base + q * stride + t * r_stride of lowrank_r.
    // More than one part needs the int4 Lanes GEMV (r_parts_supported).
    struct RParts {
        uint32_t count = 0, stride = 0, base = 0;
    } r_parts;
    GemvKernel gemv_kernel = GemvKernel::Auto;  // Auto: Rows where the device allows it
    uint32_t rows_per_subgroup = 0;             // Rows kernel: NR, 1..8 (0: 2)
    uint32_t gemv_workgroup = 0;                // invocations, a power of two for Lanes (0: the device's choice)
    uint32_t k_split = 0;                       // Rows kernel: subgroups per row set, 1/2/4 (0: choice)
    uint32_t gemm_tile_tokens = 0;              // GEMM: tokens per tile, 16/32/64 (0: gemm_tile_tokens())
    // Rows GEMV: x rounded to int8 per 32 columns and the products as integer dot products
    // (int_dot.hpp). On: also the Rows kernel where the automatic choice would be another.
    IntDot int_dot = IntDot::Auto;
    // The RMSNorm of the input folded into the product (int4 with attach_input_norm, where
    // fused_gemv_supported): Y = W norm(X), X being the un-normalized rows.
    bool norm_input = false;
    float norm_eps = 0.0f;
    // GlowQ's shared projection in the same dispatch (with norm_input; W and B one part
    // each): R[t] = B norm(X[t]) (fp16 B, b_rows->rows rows) into Y's buffer from word r_word,
    // rows b_rows->rows long. Its consumer adds A R (transformer_ops.hpp, LowrankInput).
    const DeviceMatrix* b_rows = nullptr;
    uint32_t r_word = 0;
    // With norm_input, X as a RESID_OUT product left it: X from word x_word of x is already
    // times the norm's weights, and the sums of its squares are n_partials floats per token
    // from word ss_word of x. No load of the norm's weights in the product.
    bool norm_pre = false;
    uint32_t x_word = 0, n_partials = 0, ss_word = 0;
    // The product that finishes the residual stream (one int4 part with attach_output_norm,
    // a GEMV): Y times the next norm's weights also goes to Y from word xg_word, and each
    // workgroup's sum of Y^2 per token from word ss_word (the dispatch's groups[0] of them
    // per token: NORM_PRE's n_partials).
    bool resid_out = false;
    uint32_t xg_word = 0;
};

using MatmulPush = push::Matmul;

// The GEMM's tile is 128 rows by 16, 32 or 64 tokens: the widest that leaves at least
// kGemmMinWorkgroups workgroups (a large GPU's multiprocessors) and wastes at most a quarter
// of the last tile; options.gemm_tile_tokens overrides.
constexpr uint32_t kGemmTileRows = 128;
constexpr uint32_t kGemmMinWorkgroups = 128;
uint32_t gemm_tile_tokens(uint32_t rows, uint32_t tokens, const MatmulOptions& options = {});

// One dispatch per part of W; add them all to a graph in order.
std::vector<vk::Dispatch> matmul(vk::Context& ctx, const DeviceMatrix& w, const vk::Buffer& x, const vk::Buffer& y,
                                 uint32_t tokens, const MatmulOptions& options = {});

// The GEMV workgroup shape for N rows, K columns and T tokens on this device (exposed for
// tests and the benchmark's report).
struct GemvShape {
    uint32_t workgroup = 64, rows = 4, tokens = 1;
    bool subgroup = false;
    // One row per lane, x loaded once per subgroup and shared with subgroupShuffle (the
    // "_bcast" kernels; for CPU drivers, see matmul_q4_gemv.comp).
    bool broadcast = false;
    // matmul_q4_gemv_rows: `rows` = nr rows per team x teams per workgroup, a team being
    // ksplit subgroups that share rows and split their columns.
    bool rows_kernel = false;
    uint32_t nr = 0, ksplit = 1;
};
GemvShape gemv_shape(const vk::DeviceCaps& caps, uint32_t N, uint32_t K, uint32_t T,
                     const MatmulOptions& options = {});
// Whether the Rows GEMV can run here: subgroup arithmetic and a fixed subgroup size.
bool gemv_rows_supported(const vk::DeviceCaps& caps);
// Whether the Rows GEMV takes its int8 dot-product form (IntDot::On without the device
// feature: Error(Unsupported)). Auto: no device yet; the form's speed on a GPU has not been
// measured, and its rounding moves logits (tests/runtime/test_vulkan_forward.cpp).
bool gemv_int_dot(const vk::DeviceCaps& caps, IntDot choice);
// Whether W's product for T tokens has the fused variants (norm_input, b_rows): int4 W
// with its input norm attached, and a GEMV (the GEMM, for long prompts on GPUs, has not).
bool fused_gemv_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens,
                          const MatmulOptions& options = {});
// Whether W's product for T tokens can be a resid_out product: one int4 part with its
// output norm attached, and a GEMV.
bool resid_out_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens,
                         const MatmulOptions& options = {});
// Whether a corrected W's product for T tokens can take R in parts (MatmulOptions::r_parts):
// int4 W and the Lanes GEMV, the one kernel that sums them.
bool r_parts_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens,
                       const MatmulOptions& options = {});

}  // namespace glowq::ops

/* Push-constant layouts of every kernel: the one definition, included by the GLSL shaders
 * (layout(push_constant) uniform Push { GQ_PUSH_X } p;) and by C++ (struct X { GQ_PUSH_X };,
 * with `uint` an alias of uint32_t), so the two sides cannot drift apart. Only 4-byte
 * scalars, so std430 and C++ place every field at the same offset.
 */
#ifndef GLOWQ_PUSH_CONSTANTS_H
#define GLOWQ_PUSH_CONSTANTS_H

/* All matmul kernels (int4 GEMV/GEMM, dense): N rows, K columns, group size G (int4 only),
 * T tokens; Y[t][y_row0 + n] (tensors split by rows write at their first row); accumulate:
 * Y += W X (residual connections); rank/r_stride/r_offset: the LOWRANK epilogue's A has
 * `rank` columns and reads R[t][r_offset .. r_offset + rank), R rows r_stride long.
 * so_word/a_word: where an int4 matrix's scale/offset words and A start in its one weight
 * binding (int4_layout.h, GQ_PACKED_MATRIX).
 * NORM_INPUT variants: X is normalized on load (RMSNorm with weights from word norm_word of
 * the matrix binding, epsilon eps). NORM_PRE variants: the same, but X (from word x_word of
 * its binding) is already times the norm's weights and its sums of x^2 are n_partials
 * floats per token from word ss_word of X (written by a RESID_OUT product). B_ROWS variants:
 * b_rows more rows of fp16 weights (B, binding 3) are multiplied too, and R[t][j] goes to Y
 * from word r_word, rows r_stride long. RESID_OUT variants (the products that finish the
 * residual stream): Y times the next norm's weights (from word out_norm_word of the matrix
 * binding) also goes to Y from word xg_word, and each workgroup's sum of Y^2 over its rows
 * to word ss_word + t * (workgroups) + workgroup of Y. scale_only: int4 scale/offset words in the
 * scale-only form (int4_layout.h). r_parts (the int4 Lanes GEMV's LOWRANK epilogue; 0 or 1:
 * one): R is the sum of that many parts, r_part_stride words apart (silu_mul's B_PARTIAL). */
#define GQ_PUSH_MATMUL \
    uint N, K, G, T;   \
    uint x_stride, y_stride; \
    uint y_row0;       \
    uint accumulate;   \
    uint rank, r_stride, r_offset; \
    uint so_word, a_word; \
    uint norm_word; float eps; \
    uint b_rows, r_word; \
    uint x_word, out_norm_word, xg_word, ss_word, n_partials; \
    uint scale_only; \
    uint r_parts, r_part_stride;

/* embed: dim columns, n_rows rows of this part of the table (rows row0.. of total_rows:
 * tables larger than a binding come in parts, one dispatch each), group size G and
 * scale/offset start (int4 table; scale_only: their form, int4_layout.h); every value times
 * scale (gemma's sqrt(dim)). */
#define GQ_PUSH_EMBED uint dim, n_rows, G, so_word; float scale; uint row0, total_rows, scale_only;

/* rmsnorm: out[t] = norm(x[row0 + t]); the ADD variant adds it to out[t]. */
#define GQ_PUSH_RMSNORM uint dim, row0; float eps;

/* rope_kv: theta = pos * freq_scale * freq_base^(-2i / rope_dim). v_word: where V starts in
 * the layer's KV binding (K first, then V: one binding, see GQ_MAX_BINDINGS). neox: rotate
 * (i, i + rope_dim/2) instead of (2i, 2i+1); bias_word/norm_word: the q/k/v biases and the
 * q/k norm weights (epsilon eps) in the matrix binding, 0 when absent (rope_kv.comp HEADS).
 * The LOWRANK variants (rope_kv, silu_mul) first add a group's correction A R to their
 * input rows: A (rank columns, fp16 pairs) from word a_word of the matrix binding, R of
 * token t from word r_word + t * r_stride of the input binding. */
#define GQ_LOWRANK_INPUT uint rank, a_word, r_word, r_stride;
#define GQ_PUSH_ROPE_KV uint n_heads, n_kv, head_dim, rope_dim; float freq_base, freq_scale; uint v_word; \
    GQ_LOWRANK_INPUT uint neox, bias_word, norm_word; float eps;

/* attention: q·k times scale; v_word as for rope_kv; window: a query sees the last
 * `window` positions (itself included), 0 = all. scratch_word: where the splits' partial
 * results and counters start in the output binding (GQ_ATTENTION_SCRATCH_WORDS of them;
 * unused with one split). B_PARTIAL (one split): the next product's B (b_rank rows of
 * n_heads * head_dim fp16 columns, from word b_word of the cache's binding) times head h's
 * output, for token t at word bp_word + (h * T + t) * b_rank of the output binding; that
 * product sums the heads' parts as its R (GQ_PUSH_MATMUL's r_parts). */
#define GQ_PUSH_ATTENTION uint n_heads, n_kv, head_dim, splits; float scale; uint v_word, window, scratch_word, \
    b_rank, b_word, bp_word;
#define GQ_ATTENTION_WORKGROUP 64u
#define GQ_ATTENTION_MAX_HEAD_DIM 256u
#define GQ_ATTENTION_SCRATCH_WORDS(T, n_heads, head_dim, splits) \
    ((T) * (n_heads) * ((splits) * ((head_dim) + 2u) + 1u))

/* silu_mul: n_ff columns of gate, then of up, per token; gelu: GELU (tanh form) instead
 * of SiLU. B_PARTIAL: the next product's B (b_rank rows of n_ff fp16 columns) times this
 * workgroup's columns of the output, for token t of workgroup g at word
 * bp_word + (g * T + t) * b_rank of the output binding; that product sums the groups'
 * parts as its R (GQ_PUSH_MATMUL's r_parts). */
#define GQ_PUSH_SILU_MUL uint n_ff; GQ_LOWRANK_INPUT uint gelu, b_rank, bp_word;
#define GQ_SILU_MUL_WORKGROUP 64u

/* The cooperative low-rank input (LR_COOP variants of rope_kv and silu_mul): a workgroup
 * holds 1/GQ_LR_COOP_SHARE of its size in pairs or columns, and its lanes compute their
 * rows' corrections together first (lowrank_input.glsl). */
#define GQ_LR_COOP_SHARE 4u

/* second_moments (the quantizer's calibration on a device): an input of dim features over
 * n_tokens tokens; this dispatch's slice of the sums holds rows [row0, row0 + rows) of
 * S = sum x x^T (dim floats each). Step word GQ_STEP_MOMENTS_ADD: 0 starts the sums afresh
 * (a layer's first window), else they add (the graph is recorded once for every window).
 * GQ_MOMENTS_TILE: S's tiles are that many rows and columns; a slice's rows start on one. */
#define GQ_PUSH_MOMENTS uint dim, n_tokens, row0, rows;
#define GQ_STEP_MOMENTS_ADD 1u
#define GQ_MOMENTS_TILE 64u

/* copy_bandwidth: uvec4 elements. */
#define GQ_PUSH_COPY uint count;

#endif

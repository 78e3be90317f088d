/* The runtime's int4 weight layout: the one definition, included by C++ and by GLSL.
 *
 * A weight matrix W has N rows (outputs) and K columns (inputs); y = W x.
 *   codes:        N rows of GQ_ROW_WORDS(K) uint32 words. Word j of row n holds the 4-bit
 *                 codes of columns 8j .. 8j+7, column 8j+i in bits [4i, 4i+4).
 *                 Rows are padded to a multiple of 32 columns (4 words) with zero codes
 *                 so a kernel can load 32 codes as one aligned uvec4; padded columns
 *                 are never read as weights (kernels stop at K).
 *   scale_offset: N rows of GQ_GROUPS(K, g) uint32 words; word j packs the fp16 scale s
 *                 (low half) and fp16 offset m (high half) of columns [g*j, g*j+g) as
 *                 packHalf2x16(vec2(s, m)). The last group may be shorter than g.
 *   weight:       w[n][k] = q[n][k] * s + m.
 * g is 32, 64 or 128, so every 32-column block lies inside a single group.
 * This represents asymmetric RTN (m = -z*s), llama.cpp Q4_0 (g = 32, m = -8s) and
 * Q4_1 (g = 32, any m) exactly.
 *
 * On the device a matrix (or each row-range part of one) is one buffer, bound once: codes
 * from word 0, scale_offset from word so_word, and a low-rank correction's A (rows x rank
 * fp16, pairs of halves per word) from word a_word, the weights of the RMSNorm that feeds
 * it (K fp32, for GEMVs that fold the norm in) from word norm_word, and those of the norm
 * applied to its output (N fp32, for products that prepare the next one) from word
 * out_norm_word, in the order they were attached; each section starts on a 16-byte
 * boundary (GQ_SECTION_ALIGN_WORDS) so the codes and A can be read as uvec4. One binding
 * instead of three keeps every kernel within the 4 storage buffers per shader stage that
 * Vulkan (and Android's baseline profile) guarantees (GQ_MAX_BINDINGS).
 */
#ifndef GLOWQ_INT4_LAYOUT_H
#define GLOWQ_INT4_LAYOUT_H

#define GQ_CODE_BITS 4
#define GQ_CODES_PER_WORD 8
#define GQ_BLOCK_COLS 32 /* columns per aligned uvec4 load */
#define GQ_BLOCK_WORDS 4
#define GQ_ROW_WORDS(K) ((((K) + 31u) / 32u) * 4u)
#define GQ_ROW_BLOCKS(K) (((K) + 31u) / 32u)
#define GQ_GROUPS(K, G) (((K) + (G) - 1u) / (G))

#define GQ_SECTION_ALIGN_WORDS 4u
/* The largest rank of a low-rank correction (kernels stage R in shared memory). */
#define GQ_MAX_RANK 128u
#define GQ_ALIGN_WORDS(n) ((((n) + 3u) / 4u) * 4u)

/* The scale-only form of the scale/offset section, for a matrix whose every offset is -8
 * times its scale (llama.cpp's Q4_0): GQ_SCALE_WORDS(K, g) words per row, group j's fp16
 * scale in half j % 2 of word j / 2, and m = -8 s (exact: the host keeps -8 s in fp16, where
 * a power-of-two multiple is exact). A Q4_0 file's matrices are read at its 4.5 bits per
 * weight instead of 5. The kernels take the form from the push constant scale_only:
 * GQ_SO_ROW_WORDS words per row, group j's in word GQ_SO_COL(j) of the row. */
#define GQ_SYMMETRIC_ZERO 8u /* the code of zero in a symmetric group: m = -8 s */
#define GQ_SCALE_WORDS(K, G) ((GQ_GROUPS(K, G) + 1u) / 2u)
#define GQ_SO_ROW_WORDS(K, G, scale_only) ((scale_only) ? GQ_SCALE_WORDS(K, G) : GQ_GROUPS(K, G))
#define GQ_SO_COL(j, scale_only) ((scale_only) ? (j) / 2u : (j))

/* Storage buffers per shader stage that every kernel stays within (Vulkan 1.x minimum
 * maxPerStageDescriptorStorageBuffers, also the Android Baseline Profile 2022's). */
#define GQ_MAX_BINDINGS 4u

/* Q8 weights (llama.cpp's Q8_0, bit for bit): blocks of 32 columns, each 32 signed bytes
 * and one fp16 scale d, w = q * d. Codes: GQ_Q8_ROW_WORDS(K) words per row, column 4j+i in
 * bits [8i, 8i+8) of word j, the last block zero-padded. Scales: from word so_word of the
 * same binding, GQ_Q8_SCALE_WORDS(K) words per row, block b's in half b % 2 of word b / 2. */
#define GQ_Q8_ROW_WORDS(K) (GQ_ROW_BLOCKS(K) * 8u)
#define GQ_Q8_SCALE_WORDS(K) ((GQ_ROW_BLOCKS(K) + 1u) / 2u)

/* fp16 dense weights: rows of (K+1)/2 uint32 words, two halves each (low half first). */
#define GQ_F16_ROW_WORDS(K) (((K) + 1u) / 2u)

#endif

// Weight upload (with row splitting) and matmul kernel selection.
#include "glowq/ops/matmul.hpp"

#include <algorithm>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::ops {

using glowq_shaders::GemvForm;
using glowq_shaders::GemvVariant;
using vk::Arg;
using vk::Dispatch;
using vk::ShaderId;

static uint32_t rows_per_part(const vk::DeviceCaps& caps, uint64_t bytes_per_row, uint64_t max_part_bytes) {
    uint64_t limit = std::min<uint64_t>(caps.max_storage_buffer_range, uint64_t(1) << 31);
    if (max_part_bytes) limit = std::min(limit, max_part_bytes);
    const uint64_t rows = std::max<uint64_t>(1, limit / std::max<uint64_t>(1, bytes_per_row));
    return uint32_t(std::min<uint64_t>(rows, UINT32_MAX));
}

uint64_t DeviceMatrix::weight_bytes() const {
    uint64_t b = 0;
    for (const auto& p : parts) b += p.weights.size();  // an int4 part's A is in its buffer
    return b;
}

uint64_t DeviceMatrix::lowrank_bytes() const {
    uint64_t b = 0;
    for (const auto& p : parts) b += p.lr_bytes;
    return b;
}

static uint32_t align_words(uint64_t words) { return uint32_t(GQ_ALIGN_WORDS(words)); }

// One int4 part's buffer: codes, then scale/offset words (each section 16-byte aligned), in
// the scale-only form where asked (the scales' fp16 halves two to a word).
static DeviceMatrixPart upload_int4_part(vk::Allocator& alloc, const Int4Matrix& m, uint32_t r0, uint32_t rows,
                                         bool scale_only) {
    DeviceMatrixPart part;
    part.row0 = r0;
    part.rows = rows;
    const uint32_t row_so = GQ_SO_ROW_WORDS(m.cols, m.group_size, scale_only);
    const uint64_t code_words = uint64_t(rows) * m.row_words(), so_words = uint64_t(rows) * row_so;
    part.so_word = align_words(code_words);
    part.weights = alloc.allocate((uint64_t(part.so_word) + so_words) * 4);
    alloc.write(part.weights, m.codes.data() + size_t(r0) * m.row_words(), code_words * 4);
    if (!scale_only) {
        alloc.write(part.weights, m.scale_offset.data() + size_t(r0) * m.groups(), so_words * 4,
                    uint64_t(part.so_word) * 4);
        return part;
    }
    std::vector<uint32_t> scales(so_words, 0u);
    for (uint32_t n = 0; n < rows; ++n)
        for (uint32_t j = 0; j < m.groups(); ++j)
            scales[size_t(n) * row_so + GQ_SO_COL(j, true)] |= (m.scale_offset[size_t(r0 + n) * m.groups() + j] & 0xffffu)
                                                                << (16 * (j % 2));
    alloc.write(part.weights, scales.data(), so_words * 4, uint64_t(part.so_word) * 4);
    return part;
}

uint64_t DeviceMatrix::int4_row_bytes(const Int4Matrix& m) {
    return (uint64_t(m.row_words()) + m.groups()) * 4 + uint64_t(GQ_MAX_RANK) * 2;
}

DeviceMatrix DeviceMatrix::upload_int4_members(vk::Allocator& alloc, const std::vector<Int4Matrix>& members) {
    if (members.empty()) throw Error(ErrorKind::InvalidArgument, "upload_int4_members: no members");
    DeviceMatrix d;
    d.type = WeightType::Int4;
    d.cols = members[0].cols;
    d.group_size = members[0].group_size;
    d.scale_only = true;
    for (const Int4Matrix& m : members) d.scale_only = d.scale_only && m.offsets_are_minus_8_scales();
    for (const Int4Matrix& m : members) {
        if (m.cols != d.cols || m.group_size != d.group_size)
            throw Error(ErrorKind::InvalidArgument, "stacked int4 matrices differ in columns or group size");
        if (uint64_t(m.rows) * DeviceMatrix::int4_row_bytes(m) > alloc.context().caps().max_storage_buffer_range)
            throw Error(ErrorKind::Unsupported, "a member matrix exceeds one storage-buffer binding");
        DeviceMatrixPart part = upload_int4_part(alloc, m, 0, m.rows, d.scale_only);
        part.row0 = d.rows;
        d.parts.push_back(std::move(part));
        d.rows += m.rows;
    }
    return d;
}

void DeviceMatrix::attach_lowrank(vk::Allocator& alloc, const std::vector<uint16_t>& a, uint32_t rank,
                                  const std::vector<uint32_t>& r_offsets) {
    if (type != WeightType::Int4) throw Error(ErrorKind::Unsupported, "low-rank corrections need int4 weights");
    if (rank == 0 || rank % 2 || rank > GQ_MAX_RANK)
        throw Error(ErrorKind::Unsupported, "low-rank rank must be even and at most " + std::to_string(GQ_MAX_RANK) +
                                                ", got " + std::to_string(rank));
    if (a.size() != size_t(rows) * rank)
        throw Error(ErrorKind::InvalidArgument, "A has " + std::to_string(a.size()) + " values, expected " +
                                                    std::to_string(size_t(rows) * rank));
    if (r_offsets.size() != 1 && r_offsets.size() != parts.size())
        throw Error(ErrorKind::InvalidArgument, "attach_lowrank: one R offset, or one per part");
    if (lr_rank) throw Error(ErrorKind::InvalidArgument, "attach_lowrank: the matrix already has a correction");
    lr_rank = rank;
    for (size_t i = 0; i < parts.size(); ++i) {
        DeviceMatrixPart& p = parts[i];
        p.lr_bytes = uint64_t(p.rows) * rank * 2;
        p.a_word = append_section(alloc, p, a.data() + size_t(p.row0) * rank, p.lr_bytes);
        p.lr_r_offset = r_offsets.size() == 1 ? r_offsets[0] : r_offsets[i];
    }
}

bool DeviceMatrix::attach_input_norm(vk::Allocator& alloc, const std::vector<float>& weights) {
    return attach_norm(alloc, weights, cols, "attach_input_norm", &DeviceMatrixPart::norm_word);
}

// Every part holds all of an output norm's weights: a part's row n of Y is its row row0 + n.
bool DeviceMatrix::attach_output_norm(vk::Allocator& alloc, const std::vector<float>& weights) {
    return attach_norm(alloc, weights, rows, "attach_output_norm", &DeviceMatrixPart::out_norm_word);
}

bool DeviceMatrix::attach_norm(vk::Allocator& alloc, const std::vector<float>& weights, uint32_t expect,
                               const char* what, uint32_t DeviceMatrixPart::*word) {
    if (type != WeightType::Int4) throw Error(ErrorKind::Unsupported, std::string(what) + ": int4 weights only");
    if (weights.size() != expect)
        throw Error(ErrorKind::InvalidArgument, std::string(what) + ": " + std::to_string(weights.size()) +
                                                    " weights, expected " + std::to_string(expect));
    if (!fits_section(alloc, uint64_t(expect) * 4)) return false;
    for (DeviceMatrixPart& p : parts) p.*word = append_section(alloc, p, weights.data(), uint64_t(expect) * 4);
    return true;
}

uint32_t DeviceMatrix::attach_consumer_section(vk::Allocator& alloc, const std::vector<float>& values) {
    if (parts.size() != 1 || !fits_section(alloc, uint64_t(values.size()) * 4))
        throw Error(ErrorKind::Unsupported, "a " + std::to_string(rows) + " x " + std::to_string(cols) +
                                                " matrix spread over several bindings cannot carry its consumer's values");
    return append_section(alloc, parts[0], values.data(), uint64_t(values.size()) * 4);
}

bool DeviceMatrix::fits_section(vk::Allocator& alloc, uint64_t bytes) const {
    for (const DeviceMatrixPart& p : parts)
        if (GQ_ALIGN_WORDS(p.weights.size() / 4) * 4 + bytes > alloc.context().caps().max_storage_buffer_range) return false;
    return true;
}

// A new section after the part's others, in a buffer that replaces the part's (what it
// held is copied over on the device); returns the section's first word.
uint32_t DeviceMatrix::append_section(vk::Allocator& alloc, DeviceMatrixPart& p, const void* data, uint64_t bytes) {
    const uint64_t old_bytes = p.weights.size();
    const uint32_t word = align_words(old_bytes / 4);
    vk::Buffer grown = alloc.allocate(uint64_t(word) * 4 + bytes);
    alloc.copy(p.weights, grown, old_bytes);
    p.weights = std::move(grown);
    alloc.write(p.weights, data, bytes, uint64_t(word) * 4);
    return word;
}

DeviceMatrix DeviceMatrix::upload_int4(vk::Allocator& alloc, const Int4Matrix& m, uint64_t max_part_bytes) {
    DeviceMatrix d;
    d.type = WeightType::Int4;
    d.rows = m.rows;
    d.cols = m.cols;
    d.group_size = m.group_size;
    d.scale_only = m.offsets_are_minus_8_scales();
    const uint32_t step = rows_per_part(alloc.context().caps(), DeviceMatrix::int4_row_bytes(m), max_part_bytes);
    for (uint32_t r0 = 0; r0 < m.rows; r0 += step)
        d.parts.push_back(upload_int4_part(alloc, m, r0, std::min(step, m.rows - r0), d.scale_only));
    return d;
}

DeviceMatrix DeviceMatrix::upload_q8(vk::Allocator& alloc, const Q8Matrix& m, uint64_t max_part_bytes) {
    DeviceMatrix d;
    d.type = WeightType::Q8;
    d.rows = m.rows;
    d.cols = m.cols;
    const uint64_t row_bytes = (uint64_t(m.row_words()) + m.scale_words()) * 4;
    const uint32_t step = rows_per_part(alloc.context().caps(), row_bytes, max_part_bytes);
    for (uint32_t r0 = 0; r0 < m.rows; r0 += step) {
        DeviceMatrixPart part;
        part.row0 = r0;
        part.rows = std::min(step, m.rows - r0);
        const uint64_t code_words = uint64_t(part.rows) * m.row_words(), scale_words = uint64_t(part.rows) * m.scale_words();
        part.so_word = align_words(code_words);
        part.weights = alloc.allocate((uint64_t(part.so_word) + scale_words) * 4);
        alloc.write(part.weights, m.codes.data() + size_t(r0) * m.row_words(), code_words * 4);
        alloc.write(part.weights, m.scales.data() + size_t(r0) * m.scale_words(), scale_words * 4,
                    uint64_t(part.so_word) * 4);
        d.parts.push_back(std::move(part));
    }
    return d;
}

DeviceMatrix DeviceMatrix::upload_f16(vk::Allocator& alloc, const uint16_t* w, uint32_t rows, uint32_t cols,
                                     uint64_t max_part_bytes) {
    DeviceMatrix d;
    d.type = WeightType::F16;
    d.rows = rows;
    d.cols = cols;
    const uint32_t rw = GQ_F16_ROW_WORDS(cols);
    const uint32_t step = rows_per_part(alloc.context().caps(), uint64_t(rw) * 4, max_part_bytes);
    for (uint32_t r0 = 0; r0 < rows; r0 += step) {
        DeviceMatrixPart part;
        part.row0 = r0;
        part.rows = std::min(step, rows - r0);
        std::vector<uint32_t> packed(size_t(part.rows) * rw, 0u);
        for (uint32_t r = 0; r < part.rows; ++r)
            for (uint32_t k = 0; k < cols; ++k)
                packed[size_t(r) * rw + k / 2] |= uint32_t(w[size_t(r0 + r) * cols + k]) << (16 * (k % 2));
        part.weights = alloc.upload(packed.data(), packed.size() * 4);
        d.parts.push_back(std::move(part));
    }
    return d;
}

DeviceMatrix DeviceMatrix::upload_dense(vk::Allocator& alloc, const float* w, uint32_t rows, uint32_t cols, bool f16,
                                       uint64_t max_part_bytes) {
    if (f16) {
        std::vector<uint16_t> h(size_t(rows) * cols);
        for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(w[i]);
        return upload_f16(alloc, h.data(), rows, cols, max_part_bytes);
    }
    DeviceMatrix d;
    d.type = WeightType::F32;
    d.rows = rows;
    d.cols = cols;
    const uint32_t step = rows_per_part(alloc.context().caps(), uint64_t(cols) * 4, max_part_bytes);
    for (uint32_t r0 = 0; r0 < rows; r0 += step) {
        DeviceMatrixPart part;
        part.row0 = r0;
        part.rows = std::min(step, rows - r0);
        part.weights = alloc.upload(w + size_t(r0) * cols, uint64_t(part.rows) * cols * 4);
        d.parts.push_back(std::move(part));
    }
    return d;
}

static uint32_t pow2_floor(uint32_t v) {
    uint32_t p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

bool gemv_rows_supported(const vk::DeviceCaps& caps) {
    const uint32_t sg = caps.subgroup_size;
    return caps.subgroup_arithmetic && sg > 0 && caps.subgroup_min_size == sg && caps.subgroup_max_size == sg &&
           sg <= caps.max_workgroup_invocations;
}

bool gemv_int_dot(const vk::DeviceCaps& caps, IntDot choice) {
    if (choice == IntDot::On && !caps.integer_dot_product)
        throw Error(ErrorKind::Unsupported, caps.name + " has no integer dot product (or it is turned off)");
    return choice == IntDot::On;
}

// The Rows kernel's shape: its grid is computed from the subgroup size, which must be
// the one the driver uses (gemv_rows_supported).
static GemvShape gemv_rows_shape(const vk::DeviceCaps& caps, uint32_t N, uint32_t K, uint32_t T,
                                 const MatmulOptions& options) {
    if (!gemv_rows_supported(caps))
        throw Error(ErrorKind::Unsupported, "the Rows GEMV needs subgroup arithmetic and a fixed subgroup size");
    GemvShape s;
    const uint32_t sg = caps.subgroup_size;
    s.rows_kernel = true;
    s.subgroup = true;
    // More rows per subgroup reuse each x load more and keep more loads in flight, but
    // leave fewer subgroups for a matrix that runs alone in a decode step. On an H100: back
    // to back, 8 rows were best for every Llama-3-8B matrix (58-60% of the copy bandwidth),
    // but inside a decode step 4096-row matrices lost a quarter of their speed against 4
    // rows. So: one row per subgroup per 1024 rows, up to 8 (4 with 8 tokens, whose sums
    // take registers), and subgroups split a long row between them (K >= 4096: 2, >= 8192:
    // 4).
    s.nr = options.rows_per_subgroup ? options.rows_per_subgroup
                                     : std::clamp<uint32_t>(pow2_floor(std::max<uint32_t>(1, N / 1024)), 1, T == 1 ? 8 : 4);
    s.ksplit = options.k_split ? options.k_split : std::clamp<uint32_t>(pow2_floor(std::max<uint32_t>(1, K / 2048)), 1, 4);
    if (s.nr > 8) throw Error(ErrorKind::InvalidArgument, "rows_per_subgroup must be 1..8");
    s.workgroup = options.gemv_workgroup ? options.gemv_workgroup : std::min(4 * sg, caps.max_workgroup_invocations);
    if (s.workgroup % sg || s.workgroup > caps.max_workgroup_invocations)
        throw Error(ErrorKind::InvalidArgument, "the Rows GEMV workgroup must be a multiple of the subgroup size (" +
                                                    std::to_string(sg) + ")");
    if (s.ksplit != 1 && s.ksplit != 2 && s.ksplit != 4) throw Error(ErrorKind::InvalidArgument, "k_split must be 1, 2 or 4");
    s.workgroup = std::max(s.workgroup, s.ksplit * sg);
    if (s.workgroup > caps.max_workgroup_invocations || (s.workgroup / sg) % s.ksplit)
        throw Error(ErrorKind::InvalidArgument, "the Rows GEMV workgroup must hold whole teams of k_split subgroups");
    s.rows = s.nr * (s.workgroup / sg / s.ksplit);
    s.tokens = T == 1 ? 1 : 8;
    return s;
}

GemvShape gemv_shape(const vk::DeviceCaps& caps, uint32_t N, uint32_t K, uint32_t T, const MatmulOptions& options) {
    // (IntDot::On asks for the dot-product form, which only the Rows kernel has.)
    if (options.gemv_kernel == GemvKernel::Rows ||
        (options.gemv_kernel == GemvKernel::Auto && !options.threads_per_row && options.subgroup_ops &&
         (caps.type != "cpu" || options.int_dot == IntDot::On) && gemv_rows_supported(caps)))
        return gemv_rows_shape(caps, N, K, T, options);
    GemvShape s;
    s.workgroup = options.gemv_workgroup ? options.gemv_workgroup : std::min<uint32_t>(64, caps.max_workgroup_invocations);
    if (s.workgroup > caps.max_workgroup_invocations || (s.workgroup & (s.workgroup - 1)))
        throw Error(ErrorKind::InvalidArgument, "GEMV workgroup must be a power of two the device allows");
    // Enough lanes per row that each streams a few 32-column blocks, no more: short rows
    // (K = 576: 18 blocks) share a workgroup between several rows.
    const uint32_t blocks = (K + 31) / 32;
    uint32_t tpr = std::clamp<uint32_t>(pow2_floor(std::max<uint32_t>(1, blocks / 2)), 1, s.workgroup);
    const uint32_t sg = caps.subgroup_size;
    const bool subgroup_ok = options.subgroup_ops && caps.subgroup_arithmetic && sg > 0 && (sg & (sg - 1)) == 0 &&
                             sg <= s.workgroup;
    if (subgroup_ok) {
        tpr = std::max(tpr, sg);
        s.subgroup = true;
    }
    // CPU drivers (lavapipe) run a subgroup as SIMD lanes of one core: there, one row per
    // lane keeps the x loads uniform (scalar broadcasts instead of gathers) and needs no
    // reduction. Measured 2-3x faster on lavapipe than 8 or 16 lanes per row.
    if (caps.type == "cpu") {
        tpr = 1;
        s.subgroup = false;
    }
    if (options.threads_per_row) {
        if (options.threads_per_row & (options.threads_per_row - 1) || options.threads_per_row > s.workgroup)
            throw Error(ErrorKind::InvalidArgument, "threads_per_row must be a power of two up to the workgroup size");
        tpr = options.threads_per_row;
        s.subgroup = subgroup_ok && tpr >= sg;
    }
    s.rows = s.workgroup / tpr;
    // One row per lane: share x across the subgroup's lanes (subgroupShuffle from its first
    // 8 lanes) instead of every lane loading all of it; 2-3x faster on lavapipe.
    s.broadcast = tpr == 1 && options.subgroup_ops && caps.subgroup_shuffle && caps.subgroup_min_size >= 8 &&
                  s.workgroup % caps.subgroup_max_size == 0;
    // Two variants only (1 or 8 tokens per workgroup, surplus tokens masked): fewer
    // pipelines to compile, and the model can compile both when it loads.
    s.tokens = T == 1 ? 1 : 8;
    return s;
}

uint32_t gemm_tile_tokens(uint32_t rows, uint32_t tokens, const MatmulOptions& options) {
    if (options.gemm_tile_tokens) {
        if (options.gemm_tile_tokens != 16 && options.gemm_tile_tokens != 32 && options.gemm_tile_tokens != 64)
            throw Error(ErrorKind::InvalidArgument, "matmul: GEMM tiles hold 16, 32 or 64 tokens, not " +
                                                        std::to_string(options.gemm_tile_tokens));
        return options.gemm_tile_tokens;
    }
    // The widest tile that still leaves kGemmMinWorkgroups workgroups and wastes at most a
    // quarter of the last tile. Back to back (many products at once) 64-token tiles won on
    // every shape (docs/bench/nvidia-h200-gemm-tiles.txt), but a prefill step runs one
    // product at a time: Llama-2-7B pp512 in 128-token chunks on an H200 ran at 1192 tok/s
    // with this rule and 988 with 64-token tiles everywhere.
    const uint64_t row_tiles = (uint64_t(rows) + kGemmTileRows - 1) / kGemmTileRows;
    for (uint32_t bt : {64u, 32u}) {
        const uint64_t tiles = (tokens + bt - 1) / bt;
        if (row_tiles * tiles >= kGemmMinWorkgroups && tiles * bt - tokens <= bt / 4) return bt;
    }
    return 16;
}

// The path a product takes: GEMV or GEMM (Auto resolved for the device).
static MatmulPath resolve_path(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens,
                               const MatmulOptions& options) {
    if (w.type != WeightType::Int4) return MatmulPath::Gemv;  // dense weights: one kernel
    if (options.path != MatmulPath::Auto) return options.path;
    // CPU drivers: the GEMV with one row per lane beats the tiled GEMM at any token count
    // (uniform activation loads instead of shared-memory gathers). GPUs with the Rows GEMV:
    // up to 64 tokens (a short prompt), though it re-reads the weights once per 8 tokens.
    // Back to back the GEMM was faster from 16 tokens on (2.3x on Llama-3-8B's q matrix on
    // an H200), but a 4096-row matrix gives it 32 workgroups when it runs alone in a step:
    // a 16-token Llama-3-8B prompt took 61.6 ms through the GEMM and 47.8 through the GEMV.
    const auto& caps = ctx.caps();
    const bool rows_gemv = caps.type != "cpu" && options.subgroup_ops && !options.threads_per_row &&
                           options.gemv_kernel != GemvKernel::Lanes && gemv_rows_supported(caps);
    return tokens <= 8 || caps.type == "cpu" || (rows_gemv && tokens <= 64) ? MatmulPath::Gemv : MatmulPath::Gemm;
}

bool fused_gemv_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens, const MatmulOptions& options) {
    if (w.type != WeightType::Int4 || !w.has_input_norm() || tokens == 0) return false;
    return resolve_path(ctx, w, tokens, options) == MatmulPath::Gemv;
}

bool resid_out_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens, const MatmulOptions& options) {
    if (w.type != WeightType::Int4 || !w.has_output_norm() || w.parts.size() != 1 || tokens == 0) return false;
    return resolve_path(ctx, w, tokens, options) == MatmulPath::Gemv;
}

bool r_parts_supported(const vk::Context& ctx, const DeviceMatrix& w, uint32_t tokens, const MatmulOptions& options) {
    if (w.type != WeightType::Int4 || w.lr_rank == 0 || tokens == 0 ||
        resolve_path(ctx, w, tokens, options) != MatmulPath::Gemv)
        return false;
    for (const DeviceMatrixPart& part : w.parts)
        if (gemv_shape(ctx.caps(), part.rows, w.cols, tokens, options).rows_kernel) return false;
    return true;
}

// The variant of an int4 product's kernel (shader_list.cmake): its epilogue (A R with
// lowrank), B's rows, the folded norm, the residual's outputs. Combinations no kernel has
// are refused here.
static GemvVariant gemv_variant(bool lowrank, bool b_rows, const MatmulOptions& o) {
    const bool resid = o.resid_out;
    if (lowrank && !b_rows && !o.norm_input) return resid ? GemvVariant::lr_res : GemvVariant::lr;
    if (!lowrank && !resid) {
        if (b_rows && o.norm_input) return o.norm_pre ? GemvVariant::pre_b : GemvVariant::norm_b;
        if (!b_rows) return o.norm_input ? (o.norm_pre ? GemvVariant::pre : GemvVariant::norm) : GemvVariant::plain;
    }
    if (!lowrank && !b_rows && !o.norm_input && resid) return GemvVariant::res;
    throw Error(ErrorKind::Unsupported, "matmul: no int4 kernel combines these options (low-rank epilogue, B rows, "
                                        "input norm, residual outputs)");
}

// The dense products' kernels: fp32, fp16 or Q8 weights, in the Lanes kernel's forms; no
// variants.
static ShaderId dense_kernel(WeightType type, GemvForm form, GemvVariant variant) {
    if (variant != GemvVariant::plain)
        throw Error(ErrorKind::Unsupported, "matmul: dense weights have no fused or corrected kernels");
    const size_t f = form == GemvForm::subgroup ? 1 : form == GemvForm::bcast ? 2 : 0;
    static constexpr ShaderId f32[] = {ShaderId::matmul_f32, ShaderId::matmul_f32_subgroup, ShaderId::matmul_f32_bcast};
    static constexpr ShaderId f16[] = {ShaderId::matmul_f16, ShaderId::matmul_f16_subgroup, ShaderId::matmul_f16_bcast};
    static constexpr ShaderId q8[] = {ShaderId::matmul_q8, ShaderId::matmul_q8_subgroup, ShaderId::matmul_q8_bcast};
    return type == WeightType::Q8 ? q8[f] : type == WeightType::F16 ? f16[f] : f32[f];
}

std::vector<Dispatch> matmul(vk::Context& ctx, const DeviceMatrix& w, const vk::Buffer& x, const vk::Buffer& y,
                             uint32_t tokens, const MatmulOptions& options) {
    if (tokens == 0) throw Error(ErrorKind::InvalidArgument, "matmul with zero tokens");
    const MatmulPath path = resolve_path(ctx, w, tokens, options);
    if ((options.norm_input || options.b_rows) && !fused_gemv_supported(ctx, w, tokens, options))
        throw Error(ErrorKind::Unsupported, "matmul: the input norm or B rows need the fused GEMV (fused_gemv_supported)");
    if (options.norm_pre && (!options.norm_input || options.x_word % 4 || options.n_partials == 0 ||
                             x.size() < (uint64_t(options.ss_word) + uint64_t(tokens) * options.n_partials) * 4 ||
                             x.size() < (uint64_t(options.x_word) + uint64_t(tokens) * w.cols) * 4))
        throw Error(ErrorKind::InvalidArgument,
                    "matmul: a pre-scaled input needs the input norm, a 16-byte aligned x_word, partial sums and "
                    "both inside X's buffer");
    if (options.resid_out) {
        if (!resid_out_supported(ctx, w, tokens, options) || options.norm_input)
            throw Error(ErrorKind::Unsupported, "matmul: resid_out needs one int4 part with its output norm, a GEMV "
                                                "and no input norm (resid_out_supported)");
        if (uint64_t(options.xg_word) < uint64_t(tokens) * w.rows ||
            y.size() < (uint64_t(options.xg_word) + uint64_t(tokens) * w.rows) * 4 ||
            uint64_t(options.ss_word) < uint64_t(options.xg_word) + uint64_t(tokens) * w.rows)
            throw Error(ErrorKind::InvalidArgument, "matmul: resid_out's outputs must lie in Y's buffer after Y, in order");
    }
    const DeviceMatrix* b = options.b_rows;
    if (b) {
        if (!options.norm_input || b->type != WeightType::F16 || b->parts.size() != 1 || w.parts.size() != 1 ||
            b->cols != w.cols)
            throw Error(ErrorKind::InvalidArgument,
                        "matmul: B rows need the input norm, one part of W and one fp16 part of B with W's columns");
        if (y.size() < (uint64_t(options.r_word) + uint64_t(tokens) * b->rows) * 4 ||
            uint64_t(options.r_word) < uint64_t(tokens) * w.rows)
            throw Error(ErrorKind::InvalidArgument, "matmul: R must lie in Y's buffer after Y's rows");
    }
    if (x.size() < uint64_t(tokens) * w.cols * 4)
        throw Error(ErrorKind::InvalidArgument, "matmul: X holds fewer than " + std::to_string(tokens) + " x " +
                                                    std::to_string(w.cols) + " floats");
    if (y.size() < uint64_t(tokens) * w.rows * 4)
        throw Error(ErrorKind::InvalidArgument, "matmul: Y holds fewer than " + std::to_string(tokens) + " x " +
                                                    std::to_string(w.rows) + " floats");
    if (options.norm_input && w.lr_rank > 0 && !b)
        throw Error(ErrorKind::Unsupported, "matmul: a corrected product with the input norm computes R itself (b_rows)");
    if (w.lr_rank > 0 && !b) {
        if (!options.lowrank_r || options.r_stride < w.lr_rank)
            throw Error(ErrorKind::InvalidArgument, "matmul: the matrix has a low-rank correction but no R was given");
        const MatmulOptions::RParts& rp = options.r_parts;
        if (options.lowrank_r->size() <
            (uint64_t(rp.base) + uint64_t(std::max(rp.count, 1u) - 1) * rp.stride + uint64_t(tokens) * options.r_stride) * 4)
            throw Error(ErrorKind::InvalidArgument, "matmul: R holds fewer than tokens x r_stride floats");
        if (rp.count > 1 && (rp.stride < uint64_t(tokens) * options.r_stride || !r_parts_supported(ctx, w, tokens, options)))
            throw Error(ErrorKind::Unsupported, "matmul: R in parts needs parts that do not overlap and the int4 Lanes "
                                                "GEMV (r_parts_supported)");
    }
    std::vector<Dispatch> out;
    for (const DeviceMatrixPart& part : w.parts) {
        Dispatch d;
        const bool lowrank = w.lr_rank > 0 && !b;  // with B rows the consumer adds A R
        MatmulPush push{part.rows, w.cols,   w.group_size,          tokens,          w.cols,
                        w.rows,    part.row0, options.accumulate ? 1u : 0u, w.lr_rank, options.r_stride,
                        part.lr_r_offset, part.so_word, part.a_word, part.norm_word, options.norm_eps,
                        b ? b->rows : 0u, options.r_word, options.norm_pre ? options.x_word : 0u,
                        part.out_norm_word, options.xg_word, options.ss_word, options.n_partials,
                        w.scale_only ? 1u : 0u};
        if (b) push.r_stride = b->rows;
        if (lowrank) {
            push.r_offset += options.r_parts.base;
            push.r_parts = options.r_parts.count;
            push.r_part_stride = options.r_parts.stride;
        }
        d.push_constants(push);
        const GemvVariant variant = gemv_variant(lowrank, b != nullptr, options);
        if (path == MatmulPath::Gemm) {
            if (variant != GemvVariant::plain && variant != GemvVariant::lr)
                throw Error(ErrorKind::Unsupported, "matmul: the GEMM has no kernel that folds the norm in, computes B's "
                                                    "rows or finishes the residual stream");
            const uint32_t bt = gemm_tile_tokens(part.rows, tokens, options);
            d.kernel = &ctx.kernel({variant == GemvVariant::lr ? ShaderId::matmul_q4_gemm_lr : ShaderId::matmul_q4_gemm,
                                    {bt / 8}});
            d.groups[0] = (part.rows + kGemmTileRows - 1) / kGemmTileRows;
            d.groups[1] = (tokens + bt - 1) / bt;
        } else {
            // The Rows kernel is int4 only; dense weights keep the Lanes kernel.
            MatmulOptions gemv_options = options;
            if (w.type != WeightType::Int4) {
                gemv_options.gemv_kernel = GemvKernel::Lanes;
                const auto& caps = ctx.caps();
                if (caps.type == "cpu" && !options.threads_per_row && !options.gemv_workgroup && part.rows <= 256) {
                    // CPU drivers run a workgroup on one core: a B projection's 64 rows in one
                    // 64-lane workgroup left the other cores idle (lavapipe: 0.69 ms per layer for
                    // down's B on SmolLM2). Workgroups of rows / 8 lanes, at least a subgroup: 8
                    // of them for 64 rows with 8-lane subgroups, fewer for fewer rows.
                    const uint32_t sg = std::max<uint32_t>(8, caps.subgroup_max_size);
                    gemv_options.gemv_workgroup = std::clamp<uint32_t>(pow2_floor(std::max<uint32_t>(1, part.rows / 8)), sg,
                                                                       std::max(sg, 64u));
                } else if (caps.type != "cpu" && !options.threads_per_row && !options.gemv_workgroup && part.rows <= 512) {
                    // Few long rows (the low-rank B projections, rank x K): one wide workgroup
                    // per row, each lane streaming a few words, instead of 64 lanes looping
                    // over K/128 4-byte loads (51 us for 64 x 14336 on an H100). The
                    // reduction needs WG x 8 floats of shared memory.
                    uint32_t wg = 64;
                    while (wg * 2 <= std::min<uint32_t>(1024, caps.max_workgroup_invocations) &&
                           wg * 2 * 8 * 4 <= caps.max_shared_memory / 2)
                        wg *= 2;
                    gemv_options.gemv_workgroup = wg;
                    gemv_options.threads_per_row =
                        std::clamp<uint32_t>(pow2_floor(std::max<uint32_t>(1, w.cols / 16)), std::min(wg, 64u), wg);
                }
            }
            const GemvShape s = gemv_shape(ctx.caps(), part.rows, w.cols, tokens, gemv_options);
            ShaderId shader;
            uint32_t spec1 = s.rows;
            if (s.rows_kernel) {
                shader = glowq_shaders::gemv(gemv_int_dot(ctx.caps(), options.int_dot) ? GemvForm::rows_dot : GemvForm::rows,
                                             variant);
                spec1 = s.nr;
            } else {
                // The int4 broadcast kernel finds a block's group with a shift.
                const bool pow2_group = w.group_size >= 32 && (w.group_size & (w.group_size - 1)) == 0;
                const bool bcast = s.broadcast && (w.type != WeightType::Int4 || pow2_group);
                const GemvForm form = s.subgroup ? GemvForm::subgroup : bcast ? GemvForm::bcast : GemvForm::plain;
                shader = w.type == WeightType::Int4 ? glowq_shaders::gemv(form, variant) : dense_kernel(w.type, form, variant);
            }
            std::vector<uint32_t> spec = {s.workgroup, spec1, s.tokens};
            if (s.rows_kernel) {
                spec.push_back(s.ksplit);
                spec.push_back(s.workgroup / ctx.caps().subgroup_size);
            }
            d.kernel = &ctx.kernel({shader, spec});
            d.groups[0] = (part.rows + s.rows - 1) / s.rows;
            if (b) {  // B's rows: one per subgroup before W's (Rows), or W's shape after them (Lanes)
                const uint32_t b_rows_per_group = s.rows_kernel ? s.workgroup / ctx.caps().subgroup_size : s.rows;
                d.groups[0] += (b->rows + b_rows_per_group - 1) / b_rows_per_group;
            }
            if (options.resid_out && y.size() < (uint64_t(options.ss_word) + uint64_t(tokens) * d.groups[0]) * 4)
                throw Error(ErrorKind::InvalidArgument, "matmul: resid_out's partial sums run past Y's buffer");
            d.groups[1] = (tokens + s.tokens - 1) / s.tokens;
        }
        d.args.push_back(Arg::in(part.weights));
        d.args.push_back(Arg::in(x));
        d.args.push_back(options.accumulate ? Arg::inout(y) : Arg::out(y));
        if (lowrank) d.args.push_back(Arg::in(*options.lowrank_r));
        if (b) d.args.push_back(Arg::in(b->parts[0].weights));
        d.label = d.kernel->name();
        d.weight_bytes = part.weights.size();
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace glowq::ops

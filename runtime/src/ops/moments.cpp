// Allocation, dispatch and read-back of the calibration's device sums.
#include "glowq/ops/moments.hpp"

#include <algorithm>

#include "glowq/error.hpp"
#include "glowq/ops/push_constants.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::ops {

DeviceMoments allocate_moments(vk::Allocator& alloc, uint32_t dim, uint64_t max_slice_bytes) {
    if (dim == 0) throw Error(ErrorKind::InvalidArgument, "second moments of a zero-width input");
    // At most 2 GiB a slice, as for matrices (rows_per_part): 32-bit word indices.
    uint64_t limit = std::min<uint64_t>(alloc.context().caps().max_storage_buffer_range, uint64_t(1) << 31);
    if (max_slice_bytes) limit = std::min(limit, max_slice_bytes);
    const uint64_t row_bytes = uint64_t(dim) * 4;
    const uint64_t tiles = limit / (row_bytes * GQ_MOMENTS_TILE);
    if (tiles == 0)
        throw Error(ErrorKind::Unsupported, "second moments of a " + std::to_string(dim) + "-wide input need " +
                                                std::to_string(row_bytes * GQ_MOMENTS_TILE) +
                                                " bytes per binding; the device allows " + std::to_string(limit));
    DeviceMoments m;
    m.dim = dim;
    m.slice_rows = uint32_t(std::min<uint64_t>(tiles * GQ_MOMENTS_TILE, (dim + GQ_MOMENTS_TILE - 1) / GQ_MOMENTS_TILE *
                                                                            uint64_t(GQ_MOMENTS_TILE)));
    for (uint32_t r0 = 0; r0 < dim; r0 += m.slice_rows)
        m.slices.push_back(alloc.allocate(uint64_t(std::min(m.slice_rows, dim - r0)) * row_bytes));
    m.abs_sum = alloc.allocate(row_bytes);
    return m;
}

std::vector<vk::Dispatch> accumulate_moments(vk::Context& ctx, const vk::Buffer& step, const vk::Buffer& x,
                                             uint32_t n_tokens, const DeviceMoments& m) {
    if (n_tokens == 0 || x.size() < uint64_t(n_tokens) * m.dim * 4)
        throw Error(ErrorKind::InvalidArgument, "second moments: " + std::to_string(n_tokens) + " tokens of " +
                                                    std::to_string(m.dim) + " floats lie outside their buffer");
    std::vector<vk::Dispatch> ds;
    for (size_t k = 0; k < m.slices.size(); ++k) {
        const uint32_t row0 = uint32_t(k) * m.slice_rows, rows = std::min(m.slice_rows, m.dim - row0);
        push::Moments push{m.dim, n_tokens, row0, rows};
        vk::Dispatch d;
        d.kernel = &ctx.kernel({vk::ShaderId::second_moments, {}});
        d.args = {vk::Arg::in(step), vk::Arg::in(x), vk::Arg::inout(m.slices[k]), vk::Arg::inout(m.abs_sum)};
        d.push_constants(push);
        // Column tiles up to the slice's last row's tile; those above the diagonal leave at once.
        d.groups[0] = (row0 + rows + GQ_MOMENTS_TILE - 1) / GQ_MOMENTS_TILE;
        d.groups[1] = (rows + GQ_MOMENTS_TILE - 1) / GQ_MOMENTS_TILE;
        d.label = "moments";
        ds.push_back(std::move(d));
    }
    return ds;
}

void read_moments(vk::Allocator& alloc, const DeviceMoments& m, const MomentsSlice& slice, float* abs_out) {
    // In pieces of at most 64 MiB: a device with a 4 GiB binding range holds a 28672-wide S
    // in one 3 GiB slice, which would otherwise be copied to the host whole.
    const uint64_t row_bytes = uint64_t(m.dim) * 4;
    const uint32_t piece_rows = uint32_t(std::max<uint64_t>(1, (uint64_t(64) << 20) / row_bytes));
    std::vector<float> s;
    for (size_t k = 0; k < m.slices.size(); ++k) {
        const uint32_t row0 = uint32_t(k) * m.slice_rows, rows = std::min(m.slice_rows, m.dim - row0);
        for (uint32_t r = 0; r < rows; r += piece_rows) {
            const uint32_t n = std::min(piece_rows, rows - r);
            s.resize(size_t(n) * m.dim);
            alloc.read(m.slices[k], s.data(), n * row_bytes, r * row_bytes);
            slice(row0 + r, n, s.data());
        }
    }
    alloc.read(m.abs_sum, abs_out, row_bytes);
}

}  // namespace glowq::ops

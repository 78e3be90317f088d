// Block sub-allocation with first-fit free lists, and host <-> device transfers.
#include "glowq/vk/memory.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "glowq/error.hpp"
#include "glowq/vk/fault_injection.hpp"
#include "glowq/vk/context.hpp"

namespace glowq::vk {

struct MemoryBlock {
    Context* ctx = nullptr;  // counts the allocation
    VkDevice device = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize size = 0;
    MemoryUsage usage = MemoryUsage::Device;
    uint8_t* mapped = nullptr;
    std::map<VkDeviceSize, VkDeviceSize> free;  // offset -> size, coalesced
    VkDeviceSize used = 0;

    ~MemoryBlock() {
        if (buffer) vkDestroyBuffer(device, buffer, nullptr);
        if (memory) {
            vkFreeMemory(device, memory, nullptr);  // implicitly unmaps
            ctx->uncount_allocation(size);
        }
    }

    bool take(VkDeviceSize want, VkDeviceSize alignment, VkDeviceSize& out_offset, VkDeviceSize& out_reserved) {
        for (auto it = free.begin(); it != free.end(); ++it) {
            const VkDeviceSize start = (it->first + alignment - 1) / alignment * alignment;
            const VkDeviceSize end = it->first + it->second;
            if (start + want > end) continue;
            const VkDeviceSize range_start = it->first;
            free.erase(it);
            if (start > range_start) free[range_start] = start - range_start;  // alignment gap stays free
            const VkDeviceSize reserved = (want + alignment - 1) / alignment * alignment;
            const VkDeviceSize tail = std::min(start + reserved, end);
            if (tail < end) free[tail] = end - tail;
            out_offset = start;
            out_reserved = tail - start;
            used += out_reserved;
            return true;
        }
        return false;
    }

    void give_back(VkDeviceSize offset, VkDeviceSize size) {
        used -= size;
        auto next = free.lower_bound(offset);
        if (next != free.end() && offset + size == next->first) {
            size += next->second;
            next = free.erase(next);
        }
        if (next != free.begin()) {
            auto prev = std::prev(next);
            if (prev->first + prev->second == offset) {
                prev->second += size;
                return;
            }
        }
        free[offset] = size;
    }
};

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept { *this = std::move(o); }

Buffer& Buffer::operator=(Buffer&& o) noexcept {
    if (this != &o) {
        release();
        owner_ = o.owner_;
        block_ = o.block_;
        offset_ = o.offset_;
        size_ = o.size_;
        reserved_ = o.reserved_;
        o.owner_ = nullptr;
        o.block_ = nullptr;
    }
    return *this;
}

void Buffer::release() {
    if (block_ && owner_) owner_->free_range(block_, offset_, reserved_);
    block_ = nullptr;
    owner_ = nullptr;
}

VkBuffer Buffer::handle() const { return block_ ? block_->buffer : VK_NULL_HANDLE; }

void* Buffer::mapped() const { return block_ && block_->mapped ? block_->mapped + offset_ : nullptr; }

Allocator::Allocator(Context& ctx, VkDeviceSize block_size) : ctx_(ctx), block_size_(block_size) {
    alignment_ = std::max<VkDeviceSize>(256, ctx.caps().min_storage_buffer_offset_alignment);
}

Allocator::~Allocator() { staging_.reset(); }

uint32_t Allocator::memory_type(MemoryUsage usage, uint32_t type_bits, bool& mapped) const {
    VkPhysicalDeviceMemoryProperties props{};
    vkGetPhysicalDeviceMemoryProperties(ctx_.physical_device(), &props);
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    std::vector<VkMemoryPropertyFlags> prefs;
    switch (usage) {
        case MemoryUsage::Device:
            if (ctx_.caps().unified_memory) prefs.push_back(local | host);
            prefs.push_back(local);
            prefs.push_back(0);
            break;
        case MemoryUsage::HostWrite:
            prefs = {local | host, host};
            break;
        case MemoryUsage::Readback:
            prefs = {host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, host};
            break;
    }
    for (VkMemoryPropertyFlags want : prefs)
        for (uint32_t t = 0; t < props.memoryTypeCount; ++t)
            if ((type_bits & (1u << t)) && (props.memoryTypes[t].propertyFlags & want) == want) {
                mapped = (props.memoryTypes[t].propertyFlags & host) == host;
                return t;
            }
    throw Error(ErrorKind::Unsupported, "no suitable Vulkan memory type on " + ctx_.caps().name);
}

MemoryBlock& Allocator::new_block(VkDeviceSize size, MemoryUsage usage) {
    auto block = std::make_unique<MemoryBlock>();
    block->ctx = &ctx_;
    block->device = ctx_.device();
    block->size = size;
    block->usage = usage;
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = size;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    check(vkCreateBuffer(ctx_.device(), &bci, nullptr, &block->buffer), "vkCreateBuffer");
    VkMemoryRequirements req{};
    vkGetBufferMemoryRequirements(ctx_.device(), block->buffer, &req);
    bool mapped = false;
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = memory_type(usage, req.memoryTypeBits, mapped);
    ctx_.count_allocation(size);
    const VkResult r = fault::fail(fault::Site::Allocation) ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                                                             : vkAllocateMemory(ctx_.device(), &mai, nullptr, &block->memory);
    if (r != VK_SUCCESS) {
        ctx_.uncount_allocation(size);
        throw Error(ErrorKind::OutOfMemory, "cannot allocate " + format_mib(size) + " of device memory on " + ctx_.caps().name +
                                                " (" + result_name(r) + "; " + format_mib(ctx_.available_device_memory()) +
                                                " of device-local memory available)");
    }
    check(vkBindBufferMemory(ctx_.device(), block->buffer, block->memory, 0), "vkBindBufferMemory");
    if (mapped) {
        void* p = nullptr;
        check(vkMapMemory(ctx_.device(), block->memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
        block->mapped = static_cast<uint8_t*>(p);
    }
    block->free[0] = size;
    blocks_.push_back(std::move(block));
    return *blocks_.back();
}

Buffer Allocator::allocate(VkDeviceSize size, MemoryUsage usage) {
    if (size == 0) size = 4;  // Vulkan forbids zero-sized ranges; keep callers simple
    Buffer b;
    VkDeviceSize offset = 0, reserved = 0;
    MemoryBlock* chosen = nullptr;
    for (auto& block : blocks_)
        if (block->usage == usage && block->take(size, alignment_, offset, reserved)) {
            chosen = block.get();
            break;
        }
    if (!chosen) {
        const VkDeviceSize want = (size + alignment_ - 1) / alignment_ * alignment_;
        MemoryBlock& block = new_block(std::max(block_size_, want), usage);
        if (!block.take(size, alignment_, offset, reserved))
            throw Error(ErrorKind::Internal, "fresh memory block cannot hold its allocation");
        chosen = &block;
    }
    b.owner_ = this;
    b.block_ = chosen;
    b.offset_ = offset;
    b.size_ = size;
    b.reserved_ = reserved;
    return b;
}

void Allocator::free_range(MemoryBlock* block, VkDeviceSize offset, VkDeviceSize size) {
    block->give_back(offset, size);
}

Buffer Allocator::upload(const void* data, VkDeviceSize size, MemoryUsage usage) {
    Buffer b = allocate(size, usage);
    write(b, data, size);
    return b;
}

Buffer& Allocator::staging(VkDeviceSize min_size) {
    if (!staging_ || staging_->size() < min_size) {
        staging_.reset();
        staging_ = std::make_unique<Buffer>(allocate(min_size, MemoryUsage::Readback));
    }
    return *staging_;
}

std::string format_mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

static void check_range(const Buffer& b, VkDeviceSize size, VkDeviceSize offset, const char* what) {
    if (!b.valid()) throw Error(ErrorKind::InvalidArgument, std::string(what) + ": buffer is empty");
    if (offset > b.size() || size > b.size() - offset)
        throw Error(ErrorKind::InvalidArgument, std::string(what) + ": range " + std::to_string(offset) + "+" +
                                                    std::to_string(size) + " exceeds buffer size " +
                                                    std::to_string(b.size()));
}

// A copy's writes made visible to the shaders and transfers recorded after it.
static void transfer_written(VkCommandBuffer cmd) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, nullptr,
                         0, nullptr);
}

// Transfers through staging go in chunks, so a 4 GiB model needs no 4 GiB staging buffer.
static constexpr VkDeviceSize kStagingChunk = VkDeviceSize(32) << 20;

void Allocator::write(const Buffer& dst, const void* data, VkDeviceSize size, VkDeviceSize dst_offset) {
    check_range(dst, size, dst_offset, "Allocator::write");
    if (void* p = dst.mapped()) {
        std::memcpy(static_cast<uint8_t*>(p) + dst_offset, data, size);
        return;
    }
    for (VkDeviceSize done = 0; done < size;) {
        const VkDeviceSize n = std::min(kStagingChunk, size - done);
        Buffer& stage = staging(std::min(kStagingChunk, size));
        std::memcpy(stage.mapped(), static_cast<const uint8_t*>(data) + done, n);
        ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
            VkBufferCopy region{stage.offset(), dst.offset() + dst_offset + done, n};
            vkCmdCopyBuffer(cmd, stage.handle(), dst.handle(), 1, &region);
            transfer_written(cmd);
        });
        done += n;
    }
}

void Allocator::read(const Buffer& src, void* data, VkDeviceSize size, VkDeviceSize src_offset) {
    check_range(src, size, src_offset, "Allocator::read");
    if (const void* p = src.mapped()) {
        std::memcpy(data, static_cast<const uint8_t*>(p) + src_offset, size);
        return;
    }
    for (VkDeviceSize done = 0; done < size;) {
        const VkDeviceSize n = std::min(kStagingChunk, size - done);
        Buffer& stage = staging(std::min(kStagingChunk, size));
        ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
            VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
            before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
            before.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
            vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                                 VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
            VkBufferCopy region{src.offset() + src_offset + done, stage.offset(), n};
            vkCmdCopyBuffer(cmd, src.handle(), stage.handle(), 1, &region);
            VkMemoryBarrier after{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
            after.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
            after.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
            vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &after, 0,
                                 nullptr, 0, nullptr);
        });
        std::memcpy(static_cast<uint8_t*>(data) + done, stage.mapped(), n);
        done += n;
    }
}

void Allocator::copy(const Buffer& src, const Buffer& dst, VkDeviceSize size) {
    check_range(src, size, 0, "Allocator::copy");
    check_range(dst, size, 0, "Allocator::copy");
    if (src.mapped() && dst.mapped()) {
        std::memcpy(dst.mapped(), src.mapped(), size);
        return;
    }
    ctx_.submit_and_wait([&](VkCommandBuffer cmd) {
        VkMemoryBarrier before{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
        before.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        before.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &before, 0, nullptr, 0, nullptr);
        VkBufferCopy region{src.offset(), dst.offset(), size};
        vkCmdCopyBuffer(cmd, src.handle(), dst.handle(), 1, &region);
        transfer_written(cmd);
    });
}

AllocatorStats Allocator::stats() const {
    AllocatorStats s;
    s.blocks = blocks_.size();
    for (const auto& b : blocks_) {
        s.block_bytes += b->size;
        s.used_bytes += b->used;
    }
    if (staging_) s.used_bytes -= staging_->reserved_;
    return s;
}

}  // namespace glowq::vk

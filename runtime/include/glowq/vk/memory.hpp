// Device memory: buffers are sub-allocations of large blocks (one VkDeviceMemory and one
// VkBuffer per block), so a model's hundreds of tensors cost a handful of allocations.
// On unified-memory devices (integrated GPUs, lavapipe) device buffers are host-mapped and
// uploads are a memcpy; elsewhere they go through a reused staging block.
#pragma once
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace glowq::vk {

class Context;
class Allocator;
struct MemoryBlock;

enum class MemoryUsage {
    Device,    // GPU-resident; host-mapped only where memory is unified
    HostWrite, // written by the host every step (step values), read by shaders
    Readback,  // written by the GPU, read by the host
};

// A range of a block. Move-only; returns its range to the allocator when destroyed, so it
// must not outlive the Allocator that made it.
class Buffer {
public:
    Buffer() = default;
    ~Buffer();
    Buffer(Buffer&& other) noexcept;
    Buffer& operator=(Buffer&& other) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    bool valid() const { return block_ != nullptr; }
    VkBuffer handle() const;
    VkDeviceSize offset() const { return offset_; }
    VkDeviceSize size() const { return size_; }
    // Host pointer to this buffer's first byte, or nullptr when not host-visible.
    void* mapped() const;
    template <class T> T* mapped_as() const { return static_cast<T*>(mapped()); }

private:
    friend class Allocator;
    Allocator* owner_ = nullptr;
    MemoryBlock* block_ = nullptr;
    VkDeviceSize offset_ = 0, size_ = 0, reserved_ = 0;
    void release();
};

struct AllocatorStats {
    size_t blocks = 0;
    uint64_t block_bytes = 0;  // VkDeviceMemory allocated
    uint64_t used_bytes = 0;   // handed out to live buffers
};

class Allocator {
public:
    explicit Allocator(Context& ctx, VkDeviceSize block_size = VkDeviceSize(64) << 20);
    ~Allocator();
    Allocator(const Allocator&) = delete;
    Allocator& operator=(const Allocator&) = delete;

    Buffer allocate(VkDeviceSize size, MemoryUsage usage = MemoryUsage::Device);
    // Allocates and fills from host memory.
    Buffer upload(const void* data, VkDeviceSize size, MemoryUsage usage = MemoryUsage::Device);

    void write(const Buffer& dst, const void* data, VkDeviceSize size, VkDeviceSize dst_offset = 0);
    void read(const Buffer& src, void* data, VkDeviceSize size, VkDeviceSize src_offset = 0);
    // The first `size` bytes of src into dst (on the device where either is not mapped).
    void copy(const Buffer& src, const Buffer& dst, VkDeviceSize size);
    template <class T> std::vector<T> read_all(const Buffer& src) {
        std::vector<T> out(src.size() / sizeof(T));
        read(src, out.data(), out.size() * sizeof(T));
        return out;
    }

    AllocatorStats stats() const;
    Context& context() { return ctx_; }

private:
    friend class Buffer;
    void free_range(MemoryBlock* block, VkDeviceSize offset, VkDeviceSize size);
    MemoryBlock& new_block(VkDeviceSize size, MemoryUsage usage);
    uint32_t memory_type(MemoryUsage usage, uint32_t type_bits, bool& mapped) const;
    Buffer& staging(VkDeviceSize min_size);

    Context& ctx_;
    VkDeviceSize block_size_;
    VkDeviceSize alignment_;
    std::vector<std::unique_ptr<MemoryBlock>> blocks_;
    std::unique_ptr<Buffer> staging_;
};

// "N MiB" (whole MiB, rounded down) for messages and reports.
std::string format_mib(uint64_t bytes);

}  // namespace glowq::vk

// The command-buffer graph: nodes are compute dispatches that declare which buffer ranges
// they read and write. Recording walks the nodes in order and places a pipeline barrier
// only where a hazard exists (read-after-write, write-after-read, write-after-write on
// overlapping ranges); the command buffer is recorded once and replayed many times.
// Values that change from one replay to the next (token position, token count) live in
// the graph's step buffer, which the host writes before each run: no re-recording.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "glowq/vk/memory.hpp"

namespace glowq::vk {

class Context;
class Kernel;
class Stream;

enum class Access : uint8_t { Read = 1, Write = 2, ReadWrite = 3 };

// One storage-buffer binding of a dispatch: a buffer range and how the kernel uses it.
struct Arg {
    const Buffer* buffer = nullptr;
    VkDeviceSize offset = 0;  // relative to the buffer; a multiple of the device's alignment
    VkDeviceSize range = 0;   // 0: to the end of the buffer
    Access access = Access::Read;

    static Arg in(const Buffer& b, VkDeviceSize off = 0, VkDeviceSize range = 0) { return {&b, off, range, Access::Read}; }
    static Arg out(const Buffer& b, VkDeviceSize off = 0, VkDeviceSize range = 0) { return {&b, off, range, Access::Write}; }
    static Arg inout(const Buffer& b, VkDeviceSize off = 0, VkDeviceSize range = 0) { return {&b, off, range, Access::ReadWrite}; }
};

struct Dispatch {
    Kernel* kernel = nullptr;
    std::vector<Arg> args;             // binding i = args[i]
    std::vector<uint8_t> push;         // push-constant bytes, fixed at record time
    uint32_t groups[3] = {1, 1, 1};
    // When set, workgroup counts come from 3 uint32 in the step buffer at this byte offset
    // (vkCmdDispatchIndirect): a replayed graph can vary its grid with the step values.
    int32_t indirect_step_offset = -1;
    std::string label;                 // for profiles
    // Bytes of weights the kernel must read from memory (0: not a weight product): profiles
    // turn them into GB/s to compare with the device's copy bandwidth.
    uint64_t weight_bytes = 0;

    template <class P> Dispatch& push_constants(const P& p) {
        push.resize(sizeof(P));
        std::memcpy(push.data(), &p, sizeof(P));
        return *this;
    }
};

struct GraphOptions {
    // Writes a GPU timestamp after every node. Profiling also puts a barrier between every
    // two nodes, so each node's time is its own and not overlapped with its neighbours'.
    bool profile = false;
    // Writes a GPU timestamp at the start and the end only: timings() is one entry for the
    // whole replay, with dispatches overlapping as they would unprofiled.
    bool time_total = false;
};

struct NodeTiming {
    std::string label;
    double ms = 0.0;
    uint64_t weight_bytes = 0;  // Dispatch::weight_bytes
};

class Graph {
public:
    static constexpr uint32_t kStepWords = 64;

    // Records into and submits on `stream` (null: the context's default stream).
    Graph(Context& ctx, Allocator& alloc, GraphOptions options = {}, Stream* stream = nullptr);
    ~Graph();
    Graph(const Graph&) = delete;
    Graph& operator=(const Graph&) = delete;

    // Adds a node; returns its index. Nodes run in the order they are added.
    size_t add(Dispatch d);

    // The step buffer: kStepWords uint32 that the host sets before run().
    const Buffer& step_buffer() const { return step_; }
    uint32_t* step() { return step_.mapped_as<uint32_t>(); }

    void record();  // once, after the last add(); run() records on first use
    void run();     // submit the recorded command buffer and wait for it

    size_t node_count() const { return nodes_.size(); }
    size_t barrier_count() const { return barriers_; }   // hazard barriers placed
    std::vector<size_t> barriers_before() const;          // node indices preceded by a barrier
    std::vector<NodeTiming> timings() const;              // after run() with profile or time_total on

private:
    struct Node {
        Dispatch d;
        VkDescriptorSet set = VK_NULL_HANDLE;
        bool barrier_before = false;
    };
    void plan_barriers();
    void create_descriptors();

    Context& ctx_;
    Stream& stream_;
    GraphOptions options_;
    Buffer step_;
    std::vector<Node> nodes_;
    size_t barriers_ = 0;
    bool recorded_ = false;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    VkCommandBuffer cmd_ = VK_NULL_HANDLE;
    VkQueryPool queries_ = VK_NULL_HANDLE;
};

}  // namespace glowq::vk

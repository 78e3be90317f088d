// Hazard analysis, descriptor sets (made once per node, never per step), recording, replay.
#include "glowq/vk/graph.hpp"

#include <algorithm>

#include "glowq/error.hpp"
#include "glowq/vk/context.hpp"
#include "glowq/vk/kernel.hpp"

namespace glowq::vk {

namespace {

struct Range {
    VkBuffer buffer;
    VkDeviceSize begin, end;
    bool overlaps(const Range& o) const { return buffer == o.buffer && begin < o.end && o.begin < end; }
};

Range range_of(const Arg& a) {
    const VkDeviceSize size = a.range ? a.range : a.buffer->size() - a.offset;
    const VkDeviceSize begin = a.buffer->offset() + a.offset;
    return {a.buffer->handle(), begin, begin + size};
}

bool any_overlap(const Range& r, const std::vector<Range>& set) {
    return std::any_of(set.begin(), set.end(), [&](const Range& o) { return r.overlaps(o); });
}

}  // namespace

Graph::Graph(Context& ctx, Allocator& alloc, GraphOptions options, Stream* stream)
    : ctx_(ctx), stream_(stream ? *stream : ctx.default_stream()), options_(options) {
    step_ = alloc.allocate(kStepWords * sizeof(uint32_t), MemoryUsage::HostWrite);
    std::memset(step_.mapped(), 0, kStepWords * sizeof(uint32_t));
    if ((options_.profile || options_.time_total) && !ctx.caps().timestamps)
        throw Error(ErrorKind::Unsupported, ctx.caps().name + " cannot write timestamps on its compute queue");
}

Graph::~Graph() {
    VkDevice dev = ctx_.device();
    if (cmd_) {
        std::lock_guard<std::mutex> lock(stream_.mutex());
        vkFreeCommandBuffers(dev, stream_.pool(), 1, &cmd_);
    }
    if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
    if (pool_) vkDestroyDescriptorPool(dev, pool_, nullptr);
}

size_t Graph::add(Dispatch d) {
    if (recorded_) throw Error(ErrorKind::InvalidArgument, "Graph::add after record(): build the graph first");
    if (!d.kernel) throw Error(ErrorKind::InvalidArgument, "Graph::add: dispatch without a kernel");
    const std::string name = d.kernel->name();
    if (d.args.size() != d.kernel->bindings())
        throw Error(ErrorKind::InvalidArgument, name + ": " + std::to_string(d.args.size()) + " buffers given, kernel has " +
                                                    std::to_string(d.kernel->bindings()));
    if (d.push.size() != d.kernel->push_constant_bytes())
        throw Error(ErrorKind::InvalidArgument, name + ": push constants are " + std::to_string(d.push.size()) +
                                                    " bytes, kernel expects " + std::to_string(d.kernel->push_constant_bytes()));
    const auto& caps = ctx_.caps();
    for (const Arg& a : d.args) {
        if (!a.buffer || !a.buffer->valid()) throw Error(ErrorKind::InvalidArgument, name + ": empty buffer argument");
        const VkDeviceSize size = a.range ? a.range : a.buffer->size() - a.offset;
        if (a.offset > a.buffer->size() || size > a.buffer->size() - a.offset)
            throw Error(ErrorKind::InvalidArgument, name + ": argument range exceeds its buffer");
        if (size > caps.max_storage_buffer_range)
            throw Error(ErrorKind::Unsupported, name + ": binding of " + std::to_string(size) +
                                                    " bytes exceeds maxStorageBufferRange (" +
                                                    std::to_string(caps.max_storage_buffer_range) + "); split the tensor");
        if ((a.buffer->offset() + a.offset) % std::max<VkDeviceSize>(1, caps.min_storage_buffer_offset_alignment))
            throw Error(ErrorKind::InvalidArgument, name + ": argument offset is not aligned to " +
                                                        std::to_string(caps.min_storage_buffer_offset_alignment));
    }
    for (int i = 0; i < 3; ++i)
        if (d.groups[i] == 0 || d.groups[i] > caps.max_workgroup_count[i])
            throw Error(ErrorKind::InvalidArgument, name + ": workgroup count " + std::to_string(d.groups[i]) +
                                                        " out of range in dimension " + std::to_string(i));
    if (d.indirect_step_offset >= 0 &&
        (d.indirect_step_offset % 4 || d.indirect_step_offset + 12 > int32_t(kStepWords * 4)))
        throw Error(ErrorKind::InvalidArgument, name + ": indirect offset outside the step buffer");
    if (d.label.empty()) d.label = name;
    nodes_.push_back({std::move(d)});
    return nodes_.size() - 1;
}

// Since the last barrier, which ranges were read and written? A node that reads what is
// pending as written, or writes what is pending as read or written, needs a barrier first.
void Graph::plan_barriers() {
    std::vector<Range> reads, writes;
    barriers_ = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        Node& n = nodes_[i];
        bool hazard = false;
        for (const Arg& a : n.d.args) {
            const Range r = range_of(a);
            if ((uint8_t(a.access) & uint8_t(Access::Read)) && any_overlap(r, writes)) hazard = true;
            if ((uint8_t(a.access) & uint8_t(Access::Write)) && (any_overlap(r, writes) || any_overlap(r, reads)))
                hazard = true;
        }
        if (options_.profile && i > 0) hazard = true;
        n.barrier_before = hazard;
        if (hazard) {
            ++barriers_;
            reads.clear();
            writes.clear();
        }
        for (const Arg& a : n.d.args) {
            if (uint8_t(a.access) & uint8_t(Access::Read)) reads.push_back(range_of(a));
            if (uint8_t(a.access) & uint8_t(Access::Write)) writes.push_back(range_of(a));
        }
    }
}

std::vector<size_t> Graph::barriers_before() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].barrier_before) out.push_back(i);
    return out;
}

void Graph::create_descriptors() {
    if (nodes_.empty()) return;
    uint32_t total = 0;
    for (const Node& n : nodes_) total += uint32_t(n.d.args.size());
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(1u, total)};
    VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pci.maxSets = uint32_t(nodes_.size());
    pci.poolSizeCount = 1;
    pci.pPoolSizes = &size;
    check(vkCreateDescriptorPool(ctx_.device(), &pci, nullptr, &pool_), "vkCreateDescriptorPool");
    for (Node& n : nodes_) {
        VkDescriptorSetLayout layout = n.d.kernel->set_layout();
        VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
        ai.descriptorPool = pool_;
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &layout;
        check(vkAllocateDescriptorSets(ctx_.device(), &ai, &n.set), "vkAllocateDescriptorSets");
        std::vector<VkDescriptorBufferInfo> infos(n.d.args.size());
        std::vector<VkWriteDescriptorSet> writes(n.d.args.size());
        for (size_t i = 0; i < n.d.args.size(); ++i) {
            const Arg& a = n.d.args[i];
            infos[i] = {a.buffer->handle(), a.buffer->offset() + a.offset, a.range ? a.range : a.buffer->size() - a.offset};
            writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
            writes[i].dstSet = n.set;
            writes[i].dstBinding = uint32_t(i);
            writes[i].descriptorCount = 1;
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
        vkUpdateDescriptorSets(ctx_.device(), uint32_t(writes.size()), writes.data(), 0, nullptr);
    }
}

static void memory_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src, VkAccessFlags src_access,
                           VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    vkCmdPipelineBarrier(cmd, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void Graph::record() {
    if (recorded_) return;
    plan_barriers();
    create_descriptors();
    VkDevice dev = ctx_.device();
    const bool per_node = options_.profile;
    const uint32_t n_queries = per_node ? uint32_t(nodes_.size() + 1) : 2;
    if (options_.profile || options_.time_total) {
        VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
        qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
        qci.queryCount = n_queries;
        check(vkCreateQueryPool(dev, &qci, nullptr, &queries_), "vkCreateQueryPool");
    }
    // The pool is the stream's: allocating and recording from it are serialized with its
    // other users.
    std::lock_guard<std::mutex> lock(stream_.mutex());
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = stream_.pool();
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(dev, &ai, &cmd_), "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(vkBeginCommandBuffer(cmd_, &bi), "vkBeginCommandBuffer");

    const VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
    const VkAccessFlags rw = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    if (queries_) {
        vkCmdResetQueryPool(cmd_, queries_, 0, n_queries);
        vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 0);
    }
    VkPipeline bound = VK_NULL_HANDLE;
    for (size_t i = 0; i < nodes_.size(); ++i) {
        const Node& n = nodes_[i];
        if (n.barrier_before) memory_barrier(cmd_, compute, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT, compute, rw);
        const Kernel& k = *n.d.kernel;
        if (k.pipeline() != bound) {
            vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k.pipeline());
            bound = k.pipeline();
        }
        vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, k.layout(), 0, 1, &n.set, 0, nullptr);
        if (!n.d.push.empty())
            vkCmdPushConstants(cmd_, k.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, uint32_t(n.d.push.size()), n.d.push.data());
        if (n.d.indirect_step_offset >= 0)
            vkCmdDispatchIndirect(cmd_, step_.handle(), step_.offset() + VkDeviceSize(n.d.indirect_step_offset));
        else
            vkCmdDispatch(cmd_, n.d.groups[0], n.d.groups[1], n.d.groups[2]);
        if (queries_ && per_node) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, uint32_t(i + 1));
    }
    if (queries_ && !per_node) vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, 1);
    // Make this replay's writes visible to whatever comes next: the host, a transfer, the
    // next replay (whose first nodes may overwrite what this one's last nodes read).
    memory_barrier(cmd_, compute, VK_ACCESS_SHADER_WRITE_BIT, compute | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                   rw | VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT);
    check(vkEndCommandBuffer(cmd_), "vkEndCommandBuffer");
    recorded_ = true;
}

void Graph::run() {
    record();
    stream_.submit_and_wait(cmd_);
}

std::vector<NodeTiming> Graph::timings() const {
    std::vector<NodeTiming> out;
    if (!queries_) return out;
    std::vector<uint64_t> ticks(options_.profile ? nodes_.size() + 1 : 2);
    check(vkGetQueryPoolResults(ctx_.device(), queries_, 0, uint32_t(ticks.size()), ticks.size() * sizeof(uint64_t),
                                ticks.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults");
    const auto& caps = ctx_.caps();
    const uint64_t mask = caps.timestamp_valid_bits >= 64 ? ~0ull : ((1ull << caps.timestamp_valid_bits) - 1);
    if (!options_.profile) {
        uint64_t bytes = 0;
        for (const auto& n : nodes_) bytes += n.d.weight_bytes;
        return {{"total", double((ticks[1] - ticks[0]) & mask) * caps.timestamp_period_ns * 1e-6, bytes}};
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
        const uint64_t dt = (ticks[i + 1] - ticks[i]) & mask;
        out.push_back({nodes_[i].d.label, double(dt) * caps.timestamp_period_ns * 1e-6, nodes_[i].d.weight_bytes});
    }
    return out;
}

}  // namespace glowq::vk

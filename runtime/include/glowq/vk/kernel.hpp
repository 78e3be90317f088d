// A compute kernel: an embedded SPIR-V shader specialized into a pipeline. Every kernel's
// interface is the same shape (N storage buffers at set 0, bindings 0..N-1, plus push
// constants; N and the push bytes from the registry), which keeps descriptor handling to
// one code path.
#pragma once
#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

#include "shaders_embedded.hpp"

namespace glowq::vk {

class Context;

// The kernel registry generated from shaders/shader_list.cmake: every shader by name (an
// enum, so a kernel that does not exist cannot be asked for), with its bindings and its
// push-constant bytes.
using ShaderId = glowq_shaders::Id;
const char* shader_name(ShaderId id);

struct KernelDesc {
    ShaderId shader;
    std::vector<uint32_t> spec;  // specialization constants, constant_id 0..n-1

    std::string key() const;
};

class Kernel {
public:
    Kernel(Context& ctx, const KernelDesc& desc);
    ~Kernel();
    Kernel(const Kernel&) = delete;
    Kernel& operator=(const Kernel&) = delete;

    const KernelDesc& desc() const { return desc_; }
    const char* name() const { return shader_name(desc_.shader); }
    uint32_t bindings() const;             // storage buffers at set 0, bindings 0..bindings()-1
    uint32_t push_constant_bytes() const;
    VkPipeline pipeline() const { return pipeline_; }
    VkPipelineLayout layout() const { return layout_; }
    VkDescriptorSetLayout set_layout() const { return set_layout_; }

private:
    void release();
    VkDevice device_;
    KernelDesc desc_;
    VkShaderModule module_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    VkPipeline pipeline_ = VK_NULL_HANDLE;
};

// The SPIR-V of an embedded shader; by name (tools and tests), throws glowq::Error if there
// is none of that name.
struct SpirvView {
    const uint32_t* words;
    size_t count;
};
SpirvView embedded_shader(ShaderId id);
SpirvView embedded_shader(const std::string& name);
std::vector<std::string> embedded_shader_names();

}  // namespace glowq::vk

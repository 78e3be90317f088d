// Pipeline creation from embedded SPIR-V with specialization constants.
#include "glowq/vk/kernel.hpp"

#include "glowq/error.hpp"
#include "glowq/vk/context.hpp"
#include "shaders_embedded.hpp"
#include "spirv_footprint.hpp"

namespace glowq::vk {

static constexpr uint32_t kSoftHalfConstantId = 31;  // half.glsl

const char* shader_name(ShaderId id) { return glowq_shaders::get(id).name; }

std::string KernelDesc::key() const {
    std::string k = std::to_string(unsigned(shader));
    for (uint32_t v : spec) k += ":" + std::to_string(v);
    return k;
}

uint32_t Kernel::bindings() const { return glowq_shaders::get(desc_.shader).bindings; }
uint32_t Kernel::push_constant_bytes() const { return glowq_shaders::get(desc_.shader).push_bytes; }

SpirvView embedded_shader(ShaderId id) {
    const auto& s = glowq_shaders::get(id);
    return {s.words, s.count};
}

SpirvView embedded_shader(const std::string& name) {
    if (const auto* s = glowq_shaders::find(name.c_str())) return {s->words, s->count};
    throw Error(ErrorKind::Internal, "no embedded shader named '" + name + "'");
}

std::vector<std::string> embedded_shader_names() {
    std::vector<std::string> names;
    for (const auto& s : glowq_shaders::all()) names.emplace_back(s.name);
    return names;
}

Kernel::Kernel(Context& ctx, const KernelDesc& desc) : device_(ctx.device()), desc_(desc) {
    const std::string name = shader_name(desc.shader);
    const uint32_t n_bindings = bindings(), push_bytes = push_constant_bytes();
    if (push_bytes > ctx.caps().max_push_constants)
        throw Error(ErrorKind::Unsupported, name + " needs " + std::to_string(push_bytes) +
                                                " bytes of push constants; the device allows " +
                                                std::to_string(ctx.caps().max_push_constants));
    if (n_bindings > ctx.caps().max_storage_buffers_per_stage)
        throw Error(ErrorKind::Unsupported, name + " needs " + std::to_string(n_bindings) +
                                                " storage buffers; the device allows " +
                                                std::to_string(ctx.caps().max_storage_buffers_per_stage) + " per stage");
    const SpirvView spirv = embedded_shader(desc.shader);
    const ShaderFootprint footprint = spirv_footprint(spirv.words, spirv.count, desc.spec);
    if (footprint.storage_buffers != n_bindings)
        throw Error(ErrorKind::Internal, name + " declares " + std::to_string(footprint.storage_buffers) +
                                             " storage buffers; shader_list.cmake says " + std::to_string(n_bindings));
    if (const auto problems = footprint_violations(footprint, ctx.caps()); !problems.empty()) {
        std::string what;
        for (const auto& p : problems) what += (what.empty() ? "" : "; ") + p;
        throw Error(ErrorKind::Unsupported, "kernel " + name + " cannot run on " + ctx.caps().name + ": needs " + what);
    }
    try {
        VkShaderModuleCreateInfo smci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
        smci.codeSize = spirv.count * sizeof(uint32_t);
        smci.pCode = spirv.words;
        check(vkCreateShaderModule(device_, &smci, nullptr, &module_), "vkCreateShaderModule");

        std::vector<VkDescriptorSetLayoutBinding> slots(n_bindings);
        for (uint32_t i = 0; i < n_bindings; ++i) {
            slots[i].binding = i;
            slots[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            slots[i].descriptorCount = 1;
            slots[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
        }
        VkDescriptorSetLayoutCreateInfo dslci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
        dslci.bindingCount = n_bindings;
        dslci.pBindings = slots.data();
        check(vkCreateDescriptorSetLayout(device_, &dslci, nullptr, &set_layout_), "vkCreateDescriptorSetLayout");

        VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
        VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
        plci.setLayoutCount = 1;
        plci.pSetLayouts = &set_layout_;
        plci.pushConstantRangeCount = push_bytes ? 1 : 0;
        plci.pPushConstantRanges = &pcr;
        check(vkCreatePipelineLayout(device_, &plci, nullptr, &layout_), "vkCreatePipelineLayout");

        // Constants 0..n-1 are the kernel's own; 31 (GQ_SOFT_HALF, half.glsl) is the
        // device's, for every shader (an id a shader does not declare is ignored).
        std::vector<uint32_t> values = desc.spec;
        std::vector<VkSpecializationMapEntry> entries(desc.spec.size());
        for (uint32_t i = 0; i < desc.spec.size(); ++i)
            entries[i] = {i, uint32_t(i * sizeof(uint32_t)), sizeof(uint32_t)};
        entries.push_back({kSoftHalfConstantId, uint32_t(values.size() * sizeof(uint32_t)), sizeof(VkBool32)});
        values.push_back(ctx.caps().half_conversion ? VK_FALSE : VK_TRUE);
        VkSpecializationInfo si{};
        si.mapEntryCount = uint32_t(entries.size());
        si.pMapEntries = entries.data();
        si.dataSize = values.size() * sizeof(uint32_t);
        si.pData = values.data();

        VkComputePipelineCreateInfo cpci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
        cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
        cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        cpci.stage.module = module_;
        cpci.stage.pName = "main";
        cpci.stage.pSpecializationInfo = &si;
        cpci.layout = layout_;
        check(vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipeline_),
              ("vkCreateComputePipelines(" + name + ")").c_str());
    } catch (...) {
        release();
        throw;
    }
}

Kernel::~Kernel() { release(); }

void Kernel::release() {
    if (pipeline_) vkDestroyPipeline(device_, pipeline_, nullptr);
    if (layout_) vkDestroyPipelineLayout(device_, layout_, nullptr);
    if (set_layout_) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
    if (module_) vkDestroyShaderModule(device_, module_, nullptr);
    pipeline_ = VK_NULL_HANDLE;
    layout_ = VK_NULL_HANDLE;
    set_layout_ = VK_NULL_HANDLE;
    module_ = VK_NULL_HANDLE;
}

}  // namespace glowq::vk

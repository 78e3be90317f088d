// Options shared by the commands that load a model: which file, which device, context,
// sampling. One place, so `run`, `chat` and `ppl` read them the same way.
#pragma once
#include <memory>
#include <set>
#include <string>

#include "args.hpp"
#include "glowq/loader/gguf.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/vulkan_llama.hpp"
#include "glowq/sampler.hpp"
#include "glowq/vk/context.hpp"

namespace glowq::cli {

// Option names for Args: model/device/context, and sampling.
std::set<std::string> model_option_names();
std::set<std::string> sampler_option_names();
const char* model_options_help();
const char* sampler_options_help();

// -m, else $GLOWQ_MODEL, else the default model in the cache (scripts/fetch_model.sh).
std::string model_path(const Args& args);

struct LoadedModel {
    std::unique_ptr<GgufFile> file;
    std::unique_ptr<vk::Context> ctx;
    std::unique_ptr<Tokenizer> tokenizer;
    std::unique_ptr<VulkanLlama> model;
    double load_ms = 0;
};
LoadedModel load_model(const Args& args, bool verbose);

SamplerParams sampler_params(const Args& args);

}  // namespace glowq::cli

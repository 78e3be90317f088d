// Model: a GGUF model's weights on the engine's device, its tokenizer and chat template.
// Immutable once loaded: shared by any number of sessions and threads. It keeps its
// engine alive; nothing of the file is kept after loading (a path, a descriptor range or
// a memory buffer need only last for the load).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "glowq/engine.hpp"
#include "glowq/loader/chat_template.hpp"
#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/vulkan_llama.hpp"

namespace glowq {

struct ModelLoadOptions {
    LoadProgress progress;  // fraction in [0, 1]; returning false cancels (Error Cancelled)
};

class Model {
public:
    static std::shared_ptr<const Model> load_file(std::shared_ptr<Engine> engine, const std::string& path,
                                                  const ModelLoadOptions& options = {});
    // Bytes [offset, offset + length) of an open descriptor (length 0: to the end).
    static std::shared_ptr<const Model> load_fd(std::shared_ptr<Engine> engine, int fd, uint64_t offset,
                                                uint64_t length, const ModelLoadOptions& options = {});
    static std::shared_ptr<const Model> load_memory(std::shared_ptr<Engine> engine, const void* data, size_t size,
                                                    const ModelLoadOptions& options = {});

    Engine& engine() const { return *engine_; }
    const std::string& name() const { return name_; }
    const ModelConfig& config() const { return weights_->config(); }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    bool has_chat_template() const { return chat_template_.has_value(); }
    // Throws Error(Unsupported) when the file has none.
    const ChatTemplate& chat_template() const;
    const std::shared_ptr<const VulkanLlamaWeights>& weights() const { return weights_; }
    // Identifies the weights (metadata, tensor layout and samples of every tensor's bytes):
    // a saved session state is only restored into a model with the same fingerprint.
    uint64_t fingerprint() const { return fingerprint_; }

    Model(std::shared_ptr<Engine> engine, const GgufFile& file, const ModelLoadOptions& options);

private:
    std::shared_ptr<Engine> engine_;
    std::string name_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::optional<ChatTemplate> chat_template_;
    std::shared_ptr<const VulkanLlamaWeights> weights_;
    uint64_t fingerprint_ = 0;
};

}  // namespace glowq

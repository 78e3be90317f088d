// Chat: a conversation on its own Session, in the model's chat template. Each turn
// evaluates only what the cache does not hold; regenerate and edit rewind to the first
// changed token. When the conversation outgrows the context, the oldest messages after the
// system prompt are dropped and it carries on.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "glowq/loader/chat_template.hpp"
#include "glowq/session.hpp"

namespace glowq {

struct ChatOptions {
    std::string system_prompt;  // empty: none (the template may add its default)
    SessionOptions session;
};

class Chat {
public:
    // Throws Error(Unsupported) when the model has no chat template.
    explicit Chat(std::shared_ptr<const Model> model, const ChatOptions& options = {});

    // Adds a user message and generates the reply (added as the assistant's message). On
    // an error or a cancel before the first token the conversation is left as it was; a
    // reply cancelled while decoding is kept as far as it got.
    GenerateResult send(const std::string& user_message, const SamplerParams& sampler, const GenerateOptions& options,
                        const TokenCallback& on_token = {});
    // Drops the last reply (if the last message is the assistant's) and generates anew.
    GenerateResult regenerate(const SamplerParams& sampler, const GenerateOptions& options,
                              const TokenCallback& on_token = {});
    // Replaces message `index` and drops every message after it.
    void edit(size_t index, const std::string& content);
    void set_system_prompt(const std::string& system_prompt) { system_ = system_prompt; }
    // Replaces the conversation (an app switching between saved conversations); the cache
    // keeps whatever prefix the next turn shares with it.
    void set_messages(std::vector<ChatMessage> messages) { messages_ = std::move(messages); }
    void clear() { messages_.clear(); }
    void cancel() { session_.cancel(); }

    const std::string& system_prompt() const { return system_; }
    const std::vector<ChatMessage>& messages() const { return messages_; }  // after the system prompt
    uint32_t context() const { return session_.context(); }
    uint32_t tokens_used() const { return uint32_t(session_.tokens().size()); }
    Session& session() { return session_; }

private:
    GenerateResult reply(const SamplerParams& sampler, GenerateOptions options, const TokenCallback& on_token);
    std::vector<int32_t> render() const;

    std::shared_ptr<const Model> model_;
    const ChatTemplate& template_;
    Session session_;
    std::string system_;
    std::vector<ChatMessage> messages_;
};

}  // namespace glowq

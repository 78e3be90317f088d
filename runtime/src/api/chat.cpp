// Chat: the conversation rendered with the model's template, trimmed to the context, and
// generated through the session (which reuses the cached prefix of every turn).
#include "glowq/chat.hpp"

#include "glowq/error.hpp"

namespace glowq {

Chat::Chat(std::shared_ptr<const Model> model, const ChatOptions& options)
    : model_(std::move(model)),
      template_(model_ ? model_->chat_template() : throw Error(ErrorKind::InvalidArgument, "no model")),
      session_(model_, options.session),
      system_(options.system_prompt) {}

std::vector<int32_t> Chat::render() const {
    std::vector<ChatMessage> all;
    if (!system_.empty()) all.push_back({"system", system_});
    all.insert(all.end(), messages_.begin(), messages_.end());
    return model_->tokenizer().encode(template_.apply(all, true), true, true);
}

// Generates the reply to messages_ (which end with a user message).
GenerateResult Chat::reply(const SamplerParams& sampler, GenerateOptions options, const TokenCallback& on_token) {
    const uint32_t ctx = session_.context();
    std::vector<int32_t> tokens = render();
    // Keep room for a reply: drop the oldest turns (never the system prompt or the new user
    // message) until the prompt leaves a quarter of the context, or the requested
    // reply length if that is less.
    const uint32_t room = std::min<uint32_t>(std::max<uint32_t>(options.max_tokens, 1), ctx / 4);
    while (tokens.size() + room >= ctx && messages_.size() > 1) {
        // A whole turn at a time: the history always starts with a user message.
        messages_.erase(messages_.begin());
        while (messages_.size() > 1 && messages_.front().role != "user") messages_.erase(messages_.begin());
        tokens = render();
    }
    if (tokens.size() >= ctx)
        throw Error(ErrorKind::ContextFull, "this message alone (" + std::to_string(tokens.size()) +
                                                " tokens with the template) does not fit the context of " +
                                                std::to_string(ctx) + " tokens");
    options.max_tokens = std::min<uint32_t>(options.max_tokens, ctx - uint32_t(tokens.size()) - 1);
    GenerateResult r = session_.generate(tokens, sampler, options, on_token);
    messages_.push_back({"assistant", r.text});
    return r;
}

GenerateResult Chat::send(const std::string& user_message, const SamplerParams& sampler, const GenerateOptions& options,
                          const TokenCallback& on_token) {
    if (user_message.empty()) throw Error(ErrorKind::InvalidArgument, "the message is empty");
    const std::vector<ChatMessage> before = messages_;
    messages_.push_back({"user", user_message});
    try {
        return reply(sampler, options, on_token);
    } catch (...) {
        messages_ = before;
        throw;
    }
}

GenerateResult Chat::regenerate(const SamplerParams& sampler, const GenerateOptions& options,
                                const TokenCallback& on_token) {
    const std::vector<ChatMessage> before = messages_;
    if (!messages_.empty() && messages_.back().role == "assistant") messages_.pop_back();
    if (messages_.empty() || messages_.back().role != "user") {
        messages_ = before;
        throw Error(ErrorKind::InvalidArgument, "nothing to regenerate: the conversation has no user message to answer");
    }
    try {
        return reply(sampler, options, on_token);
    } catch (...) {
        messages_ = before;
        throw;
    }
}

void Chat::edit(size_t index, const std::string& content) {
    if (index >= messages_.size())
        throw Error(ErrorKind::InvalidArgument, "message " + std::to_string(index) + " does not exist (the chat has " +
                                                    std::to_string(messages_.size()) + ")");
    messages_[index].content = content;
    messages_.resize(index + 1);
}

}  // namespace glowq

// glowq.h for chats.
#include "c_api_support.hpp"

using namespace glowq;
using namespace glowq::capi;

namespace {


template <class F> glowq_status generate_on(glowq_chat* chat, const glowq_generate_params* params,
                                            glowq_generate_result* result, F&& run) {
    GenerateResult r;
    const glowq_status st = guard([&] {
        need(chat, "chat");
        check_result(result);
        SamplerParams sp;
        const GenerateOptions o = generate_options_from(params, sp);
        r = run(*chat->chat, sp, o);
    });
    return st == GLOWQ_OK ? finish(r, result) : st;
}

}  // namespace

extern "C" {

glowq_chat_params glowq_chat_default_params(void) {
    glowq_chat_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.session = glowq_session_default_params();
    return p;
}

glowq_status glowq_chat_create(glowq_model* model, const glowq_chat_params* params, glowq_chat** out) {
    return guard([&] {
        need(out, "the output handle pointer");
        *out = nullptr;
        need(model, "model");
        const glowq_chat_params p = read_params(params, glowq_chat_default_params(), "glowq_chat_params");
        ChatOptions o;
        if (p.system_prompt) o.system_prompt = p.system_prompt;
        o.session = session_options_from(&p.session);
        auto c = std::make_unique<glowq_chat>();
        c->chat = std::make_unique<Chat>(model->model, o);
        *out = publish(std::move(c));
    });
}

void glowq_chat_destroy(glowq_chat* chat) { release(chat); }

glowq_status glowq_chat_send(glowq_chat* chat, const char* user_message, const glowq_generate_params* params,
                             glowq_token_fn on_token, void* user, glowq_generate_result* result) {
    return generate_on(chat, params, result, [&](Chat& c, const SamplerParams& sp, const GenerateOptions& o) {
        return c.send(need(user_message, "user_message"), sp, o, token_callback(on_token, user));
    });
}

glowq_status glowq_chat_regenerate(glowq_chat* chat, const glowq_generate_params* params, glowq_token_fn on_token,
                                   void* user, glowq_generate_result* result) {
    return generate_on(chat, params, result, [&](Chat& c, const SamplerParams& sp, const GenerateOptions& o) {
        return c.regenerate(sp, o, token_callback(on_token, user));
    });
}

glowq_status glowq_chat_edit(glowq_chat* chat, size_t index, const char* content) {
    return guard([&] { need(chat, "chat")->chat->edit(index, need(content, "content")); });
}

glowq_status glowq_chat_set_system_prompt(glowq_chat* chat, const char* system_prompt) {
    return guard([&] { need(chat, "chat")->chat->set_system_prompt(system_prompt ? system_prompt : ""); });
}

glowq_status glowq_chat_clear(glowq_chat* chat) {
    return guard([&] { need(chat, "chat")->chat->clear(); });
}

glowq_status glowq_chat_message_count(const glowq_chat* chat, size_t* count) {
    return guard([&] { *need(count, "count") = need(chat, "chat")->chat->messages().size(); });
}

glowq_status glowq_chat_message(const glowq_chat* chat, size_t index, const char** role, const char** content) {
    return guard([&] {
        const auto& msgs = need(chat, "chat")->chat->messages();
        if (index >= msgs.size())
            invalid("message " + std::to_string(index) + " does not exist (the chat has " + std::to_string(msgs.size()) + ")");
        if (role) *role = msgs[index].role.c_str();
        if (content) *content = msgs[index].content.c_str();
    });
}

glowq_status glowq_chat_context(const glowq_chat* chat, uint32_t* context, uint32_t* n_tokens) {
    return guard([&] {
        const Chat& c = *need(chat, "chat")->chat;
        if (context) *context = c.context();
        if (n_tokens) *n_tokens = c.tokens_used();
    });
}

void glowq_chat_cancel(glowq_chat* chat) {
    with_live_handle(chat, HandleKind::Chat, [](const void* h) { static_cast<const glowq_chat*>(h)->chat->cancel(); });
}

}  // extern "C"

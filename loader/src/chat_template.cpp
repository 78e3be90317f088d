#include <glowq/loader/chat_template.hpp>

namespace glowq {

namespace {

// Python's str.strip() / Jinja's trim: ASCII whitespace at both ends.
std::string strip(std::string_view s) {
    const char* ws = " \t\n\r\f\v";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(ws);
    return std::string(s.substr(b, e - b + 1));
}

// A ChatML template that opens with a fixed system turn writes it as a string literal:
// '<|im_start|>system\nYou are ...<|im_end|>\n'. The "\n" may be a real newline or a
// Jinja escape. Anything that looks like an expression instead of literal text (quotes,
// braces, '+') means the system text is computed, and none is taken.
std::string chatml_default_system(std::string_view jinja) {
    const std::string_view open = "<|im_start|>system";
    const size_t at = jinja.find(open);
    if (at == std::string_view::npos) return {};
    size_t p = at + open.size();
    if (jinja.compare(p, 1, "\n") == 0) p += 1;
    else if (jinja.compare(p, 2, "\\n") == 0) p += 2;
    else return {};
    const size_t end = jinja.find("<|im_end|>", p);
    if (end == std::string_view::npos) return {};
    const std::string_view text = jinja.substr(p, end - p);
    if (text.empty() || text.find_first_of("'\"{}+") != std::string_view::npos) return {};
    return std::string(text);
}

}  // namespace

ChatFormat detect_chat_format(std::string_view jinja) {
    if (jinja.find("<|im_start|>") != std::string_view::npos) return ChatFormat::ChatML;
    if (jinja.find("<|start_header_id|>") != std::string_view::npos) return ChatFormat::Llama3;
    if (jinja.find("[INST]") != std::string_view::npos) return ChatFormat::Llama2;
    if (jinja.find("<start_of_turn>") != std::string_view::npos) return ChatFormat::Gemma;
    return ChatFormat::ChatML;
}

ChatFormat detect_chat_format(std::string_view jinja, const std::vector<std::string>& tokens) {
    const ChatFormat f = detect_chat_format(jinja);
    if (f != ChatFormat::ChatML || jinja.find("<|im_start|>") != std::string_view::npos) return f;
    for (const std::string& t : tokens) {
        if (t == "<start_of_turn>") return ChatFormat::Gemma;
        if (t == "<|start_header_id|>") return ChatFormat::Llama3;
    }
    return f;
}

const char* chat_format_name(ChatFormat format) {
    switch (format) {
        case ChatFormat::ChatML: return "chatml";
        case ChatFormat::Llama3: return "llama3";
        case ChatFormat::Llama2: return "llama2";
        case ChatFormat::Gemma: return "gemma";
    }
    return "?";
}

ChatTemplate::ChatTemplate(ChatFormat format, std::string default_system)
    : format_(format), default_system_(std::move(default_system)) {}

ChatTemplate ChatTemplate::from_jinja(std::string_view jinja) { return from_jinja(jinja, {}); }

ChatTemplate ChatTemplate::from_jinja(std::string_view jinja, const std::vector<std::string>& tokens) {
    const ChatFormat f = detect_chat_format(jinja, tokens);
    return ChatTemplate(f, f == ChatFormat::ChatML ? chatml_default_system(jinja) : std::string());
}

std::string ChatTemplate::apply(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
    switch (format_) {
        case ChatFormat::Llama3: return apply_llama3(msgs, add_generation_prompt);
        case ChatFormat::Llama2: return apply_llama2(msgs);
        case ChatFormat::Gemma: return apply_gemma(msgs, add_generation_prompt);
        case ChatFormat::ChatML: break;
    }
    return apply_chatml(msgs, add_generation_prompt);
}

std::string ChatTemplate::apply_chatml(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
    std::string out;
    // The template inserts its system turn only before a conversation that lacks one.
    if (!default_system_.empty() && (msgs.empty() || msgs.front().role != "system")) {
        out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
    }
    for (const ChatMessage& m : msgs) {
        out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

std::string ChatTemplate::apply_llama3(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
    std::string out;
    for (const ChatMessage& m : msgs) {
        // Meta's template trims every message's content.
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip(m.content) + "<|eot_id|>";
    }
    if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
    return out;
}

// Meta's Llama-2 template: the system prompt lives inside the first user turn; every turn
// after the first starts with a BOS and every answer ends with an EOS, as text. There is
// no generation prompt: the model answers right after " [/INST]".
std::string ChatTemplate::apply_llama2(const std::vector<ChatMessage>& msgs) const {
    std::string out;
    std::string system;
    bool first_turn = true;
    auto user_turn = [&](const std::string& content) {
        std::string text = content;
        if (!system.empty()) {
            text = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + text;
            system.clear();
        }
        out += first_turn ? "" : "<s>";
        out += "[INST] " + strip(text) + " [/INST]";
        first_turn = false;
    };
    for (const ChatMessage& m : msgs) {
        if (m.role == "system") {
            system = m.content;
        } else if (m.role == "assistant") {
            out += " " + strip(m.content) + " </s>";
        } else {
            user_turn(m.content);
        }
    }
    if (!system.empty()) user_turn("");  // a system prompt with nothing after it
    return out;
}

// Google's Gemma template: no system role (a system message becomes a paragraph at the
// start of the first turn after it), the assistant's role is "model", contents trimmed.
std::string ChatTemplate::apply_gemma(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const {
    std::string out, prefix;
    size_t first = 0;
    if (!msgs.empty() && msgs[0].role == "system") {
        prefix = msgs[0].content + "\n\n";
        first = 1;
    }
    for (size_t i = first; i < msgs.size(); ++i) {
        const std::string role = msgs[i].role == "assistant" ? "model" : msgs[i].role;
        out += "<start_of_turn>" + role + "\n" + (i == first ? prefix : "") + strip(msgs[i].content) + "<end_of_turn>\n";
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
}

}  // namespace glowq

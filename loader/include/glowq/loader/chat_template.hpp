// Chat prompts for the three formats the supported models were tuned on. A GGUF's
// tokenizer.chat_template is Jinja; rather than embed a Jinja engine, the format is
// recognized by its markers and written out here, checked against each format's
// definition. The result is text to encode with parse_special = true.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace glowq {

struct ChatMessage {
    std::string role;  // "system" | "user" | "assistant" (ChatML and Llama-3 pass others through)
    std::string content;
};

enum class ChatFormat {
    // <|im_start|>{role}\n{content}<|im_end|>\n ... (SmolLM2, Qwen2)
    ChatML,
    // <|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|> ...
    Llama3,
    // [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] ...
    Llama2,
    // <start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n ... (Gemma)
    Gemma,
};

// "<|im_start|>" -> ChatML, "<|start_header_id|>" -> Llama3, "[INST]" -> Llama2,
// "<start_of_turn>" -> Gemma; anything else (or no template at all) -> ChatML.
ChatFormat detect_chat_format(std::string_view jinja);
// Without a template that names its format (base models ship none), the vocabulary's turn
// markers tell it: "<start_of_turn>" -> Gemma, "<|start_header_id|>" -> Llama3, else ChatML.
ChatFormat detect_chat_format(std::string_view jinja, const std::vector<std::string>& tokens);
const char* chat_format_name(ChatFormat format);

class ChatTemplate {
public:
    explicit ChatTemplate(ChatFormat format = ChatFormat::ChatML, std::string default_system = {});

    // Recognizes the format and, for ChatML templates that insert a fixed system prompt
    // when the conversation has none (SmolLM2's "You are a helpful AI assistant named
    // SmolLM..."), keeps that prompt so the model sees what it was tuned with.
    static ChatTemplate from_jinja(std::string_view jinja);
    // The same, falling back to the vocabulary's markers (detect_chat_format above).
    static ChatTemplate from_jinja(std::string_view jinja, const std::vector<std::string>& tokens);

    ChatFormat format() const { return format_; }
    const std::string& default_system() const { return default_system_; }

    // The prompt text for msgs; with add_generation_prompt it ends where the assistant's
    // reply begins. The BOS token is not included: the tokenizer adds it (add_special)
    // where the model wants one. Llama-2's later turns do contain "<s>"/"</s>" text.
    std::string apply(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

private:
    std::string apply_chatml(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;
    std::string apply_llama3(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;
    std::string apply_llama2(const std::vector<ChatMessage>& msgs) const;
    std::string apply_gemma(const std::vector<ChatMessage>& msgs, bool add_generation_prompt) const;

    ChatFormat format_;
    std::string default_system_;
};

}  // namespace glowq

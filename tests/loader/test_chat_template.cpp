// Chat formats against strings written by hand from each format's definition (the Jinja
// templates shipped with SmolLM2, Qwen2, Llama-3 and Llama-2).
#include <catch2/catch.hpp>

#include <glowq/loader/chat_template.hpp>

using glowq::ChatFormat;
using glowq::ChatMessage;
using glowq::ChatTemplate;

namespace {

// SmolLM2-135M-Instruct's tokenizer.chat_template, verbatim.
const char* const kSmolLM2Jinja =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const char* const kLlama3Jinja =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}";

const char* const kLlama2Jinja =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

// The opening of Gemma 3 instruction models' template (the rest only loops over turns).
const char* const kGemmaJinja =
    "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = "
    "messages[0]['content'] + '\n\n' -%}{%- set loop_messages = messages[1:] -%}{%- else -%}"
    "{%- set first_user_prefix = \"\" -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else \"\") }}";

}  // namespace

TEST_CASE("chat template: Gemma", "[chat_template][tokenizer]") {
    const ChatTemplate t = ChatTemplate::from_jinja(kGemmaJinja);
    REQUIRE(t.format() == ChatFormat::Gemma);
    CHECK(std::string(glowq::chat_format_name(t.format())) == "gemma");
    CHECK(t.apply({{"system", "Be brief."}, {"user", " Hi \n"}}, true) ==
          "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
    CHECK(t.apply({{"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}}, false) ==
          "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
          "<start_of_turn>user\nBye<end_of_turn>\n");
}

TEST_CASE("chat template: format detection", "[chat_template][tokenizer]") {
    CHECK(glowq::detect_chat_format(kSmolLM2Jinja) == ChatFormat::ChatML);
    CHECK(glowq::detect_chat_format(kLlama3Jinja) == ChatFormat::Llama3);
    CHECK(glowq::detect_chat_format(kLlama2Jinja) == ChatFormat::Llama2);
    CHECK(glowq::detect_chat_format("") == ChatFormat::ChatML);
    CHECK(glowq::detect_chat_format("{{ messages }}") == ChatFormat::ChatML);
    CHECK(std::string(glowq::chat_format_name(ChatFormat::Llama3)) == "llama3");
    // No template: the vocabulary's markers decide (Gemma 3 base models ship none).
    CHECK(glowq::detect_chat_format("", {"<pad>", "<start_of_turn>", "<end_of_turn>"}) == ChatFormat::Gemma);
    CHECK(glowq::detect_chat_format("", {"<|start_header_id|>"}) == ChatFormat::Llama3);
    CHECK(glowq::detect_chat_format("", {"a", "b"}) == ChatFormat::ChatML);
    CHECK(glowq::detect_chat_format(kSmolLM2Jinja, {"<start_of_turn>"}) == ChatFormat::ChatML);
}

TEST_CASE("chat template: ChatML with SmolLM2's default system prompt", "[chat_template][tokenizer]") {
    const ChatTemplate t = ChatTemplate::from_jinja(kSmolLM2Jinja);
    REQUIRE(t.format() == ChatFormat::ChatML);
    CHECK(t.default_system() == "You are a helpful AI assistant named SmolLM, trained by Hugging Face");

    CHECK(t.apply({{"user", "Hi!"}}, true) ==
          "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
          "<|im_start|>user\nHi!<|im_end|>\n"
          "<|im_start|>assistant\n");

    // A conversation's own system message replaces the default.
    CHECK(t.apply({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "2+2?"}}, false) ==
          "<|im_start|>system\nBe brief.<|im_end|>\n"
          "<|im_start|>user\nHi<|im_end|>\n"
          "<|im_start|>assistant\nHello.<|im_end|>\n"
          "<|im_start|>user\n2+2?<|im_end|>\n");
}

TEST_CASE("chat template: ChatML default system from an escaped template, and none", "[chat_template][tokenizer]") {
    const ChatTemplate qwen = ChatTemplate::from_jinja(
        "{% if loop.first and messages[0]['role'] != 'system' %}"
        "{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}");
    CHECK(qwen.default_system() == "You are a helpful assistant");

    // System text computed by the template is not a literal to copy.
    const ChatTemplate computed = ChatTemplate::from_jinja(
        "{{ '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}");
    CHECK(computed.default_system().empty());

    const ChatTemplate plain(ChatFormat::ChatML);
    CHECK(plain.apply({{"user", "a\nb"}}, false) == "<|im_start|>user\na\nb<|im_end|>\n");
    CHECK(plain.apply({}, true) == "<|im_start|>assistant\n");
}

TEST_CASE("chat template: Llama-3", "[chat_template][tokenizer]") {
    const ChatTemplate t = ChatTemplate::from_jinja(kLlama3Jinja);
    REQUIRE(t.format() == ChatFormat::Llama3);
    CHECK(t.default_system().empty());
    CHECK(t.apply({{"system", "You are terse."}, {"user", "  Hello \n"}}, true) ==
          "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");
    CHECK(t.apply({{"user", "Hi"}, {"assistant", "Hey"}}, false) ==
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\nHey<|eot_id|>");
}

TEST_CASE("chat template: Llama-2", "[chat_template][tokenizer]") {
    const ChatTemplate t = ChatTemplate::from_jinja(kLlama2Jinja);
    REQUIRE(t.format() == ChatFormat::Llama2);
    CHECK(t.apply({{"user", "Hello"}}, true) == "[INST] Hello [/INST]");
    CHECK(t.apply({{"system", "Answer in French."}, {"user", " Hello "}, {"assistant", " Bonjour "}, {"user", "Thanks"}},
                  true) ==
          // strip() applies to the joined system block and user text, so the user's
          // leading space survives inside it.
          "[INST] <<SYS>>\nAnswer in French.\n<</SYS>>\n\n Hello [/INST] Bonjour </s>"
          "<s>[INST] Thanks [/INST]");
    CHECK(t.apply({{"system", "Only rules."}}, false) == "[INST] <<SYS>>\nOnly rules.\n<</SYS>> [/INST]");
}

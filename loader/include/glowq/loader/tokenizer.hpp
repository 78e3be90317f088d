// Text <-> token ids for the two vocabulary families of Llama-like GGUF models:
// byte-level BPE (tokenizer.ggml.model = "gpt2": GPT-2, Llama-3, Qwen2, SmolLM2) and
// SentencePiece (tokenizer.ggml.model = "llama": Llama-2). Ids match llama.cpp's.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace glowq {

class GgufFile;

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,      // <s>, <|im_start|>, ...: matched in text only with parse_special
    UserDefined = 4,  // always matched as a whole in text, never split by BPE
    Unused = 5,
    Byte = 6,         // SentencePiece byte fallback <0xXX>
};

// Everything the tokenizers read from a GGUF's tokenizer.ggml.* keys, as plain data so
// that the tokenizers do not depend on the file reader (and tests can build one by hand).
struct TokenizerVocab {
    std::string model;  // "gpt2" | "llama"
    std::string pre;    // tokenizer.ggml.pre (BPE only): which regex splits words
    std::vector<std::string> tokens;
    std::vector<float> scores;         // SentencePiece merge priorities; may be empty for BPE
    std::vector<int32_t> token_types;  // TokenType values; empty means all Normal
    std::vector<std::string> merges;   // BPE: "left right", highest priority first
    int32_t bos = -1, eos = -1, unk = -1, pad = -1, eot = -1;
    bool add_bos = false, add_eos = false;
    bool add_space_prefix = false;  // SentencePiece: text is encoded as if after a space
    std::string chat_template;      // tokenizer.chat_template (Jinja), may be empty
};

// The token text (UTF-8) that stands for byte b in a byte-level BPE vocabulary: GPT-2's
// bytes_to_unicode, where printable bytes stand for themselves and the rest are shifted
// to U+0100.. in byte order.
std::string gpt2_byte_token(uint8_t b);

// Reads the tokenizer.ggml.* keys, filling in llama.cpp's defaults for flags the file
// omits (add_bos for SentencePiece and Llama-3, add_space_prefix for SentencePiece).
// Throws glowq::Error if the file has no tokenizer.
TokenizerVocab vocab_from_gguf(const GgufFile& file);

class Tokenizer {
public:
    // Throws glowq::Error(Unsupported) for an unknown model or pre-tokenizer type and
    // Error(InvalidArgument) for inconsistent arrays.
    explicit Tokenizer(TokenizerVocab vocab);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    // add_special: BOS/EOS as the vocabulary's add_bos/add_eos say.
    // parse_special: control tokens written in the text ("<|im_start|>") become their ids;
    // off, they are tokenized as the plain characters a user typed. User-defined tokens
    // are always matched, as llama.cpp and Hugging Face tokenizers do.
    std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                                bool parse_special = false) const;

    // The bytes one token stands for; may be part of a UTF-8 character. Control and
    // unknown tokens give "" unless special is set, then their text.
    std::string token_to_piece(int32_t id, bool special = false) const;

    // Inverse of encode: SentencePiece's added leading space is removed again at the start
    // and after special tokens, so decode(encode(t, ..)) == t for any valid UTF-8 t.
    std::string decode(const std::vector<int32_t>& ids, bool special = false) const;

    int32_t n_tokens() const;
    int32_t bos() const;
    int32_t eos() const;
    // End of generation: EOS, EOT and the turn-ending control tokens of known chat
    // formats (<|eot_id|>, <|im_end|>, <|endoftext|>, ...).
    bool is_eog(int32_t id) const;
    TokenType token_type(int32_t id) const;
    // The id of a token by its exact vocabulary text (e.g. "<|im_end|>"), or -1.
    int32_t token_id(std::string_view text) const;
    const std::string& token_text(int32_t id) const;
    const TokenizerVocab& vocab() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Turns generated tokens into text as they arrive: a token may end in the middle of a
// UTF-8 character (byte fallback, byte-level BPE), so bytes are held back until the
// character is complete and only whole, valid characters are returned. Unlike decode(),
// it keeps SentencePiece's leading space: generated text continues a prompt.
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer, bool special = false);

    // Text completed by this token; "" while a character is still partial.
    std::string push(int32_t id);
    // What is left at the end of generation; bytes that never formed a character are
    // returned as U+FFFD.
    std::string flush();
    void reset();

private:
    const Tokenizer* tokenizer_;
    bool special_;
    std::string pending_;
};

}  // namespace glowq

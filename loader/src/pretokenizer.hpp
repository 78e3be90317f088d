// The regex pre-tokenizers of byte-level BPE vocabularies, written by hand: std::regex is
// slow on long inputs and knows no \p{L}. Each kind reproduces one family of the
// tokenizer.json "Split" regexes that GGUF's tokenizer.ggml.pre names.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace glowq::detail {

enum class PreTokenizerKind {
    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    Gpt2,
    // Digits isolated first (\p{N}, Split "Isolated"), then Gpt2 inside each piece.
    // StarCoder's vocabulary, which SmolLM/SmolLM2 inherit.
    Starcoder,
    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
    //   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    Llama3,
    // Llama3 with \p{N} single digits.
    Qwen2,
};

// Maps tokenizer.ggml.pre to a kind; throws glowq::Error(Unsupported) for names it does
// not know, rather than guessing and tokenizing differently from the model's training.
PreTokenizerKind pre_tokenizer_for(const std::string& pre);

// Splits text into words (views into text) that BPE merges never cross. Concatenating
// the words gives back text exactly, whatever the bytes (invalid UTF-8 included).
std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizerKind kind);

}  // namespace glowq::detail

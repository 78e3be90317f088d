// The two subword models behind glowq::Tokenizer. Each encodes one fragment of plain text
// (special tokens already cut out by Tokenizer) and knows how its tokens map to bytes.
#pragma once
#include <glowq/loader/tokenizer.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pretokenizer.hpp"

namespace glowq::detail {

// Token text -> id, and the per-id facts both models need.
class VocabIndex {
public:
    explicit VocabIndex(const TokenizerVocab& vocab);
    int32_t find(const std::string& text) const {
        auto it = ids_.find(text);
        return it == ids_.end() ? -1 : it->second;
    }
    TokenType type(int32_t id) const {
        return types_.empty() ? TokenType::Normal : static_cast<TokenType>(types_[static_cast<size_t>(id)]);
    }
    float score(int32_t id) const { return scores_.empty() ? 0.0f : scores_[static_cast<size_t>(id)]; }
    const std::string& text(int32_t id) const { return tokens_[static_cast<size_t>(id)]; }
    int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

private:
    std::unordered_map<std::string, int32_t> ids_;
    const std::vector<std::string>& tokens_;
    const std::vector<int32_t>& types_;
    const std::vector<float>& scores_;
};

// GPT-2 style byte-level BPE: words from the regex pre-tokenizer, bytes mapped to
// printable characters, then merges applied lowest rank first.
class BpeModel {
public:
    BpeModel(const TokenizerVocab& vocab, const VocabIndex& index);
    void encode(std::string_view text, std::vector<int32_t>& out) const;
    // The bytes of a Normal token (its text with the byte-to-character mapping undone).
    std::string piece(int32_t id) const;

private:
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;

    const VocabIndex& index_;
    PreTokenizerKind pre_;
    // Llama-3's tokenizer.json sets ignore_merges: a word that is itself a token is taken
    // whole, even where the merges would not build it.
    bool ignore_merges_;
    std::unordered_map<std::string, int32_t> ranks_;  // "left right" -> rank
    std::array<std::string, 256> byte_chars_;          // byte -> UTF-8 of its stand-in
    std::unordered_map<uint32_t, uint8_t> char_bytes_;  // stand-in code point -> byte
};

// SentencePiece BPE as llama.cpp runs it: spaces become U+2581, the pair whose merge is
// the highest-scoring vocabulary piece is merged first, and characters no piece covers
// fall back to <0xXX> byte tokens.
class SpmModel {
public:
    SpmModel(const TokenizerVocab& vocab, const VocabIndex& index);
    void encode(std::string_view text, bool prefix_space, std::vector<int32_t>& out) const;
    std::string piece(int32_t id) const;

private:
    const VocabIndex& index_;
    int32_t unk_;
    std::array<int32_t, 256> byte_tokens_;
};

}  // namespace glowq::detail

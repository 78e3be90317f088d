// SentencePiece-style BPE (Llama-2 vocabularies, tokenizer.ggml.model = "llama").
#include <cstdio>
#include <queue>

#include "symbol_merge.hpp"
#include "tokenizer_models.hpp"
#include "unicode.hpp"

namespace glowq::detail {

namespace {

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

struct Candidate {
    float score;
    int32_t left, right;
    uint32_t size;
    bool operator<(const Candidate& o) const {
        // Highest score first; on a tie the leftmost pair, as SentencePiece does.
        return score != o.score ? score < o.score : left > o.left;
    }
};

// Only pieces that SentencePiece itself would produce by merging: control, byte and
// unknown pieces have texts ("<s>", "<0x41>") that must not be assembled from letters.
bool mergeable(TokenType t) {
    return t == TokenType::Normal || t == TokenType::UserDefined || t == TokenType::Undefined;
}

}  // namespace

SpmModel::SpmModel(const TokenizerVocab& vocab, const VocabIndex& index) : index_(index), unk_(vocab.unk) {
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        byte_tokens_[static_cast<size_t>(b)] = index_.find(name);
    }
}

void SpmModel::encode(std::string_view raw, bool prefix_space, std::vector<int32_t>& out) const {
    std::string text;
    text.reserve(raw.size() + 8);
    if (prefix_space) text += kSpace;
    for (char c : raw) {
        if (c == ' ') text += kSpace;
        else text += c;
    }

    std::vector<MergeSymbol> sym;
    for (const unicode::Char& ch : unicode::decode(text)) {
        const auto idx = static_cast<int32_t>(sym.size());
        sym.push_back({ch.offset, ch.size, idx - 1, idx + 1});
    }
    if (sym.empty()) return;
    sym.back().next = -1;

    std::priority_queue<Candidate> queue;
    std::string key;
    auto consider = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const MergeSymbol& a = sym[static_cast<size_t>(l)];
        const MergeSymbol& b = sym[static_cast<size_t>(r)];
        key.assign(text, a.start, a.size + b.size);
        const int32_t id = index_.find(key);
        if (id < 0 || !mergeable(index_.type(id))) return;
        queue.push({index_.score(id), l, r, a.size + b.size});
    };
    merge_symbols(sym, queue, consider);

    // Every merge made a token, so a final symbol is a token unless it is a single
    // character no piece covers: that one falls back to its bytes.
    for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) {
        const MergeSymbol& s = sym[static_cast<size_t>(i)];
        key.assign(text, s.start, s.size);
        const int32_t id = index_.find(key);
        if (id >= 0 && mergeable(index_.type(id))) {
            out.push_back(id);
            continue;
        }
        for (uint32_t k = 0; k < s.size; ++k) {
            const int32_t b = byte_tokens_[static_cast<unsigned char>(text[s.start + k])];
            out.push_back(b >= 0 ? b : unk_);
        }
    }
}

std::string SpmModel::piece(int32_t id) const {
    const TokenType type = index_.type(id);
    const std::string& text = index_.text(id);
    if (type == TokenType::Byte) {
        unsigned value = 0;
        if (std::sscanf(text.c_str(), "<0x%02X>", &value) == 1) return std::string(1, static_cast<char>(value));
        return text;
    }
    if (type == TokenType::UserDefined) return text;
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, kSpace.size(), kSpace) == 0) {
            out += ' ';
            i += kSpace.size();
        } else {
            out += text[i++];
        }
    }
    return out;
}

}  // namespace glowq::detail

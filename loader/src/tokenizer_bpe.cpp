// Byte-level BPE (GPT-2, Llama-3, Qwen2, SmolLM2).
#include <glowq/error.hpp>

#include <array>
#include <queue>

#include "symbol_merge.hpp"
#include "tokenizer_models.hpp"
#include "unicode.hpp"

namespace glowq::detail {

namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
// bytes (controls, space, soft hyphen...) are shifted to U+0100.. in byte order so that
// every byte has a visible, non-space character and merges never see whitespace.
const std::array<uint32_t, 256>& byte_stand_ins() {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        uint32_t shifted = 0;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[b] = printable ? b : 256 + shifted++;
        }
        return t;
    }();
    return table;
}

struct Candidate {
    int32_t rank;
    int32_t left, right;
    uint32_t size;  // left.size + right.size when queued: detects stale entries
    bool operator<(const Candidate& o) const {
        // priority_queue pops the largest: make that the lowest rank, then leftmost.
        return rank != o.rank ? rank > o.rank : left > o.left;
    }
};

}  // namespace

BpeModel::BpeModel(const TokenizerVocab& vocab, const VocabIndex& index)
    : index_(index), pre_(pre_tokenizer_for(vocab.pre)), ignore_merges_(pre_ == PreTokenizerKind::Llama3) {
    for (int b = 0; b < 256; ++b) {
        const uint32_t cp = byte_stand_ins()[static_cast<size_t>(b)];
        unicode::append_utf8(byte_chars_[static_cast<size_t>(b)], cp);
        char_bytes_[cp] = static_cast<uint8_t>(b);
    }

    ranks_.reserve(vocab.merges.size());
    for (size_t i = 0; i < vocab.merges.size(); ++i) {
        const std::string& m = vocab.merges[i];
        // The separator is the first space after the first character: merges of the
        // stand-in alphabet never contain a space, but be exact about a leading one.
        const size_t sep = m.find(' ', 1);
        if (sep == std::string::npos) {
            throw Error(ErrorKind::InvalidArgument, "tokenizer: malformed merge '" + m + "'");
        }
        ranks_.emplace(m, static_cast<int32_t>(i));  // first occurrence wins
    }
}

void BpeModel::encode(std::string_view text, std::vector<int32_t>& out) const {
    std::string word;
    for (std::string_view raw : pre_tokenize(text, pre_)) {
        word.clear();
        for (unsigned char b : raw) word += byte_chars_[b];
        encode_word(word, out);
    }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    std::string key;
    if (ignore_merges_) {
        key.assign(word);
        const int32_t id = index_.find(key);
        if (id >= 0) {
            out.push_back(id);
            return;
        }
    }

    // Initial symbols: one per stand-in character (2 bytes at most in UTF-8).
    std::vector<MergeSymbol> sym;
    for (uint32_t i = 0; i < word.size();) {
        const auto b = static_cast<unsigned char>(word[i]);
        const uint32_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
        const auto idx = static_cast<int32_t>(sym.size());
        sym.push_back({i, std::min<uint32_t>(n, static_cast<uint32_t>(word.size()) - i), idx - 1, idx + 1});
        i += sym.back().size;
    }
    if (sym.empty()) return;
    sym.back().next = -1;

    std::priority_queue<Candidate> queue;
    auto consider = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const MergeSymbol& a = sym[static_cast<size_t>(l)];
        const MergeSymbol& b = sym[static_cast<size_t>(r)];
        key.assign(word.substr(a.start, a.size));
        key += ' ';
        key.append(word.substr(b.start, b.size));
        auto it = ranks_.find(key);
        if (it != ranks_.end()) queue.push({it->second, l, r, a.size + b.size});
    };
    merge_symbols(sym, queue, consider);

    for (int32_t i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) {
        const MergeSymbol& s = sym[static_cast<size_t>(i)];
        key.assign(word.substr(s.start, s.size));
        const int32_t id = index_.find(key);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        // Not in the vocabulary (merges and tokens disagree): spell it byte by byte.
        for (uint32_t k = 0; k < s.size;) {
            const int len = unicode::sequence_length(word.substr(s.start + k));
            const uint32_t n = len > 0 ? static_cast<uint32_t>(len) : 1;
            const int32_t byte_id = index_.find(std::string(word.substr(s.start + k, n)));
            if (byte_id >= 0) out.push_back(byte_id);
            k += n;
        }
    }
}

std::string BpeModel::piece(int32_t id) const {
    const std::string& text = index_.text(id);
    std::string bytes;
    bytes.reserve(text.size());
    for (const unicode::Char& ch : unicode::decode(text)) {
        auto it = ch.cp == unicode::kInvalid ? char_bytes_.end() : char_bytes_.find(ch.cp);
        if (it != char_bytes_.end()) {
            bytes += static_cast<char>(it->second);
        } else {
            // Not a stand-in character (hand-made vocabularies): keep its UTF-8 as is.
            bytes.append(text, ch.offset, ch.size);
        }
    }
    return bytes;
}

}  // namespace glowq::detail

namespace glowq {

std::string gpt2_byte_token(uint8_t b) {
    std::string s;
    unicode::append_utf8(s, detail::byte_stand_ins()[b]);
    return s;
}

}  // namespace glowq

#include "pretokenizer.hpp"

#include <glowq/error.hpp>

#include "unicode.hpp"

namespace glowq::detail {

namespace {

using unicode::Char;

// The rule set of one regex family. Each rule below is one alternative of the regex, tried
// in the regex's order at each position; the first that matches wins, as in the
// leftmost-first engines (Oniguruma, fancy-regex) that the tokenizers were trained with.
struct Rules {
    bool case_insensitive_contractions;
    bool letter_prefix_any;  // [^\r\n\p{L}\p{N}]?\p{L}+ instead of ` ?\p{L}+`
    int max_digits;          // 0: ` ?\p{N}+`; n: \p{N}{1,n}
    bool newline_rules;      // `[\r\n]*` after punctuation and `\s*[\r\n]+`
};

constexpr Rules kGpt2Rules{false, false, 0, false};
constexpr Rules kLlama3Rules{true, true, 3, true};
constexpr Rules kQwen2Rules{true, true, 1, true};

constexpr uint32_t kEnd = 0xFFFFFFFE;  // past the piece being split: matches nothing

class RuleSplitter {
public:
    RuleSplitter(const std::vector<Char>& chars, size_t lo, size_t hi, const Rules& rules)
        : c_(chars), hi_(hi), r_(rules), lo_(lo) {}

    // Calls emit(begin, end) with char indices for each match, in order.
    template <class Emit>
    void run(Emit&& emit) {
        size_t pos = lo_;
        while (pos < hi_) {
            const size_t end = match(pos);
            emit(pos, end);
            pos = end;
        }
    }

private:
    uint32_t cp(size_t i) const { return i < hi_ ? c_[i].cp : kEnd; }
    // 0 outside the piece, so no class test succeeds there (lookahead sees "end of text").
    uint16_t fl(size_t i) const { return i < hi_ ? c_[i].flags : 0; }
    bool letter(size_t i) const { return fl(i) & unicode::kLetter; }
    bool number(size_t i) const { return fl(i) & unicode::kNumber; }
    bool space(size_t i) const { return fl(i) & unicode::kWhitespace; }
    // [^\s\p{L}\p{N}]
    bool other(size_t i) const {
        const uint16_t f = fl(i);
        return f != 0 && !(f & (unicode::kWhitespace | unicode::kLetter | unicode::kNumber));
    }
    bool newline(size_t i) const { return cp(i) == '\r' || cp(i) == '\n'; }
    uint32_t folded(size_t i) const {
        const uint32_t c = cp(i);
        return (r_.case_insensitive_contractions && c >= 'A' && c <= 'Z') ? c + 32 : c;
    }

    size_t contraction(size_t pos) const {
        if (cp(pos) != '\'') return 0;
        const uint32_t a = folded(pos + 1);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
        const uint32_t b = folded(pos + 2);
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
        return 0;
    }

    size_t match(size_t pos) const {
        if (size_t end = contraction(pos)) return end;

        // Letters, with an optional one-character prefix.
        if (r_.letter_prefix_any) {
            size_t s = pos;
            if (!letter(s) && !newline(s) && !number(s) && letter(s + 1)) ++s;
            if (letter(s)) {
                while (letter(s)) ++s;
                return s;
            }
        } else {
            size_t s = (cp(pos) == ' ' && letter(pos + 1)) ? pos + 1 : pos;
            if (letter(s)) {
                while (letter(s)) ++s;
                return s;
            }
        }

        // Numbers.
        if (r_.max_digits == 0) {
            size_t s = (cp(pos) == ' ' && number(pos + 1)) ? pos + 1 : pos;
            if (number(s)) {
                while (number(s)) ++s;
                return s;
            }
        } else if (number(pos)) {
            size_t s = pos;
            while (number(s) && s - pos < static_cast<size_t>(r_.max_digits)) ++s;
            return s;
        }

        // Punctuation and symbols, with an optional leading space.
        {
            size_t s = (cp(pos) == ' ' && other(pos + 1)) ? pos + 1 : pos;
            if (other(s)) {
                while (other(s)) ++s;
                if (r_.newline_rules) {
                    while (newline(s)) ++s;
                }
                return s;
            }
        }

        size_t n = 0;
        size_t last_newline_end = 0;
        while (space(pos + n)) {
            if (newline(pos + n)) last_newline_end = pos + n + 1;
            ++n;
        }
        if (n == 0) return pos + 1;  // unreachable for valid flags; never stall
        // \s*[\r\n]+ : greedy, so it ends after the run's last newline.
        if (r_.newline_rules && last_newline_end) return last_newline_end;
        // \s+(?!\S) : a run followed by a non-space gives up its last character, which
        // then becomes the prefix of the next word. A run at the end keeps everything.
        if (n > 1 && pos + n < hi_) return pos + n - 1;
        return pos + n;  // \s+
    }

    const std::vector<Char>& c_;
    size_t hi_;
    const Rules& r_;
    size_t lo_;
};

}  // namespace

PreTokenizerKind pre_tokenizer_for(const std::string& pre) {
    static const struct { const char* name; PreTokenizerKind kind; } kNames[] = {
        {"default", PreTokenizerKind::Gpt2},     {"gpt-2", PreTokenizerKind::Gpt2},
        {"gpt2", PreTokenizerKind::Gpt2},        {"phi-2", PreTokenizerKind::Gpt2},
        {"mpt", PreTokenizerKind::Gpt2},         {"olmo", PreTokenizerKind::Gpt2},
        {"starcoder", PreTokenizerKind::Starcoder}, {"smollm", PreTokenizerKind::Starcoder},
        {"refact", PreTokenizerKind::Starcoder}, {"codeshell", PreTokenizerKind::Starcoder},
        {"llama-bpe", PreTokenizerKind::Llama3}, {"llama3", PreTokenizerKind::Llama3},
        {"llama-v3", PreTokenizerKind::Llama3},  {"dbrx", PreTokenizerKind::Llama3},
        {"smaug-bpe", PreTokenizerKind::Llama3}, {"falcon3", PreTokenizerKind::Llama3},
        {"qwen2", PreTokenizerKind::Qwen2},      {"stablelm2", PreTokenizerKind::Qwen2},
        {"deepseek-r1-qwen", PreTokenizerKind::Qwen2}, {"megrez", PreTokenizerKind::Qwen2},
    };
    // A GGUF without the key predates it; GPT-2's regex is what such files were made with.
    if (pre.empty()) return PreTokenizerKind::Gpt2;
    for (const auto& n : kNames) {
        if (pre == n.name) return n.kind;
    }
    throw Error(ErrorKind::Unsupported, "tokenizer: unsupported pre-tokenizer '" + pre + "'");
}

std::vector<std::string_view> pre_tokenize(std::string_view text, PreTokenizerKind kind) {
    const std::vector<Char> chars = unicode::decode(text);
    std::vector<std::string_view> words;
    auto byte_at = [&](size_t i) { return i < chars.size() ? chars[i].offset : text.size(); };
    auto emit = [&](size_t b, size_t e) { words.push_back(text.substr(byte_at(b), byte_at(e) - byte_at(b))); };

    const Rules& rules = kind == PreTokenizerKind::Llama3  ? kLlama3Rules
                         : kind == PreTokenizerKind::Qwen2 ? kQwen2Rules
                                                           : kGpt2Rules;
    if (kind != PreTokenizerKind::Starcoder) {
        RuleSplitter(chars, 0, chars.size(), rules).run(emit);
        return words;
    }
    // Each digit is a piece of its own; the text between digits is split by the GPT-2
    // rules without seeing past the digit (so "  1" keeps both spaces together).
    size_t start = 0;
    for (size_t i = 0; i <= chars.size(); ++i) {
        const bool digit = i < chars.size() && (chars[i].flags & unicode::kNumber);
        if (i == chars.size() || digit) {
            if (start < i) RuleSplitter(chars, start, i, rules).run(emit);
            if (digit) emit(i, i + 1);
            start = i + 1;
        }
    }
    return words;
}

}  // namespace glowq::detail

// Tokenizer behaviour on small hand-made vocabularies, where every expected id can be
// worked out by hand: merge order, byte fallback, special tokens, streaming decode, errors.
#include <catch2/catch.hpp>

#include <glowq/error.hpp>
#include <glowq/loader/tokenizer.hpp>

using glowq::StreamDecoder;
using glowq::Tokenizer;
using glowq::TokenizerVocab;
using glowq::TokenType;

namespace {

// GPT-2's byte stand-ins: byte b is token b in this vocabulary.
std::string stand_in(int b) { return glowq::gpt2_byte_token(uint8_t(b)); }

TokenizerVocab byte_vocab(std::vector<std::string> merges = {}) {
    TokenizerVocab v;
    v.model = "gpt2";
    v.pre = "gpt-2";
    for (int b = 0; b < 256; ++b) v.tokens.push_back(stand_in(b));
    v.token_types.assign(256, int32_t(TokenType::Normal));
    v.merges = std::move(merges);
    for (const std::string& m : v.merges) {
        const size_t sp = m.find(' ', 1);
        v.tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
        v.token_types.push_back(int32_t(TokenType::Normal));
    }
    return v;
}

void add_token(TokenizerVocab& v, const std::string& text, TokenType type, float score = 0.0f) {
    v.tokens.push_back(text);
    v.token_types.push_back(int32_t(type));
    if (!v.scores.empty() || v.model == "llama") v.scores.push_back(score);
}

}  // namespace

TEST_CASE("tokenizer: BPE merges apply lowest rank first", "[tokenizer]") {
    // ids: 256 = "bc", 257 = "abc" when "b c" outranks "a b".
    const Tokenizer first_bc(byte_vocab({"b c", "a bc", "a b"}));
    CHECK(first_bc.encode("abc", false) == std::vector<int32_t>{257});
    // With "a b" first, "ab" forms and "a bc" can no longer apply: "ab" + "c".
    const Tokenizer first_ab(byte_vocab({"a b", "b c", "a bc"}));
    CHECK(first_ab.encode("abc", false) == std::vector<int32_t>{256, 'c'});
    // Merges never cross pre-tokenizer words: "x abc" is the words "x" and " abc".
    CHECK(first_bc.encode("x abc", false) == std::vector<int32_t>{'x', ' ', 257});
}

TEST_CASE("tokenizer: byte-level BPE keeps any bytes, even invalid UTF-8", "[tokenizer]") {
    const Tokenizer tok(byte_vocab());
    const std::string text = "a\xff\xfe b\xe2\x82 \xf0\x9f\x98\x80";
    const auto ids = tok.encode(text, false);
    CHECK(ids.size() == text.size());
    CHECK(tok.decode(ids) == text);
}

TEST_CASE("tokenizer: StreamDecoder emits whole characters only", "[tokenizer]") {
    const Tokenizer tok(byte_vocab());
    const std::string text = "h\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80";  // "hé €😀"
    StreamDecoder dec(tok);
    std::vector<std::string> outs;
    for (int32_t id : tok.encode(text, false)) outs.push_back(dec.push(id));
    CHECK(outs == std::vector<std::string>{"h", "", "\xc3\xa9", " ", "", "", "\xe2\x82\xac", "", "", "",
                                           "\xf0\x9f\x98\x80"});
    CHECK(dec.flush().empty());

    // A character cut short at the end becomes U+FFFD; an impossible byte at once.
    CHECK(dec.push(0xE2).empty());
    CHECK(dec.flush() == "\xef\xbf\xbd");
    CHECK(dec.push(0xFF) == "\xef\xbf\xbd");
    CHECK(dec.push(0xE2).empty());
    CHECK(dec.push('x') == "\xef\xbf\xbdx");
}

TEST_CASE("tokenizer: special tokens", "[tokenizer]") {
    TokenizerVocab v = byte_vocab();
    add_token(v, "<|end|>", TokenType::Control);      // 256
    add_token(v, "<|end|>x", TokenType::Control);     // 257: longer, same start
    add_token(v, "[TOOL]", TokenType::UserDefined);   // 258
    v.bos = 256;
    v.eos = 256;
    v.add_bos = true;
    const Tokenizer tok(v);

    // Control tokens need parse_special; the longest match at a position wins.
    CHECK(tok.encode("a<|end|>xb", false, true) == std::vector<int32_t>{'a', 257, 'b'});
    CHECK(tok.encode("a<|end|>b", false, true) == std::vector<int32_t>{'a', 256, 'b'});
    CHECK(tok.encode("<|end|>", false, false).size() == 7);
    // User-defined tokens are matched either way.
    CHECK(tok.encode("a[TOOL]", false, false) == std::vector<int32_t>{'a', 258});
    CHECK(tok.encode("a", true, false) == std::vector<int32_t>{256, 'a'});

    CHECK(tok.decode({256, 'a', 258}) == "a[TOOL]");
    CHECK(tok.decode({256, 'a'}, true) == "<|end|>a");
    CHECK(tok.is_eog(256));
    CHECK_FALSE(tok.is_eog('a'));
    CHECK(tok.token_id("[TOOL]") == 258);
    CHECK(tok.token_id("nope") == -1);
    CHECK(tok.token_type(258) == TokenType::UserDefined);
}

TEST_CASE("tokenizer: SentencePiece scores, space prefix and byte fallback", "[tokenizer]") {
    TokenizerVocab v;
    v.model = "llama";
    add_token(v, "<unk>", TokenType::Unknown);  // 0
    add_token(v, "<s>", TokenType::Control);    // 1
    add_token(v, "</s>", TokenType::Control);   // 2
    for (int b = 0; b < 256; ++b) {             // 3..258
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        add_token(v, name, TokenType::Byte);
    }
    const std::string sp = "\xe2\x96\x81";
    add_token(v, sp, TokenType::Normal, -1.0f);          // 259
    add_token(v, "a", TokenType::Normal, -2.0f);         // 260
    add_token(v, "b", TokenType::Normal, -2.0f);         // 261
    add_token(v, sp + "a", TokenType::Normal, -5.0f);    // 262
    add_token(v, "ab", TokenType::Normal, -3.0f);        // 263
    add_token(v, sp + "ab", TokenType::Normal, -4.0f);   // 264
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
    const Tokenizer tok(v);

    // "ab" (-3) merges before "▁a" (-5); then "▁" + "ab" -> "▁ab".
    CHECK(tok.encode("ab", false) == std::vector<int32_t>{264});
    // "é" is no piece: its two UTF-8 bytes fall back to <0xC3> <0xA9>.
    CHECK(tok.encode("a\xc3\xa9", false) == std::vector<int32_t>{262, 3 + 0xC3, 3 + 0xA9});
    CHECK(tok.encode("ab b", true) == std::vector<int32_t>{1, 264, 259, 261});
    // Decoding removes the space the encoder added, once.
    for (const std::string text : {"ab", " ab", "a\xc3\xa9 b", "  b a "}) {
        CHECK(tok.decode(tok.encode(text, true)) == text);
    }
    // "<s>" typed by a user is not the control token.
    CHECK(tok.encode("<s>", false, false) != std::vector<int32_t>{1});
    CHECK(tok.encode("<s>ab", false, true) == std::vector<int32_t>{1, 264});
}

TEST_CASE("tokenizer: malformed vocabularies are errors, not guesses", "[tokenizer]") {
    TokenizerVocab unknown_model = byte_vocab();
    unknown_model.model = "t5";
    CHECK_THROWS_AS(Tokenizer(unknown_model), glowq::Error);

    TokenizerVocab unknown_pre = byte_vocab();
    unknown_pre.pre = "no-such-regex";
    CHECK_THROWS_AS(Tokenizer(unknown_pre), glowq::Error);

    TokenizerVocab short_types = byte_vocab();
    short_types.token_types.pop_back();
    CHECK_THROWS_AS(Tokenizer(short_types), glowq::Error);

    CHECK_THROWS_AS(Tokenizer(TokenizerVocab{}), glowq::Error);
}

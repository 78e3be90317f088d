// glowq::Tokenizer: special-token splitting, BOS/EOS, dispatch to the subword model,
// and decoding (whole and streamed).
#include <glowq/error.hpp>
#include <glowq/loader/tokenizer.hpp>

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "tokenizer_models.hpp"
#include "unicode.hpp"

namespace glowq {

namespace detail {

VocabIndex::VocabIndex(const TokenizerVocab& vocab)
    : tokens_(vocab.tokens), types_(vocab.token_types), scores_(vocab.scores) {
    ids_.reserve(vocab.tokens.size());
    // On duplicate texts the last id wins, as in llama.cpp, so ids agree with it.
    for (size_t i = 0; i < vocab.tokens.size(); ++i) ids_[vocab.tokens[i]] = static_cast<int32_t>(i);
}

}  // namespace detail

namespace {

const char* const kEndOfGenerationTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "<|eom_id|>",
    "<end_of_turn>", "<|end_of_text|>", "<EOT>", "</s>", "<end_of_utterance>",
};

bool is_special_type(TokenType t) {
    return t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown;
}

}  // namespace

struct Tokenizer::Impl {
    TokenizerVocab vocab;
    detail::VocabIndex index;
    std::optional<detail::BpeModel> bpe;
    std::optional<detail::SpmModel> spm;
    // Special tokens by first byte, longest first: the text is scanned once and the
    // longest special starting at the leftmost position wins (what Hugging Face's added-
    // token matcher does; llama.cpp's longest-first passes agree except on overlaps).
    std::array<std::vector<int32_t>, 256> specials_by_byte;
    std::unordered_set<int32_t> eog;

    explicit Impl(TokenizerVocab v) : vocab(std::move(v)), index(vocab) {
        const size_t n = vocab.tokens.size();
        if (n == 0) throw Error(ErrorKind::InvalidArgument, "tokenizer: empty vocabulary");
        if (!vocab.token_types.empty() && vocab.token_types.size() != n)
            throw Error(ErrorKind::InvalidArgument, "tokenizer: token_types size differs from tokens");
        if (!vocab.scores.empty() && vocab.scores.size() != n)
            throw Error(ErrorKind::InvalidArgument, "tokenizer: scores size differs from tokens");
        for (int32_t* id : {&vocab.bos, &vocab.eos, &vocab.unk, &vocab.pad, &vocab.eot}) {
            if (*id >= static_cast<int32_t>(n)) *id = -1;  // out of range: treat as absent
        }

        if (vocab.model == "gpt2") bpe.emplace(vocab, index);
        else if (vocab.model == "llama") spm.emplace(vocab, index);
        else throw Error(ErrorKind::Unsupported, "tokenizer: unsupported model '" + vocab.model + "'");

        for (int32_t id = 0; id < static_cast<int32_t>(n); ++id) {
            const std::string& text = vocab.tokens[static_cast<size_t>(id)];
            if (is_special_type(index.type(id)) && !text.empty())
                specials_by_byte[static_cast<unsigned char>(text[0])].push_back(id);
        }
        for (auto& bucket : specials_by_byte) {
            std::stable_sort(bucket.begin(), bucket.end(), [&](int32_t a, int32_t b) {
                return vocab.tokens[static_cast<size_t>(a)].size() > vocab.tokens[static_cast<size_t>(b)].size();
            });
        }

        if (vocab.eos >= 0) eog.insert(vocab.eos);
        if (vocab.eot >= 0) eog.insert(vocab.eot);
        for (const char* t : kEndOfGenerationTexts) {
            const int32_t id = index.find(t);
            if (id >= 0 && index.type(id) == TokenType::Control) eog.insert(id);
        }
    }

    // The special token whose text starts at text[pos], or -1.
    int32_t special_at(std::string_view text, size_t pos, bool parse_special) const {
        for (int32_t id : specials_by_byte[static_cast<unsigned char>(text[pos])]) {
            if (!parse_special && index.type(id) != TokenType::UserDefined) continue;
            const std::string& s = index.text(id);
            if (text.compare(pos, s.size(), s) == 0) return id;
        }
        return -1;
    }

    void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
        if (bpe) bpe->encode(text, out);
        else spm->encode(text, vocab.add_space_prefix && after_special, out);
    }
};

Tokenizer::Tokenizer(TokenizerVocab vocab) : impl_(std::make_unique<Impl>(std::move(vocab))) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    const TokenizerVocab& v = impl_->vocab;
    if (add_special && v.add_bos && v.bos >= 0) out.push_back(v.bos);

    // SentencePiece encodes each stretch of text as if it began after a space when it
    // starts the input or follows a special token (llama.cpp's behaviour).
    bool after_special = true;
    size_t start = 0;
    for (size_t pos = 0; pos < text.size();) {
        const int32_t id = impl_->special_at(text, pos, parse_special);
        if (id < 0) {
            ++pos;
            continue;
        }
        if (pos > start) impl_->encode_text(text.substr(start, pos - start), after_special, out);
        out.push_back(id);
        after_special = true;
        pos += impl_->index.text(id).size();
        start = pos;
    }
    if (start < text.size()) {
        impl_->encode_text(text.substr(start), after_special, out);
    }

    if (add_special && v.add_eos && v.eos >= 0) out.push_back(v.eos);
    return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool special) const {
    if (id < 0 || id >= n_tokens()) return {};
    const TokenType type = impl_->index.type(id);
    if (type == TokenType::Control || type == TokenType::Unknown) {
        return special ? impl_->index.text(id) : std::string();
    }
    if (impl_->bpe) {
        if (type == TokenType::UserDefined) return impl_->index.text(id);
        return impl_->bpe->piece(id);
    }
    return impl_->spm->piece(id);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool special) const {
    std::string out;
    const bool strips = impl_->spm && impl_->vocab.add_space_prefix;
    bool strip_next = strips;
    for (int32_t id : ids) {
        std::string piece = token_to_piece(id, special);
        if (id >= 0 && id < n_tokens() && is_special_type(impl_->index.type(id))) {
            strip_next = strips;  // encode added a space after it too
            out += piece;
            continue;
        }
        if (strip_next && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
        strip_next = false;
        out += piece;
    }
    return out;
}

int32_t Tokenizer::n_tokens() const { return impl_->index.size(); }
int32_t Tokenizer::bos() const { return impl_->vocab.bos; }
int32_t Tokenizer::eos() const { return impl_->vocab.eos; }
bool Tokenizer::is_eog(int32_t id) const { return impl_->eog.count(id) != 0; }

TokenType Tokenizer::token_type(int32_t id) const {
    if (id < 0 || id >= n_tokens()) return TokenType::Undefined;
    return impl_->index.type(id);
}

int32_t Tokenizer::token_id(std::string_view text) const { return impl_->index.find(std::string(text)); }

const std::string& Tokenizer::token_text(int32_t id) const {
    if (id < 0 || id >= n_tokens()) throw Error(ErrorKind::InvalidArgument, "tokenizer: token id out of range");
    return impl_->index.text(id);
}

const TokenizerVocab& Tokenizer::vocab() const { return impl_->vocab; }

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool special) : tokenizer_(&tokenizer), special_(special) {}

std::string StreamDecoder::push(int32_t id) {
    pending_ += tokenizer_->token_to_piece(id, special_);
    std::string out;
    size_t i = 0;
    while (i < pending_.size()) {
        const int len = unicode::sequence_length(std::string_view(pending_).substr(i));
        if (len < 0) break;  // incomplete: wait for the next token's bytes
        if (len == 0) {
            unicode::append_utf8(out, 0xFFFD);
            ++i;
            continue;
        }
        out.append(pending_, i, static_cast<size_t>(len));
        i += static_cast<size_t>(len);
    }
    pending_.erase(0, i);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out;
    if (!pending_.empty()) unicode::append_utf8(out, 0xFFFD);
    pending_.clear();
    return out;
}

void StreamDecoder::reset() { pending_.clear(); }

}  // namespace glowq

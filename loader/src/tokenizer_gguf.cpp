// TokenizerVocab from a GGUF file's tokenizer.* metadata.
#include <glowq/loader/gguf.hpp>
#include <glowq/loader/tokenizer.hpp>

namespace glowq {

namespace {

int32_t optional_id(const GgufFile& f, const char* key) {
    const GgufValue* v = f.find(key);
    if (!v) return -1;
    try {
        return static_cast<int32_t>(v->to_int());
    } catch (const LoadError&) {
        return -1;  // a converter wrote a negative or odd type: same as absent
    }
}

bool optional_flag(const GgufFile& f, const char* key, bool fallback) {
    const GgufValue* v = f.find(key);
    return (v && v->type() == GgufType::BOOL) ? v->get<bool>() : fallback;
}

}  // namespace

TokenizerVocab vocab_from_gguf(const GgufFile& f) {
    TokenizerVocab v;
    if (!f.has("tokenizer.ggml.model") || !f.has("tokenizer.ggml.tokens")) {
        throw LoadError(f.name() + ": no tokenizer (tokenizer.ggml.model / tokenizer.ggml.tokens missing)");
    }
    v.model = f.get_string("tokenizer.ggml.model");
    if (f.has("tokenizer.ggml.pre")) v.pre = f.get_string("tokenizer.ggml.pre");
    v.tokens = f.get_array<std::string>("tokenizer.ggml.tokens");
    if (f.has("tokenizer.ggml.scores")) v.scores = f.get_array<float>("tokenizer.ggml.scores");
    if (f.has("tokenizer.ggml.token_type")) v.token_types = f.get_array<int32_t>("tokenizer.ggml.token_type");
    if (f.has("tokenizer.ggml.merges")) v.merges = f.get_array<std::string>("tokenizer.ggml.merges");

    v.bos = optional_id(f, "tokenizer.ggml.bos_token_id");
    v.eos = optional_id(f, "tokenizer.ggml.eos_token_id");
    v.unk = optional_id(f, "tokenizer.ggml.unknown_token_id");
    v.pad = optional_id(f, "tokenizer.ggml.padding_token_id");
    v.eot = optional_id(f, "tokenizer.ggml.eot_token_id");

    // Defaults where the file is silent are llama.cpp's, so that a prompt is tokenized
    // the way the model's usual runtime does it.
    const bool spm = v.model == "llama";
    const bool llama3 = v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3";
    v.add_bos = optional_flag(f, "tokenizer.ggml.add_bos_token", spm || llama3);
    v.add_eos = optional_flag(f, "tokenizer.ggml.add_eos_token", false);
    v.add_space_prefix = spm && optional_flag(f, "tokenizer.ggml.add_space_prefix", true);

    if (f.has("tokenizer.chat_template")) {
        const GgufValue& t = f.value("tokenizer.chat_template");
        if (t.type() == GgufType::STRING) v.chat_template = t.get<std::string>();
    }
    return v;
}

}  // namespace glowq

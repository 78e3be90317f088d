// llama.cpp's own tokenizer test vectors (tests/test-tokenizer-0): for each vocabulary, a
// .inp file of texts separated by "\n__ggml_vocab_test__\n" and a .out file with the
// expected ids of each text on its own line, produced with Hugging Face tokenizers and
// checked by llama.cpp with add_special = false, parse_special = false.
#include <glowq/loader/gguf.hpp>
#include <glowq/loader/tokenizer.hpp>

#include <sstream>

#include "gguf_test_support.hpp"
#include "tokenizer_fixtures.hpp"

namespace {

struct VocabCase {
    std::string text;
    std::vector<int32_t> ids;
};

std::vector<VocabCase> read_cases(const std::string& base, const std::string& made_by = "fetch_vocab_tests.sh") {
    const std::string inp = glowq::test::read_fetched_file(base + ".inp", made_by);
    const std::string out = glowq::test::read_fetched_file(base + ".out", made_by);

    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    for (size_t pos = 0; pos < inp.size();) {
        const size_t next = inp.find(sep, pos);
        texts.push_back(inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) break;
        pos = next + sep.size();
    }

    std::vector<VocabCase> cases;
    std::istringstream lines(out);
    std::string line;
    for (size_t i = 0; std::getline(lines, line); ++i) {
        REQUIRE(i < texts.size());
        VocabCase c{texts[i], {}};
        std::istringstream ids(line);
        for (int32_t id; ids >> id;) c.ids.push_back(id);
        cases.push_back(std::move(c));
    }
    REQUIRE(cases.size() == texts.size());
    return cases;
}

std::string show(const std::vector<int32_t>& ids) {
    std::string s;
    for (int32_t id : ids) s += std::to_string(id) + " ";
    return s;
}

glowq::Tokenizer load(const std::string& path) {
    if (!glowq::test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_vocab_tests.sh");
    const glowq::GgufFile file = glowq::GgufFile::open(path);
    return glowq::Tokenizer(glowq::vocab_from_gguf(file));
}

// Every case must give llama.cpp's ids; decoding them must give the text back exactly.
void check_cases(const std::string& name, const glowq::Tokenizer& tok, const std::vector<VocabCase>& cases,
                 bool parse_special = false) {
    size_t matched = 0;
    for (const VocabCase& c : cases) {
        const std::vector<int32_t> ids = tok.encode(c.text, /*add_special=*/false, parse_special);
        INFO(name << " text: '" << c.text << "'");
        CHECK(show(ids) == show(c.ids));
        CHECK(tok.decode(ids, /*special=*/parse_special) == c.text);
        matched += ids == c.ids;
    }
    CHECK(matched == cases.size());
}

void check_vocab(const std::string& name) {
    const std::string base = glowq::test::vocab_dir() + "/ggml-vocab-" + name + ".gguf";
    const std::vector<VocabCase> cases = read_cases(base);
    REQUIRE(cases.size() >= 40);
    check_cases(name, load(base), cases);
}


}  // namespace

// 320 texts (tests/data/gemma3_tokenizer_texts.py: English, whitespace runs, emoji, CJK and
// other scripts, code, numbers, special-token look-alikes, and random joins of them) with
// the ids llama.cpp's tokenizer gives them on Gemma 3's 262,144-token SentencePiece
// vocabulary (scripts/make_gemma3_token_vectors.sh wrote the .out file). llama-tokenize
// parses special tokens by default, so these do too: "<start_of_turn>" is one token.
TEST_CASE("tokenizer vectors: Gemma 3 against llama.cpp on 320 texts", "[tokenizer][vocab][real-model]") {
    const std::vector<VocabCase> cases =
        read_cases(glowq_test::test_data_dir() + "/gemma3-270m.tokens", "make_gemma3_token_vectors.sh");
    REQUIRE(cases.size() == 320);
    const std::string model = glowq_test::gemma3_path();
    if (!glowq::test::file_exists(model)) FAIL("missing " << model << ": run scripts/fetch_model.sh gemma3");
    check_cases("gemma3", load(model), cases, /*parse_special=*/true);
}

TEST_CASE("tokenizer vectors: gpt-2", "[tokenizer][vocab]") { check_vocab("gpt-2"); }
TEST_CASE("tokenizer vectors: llama-bpe (Llama-3)", "[tokenizer][vocab]") { check_vocab("llama-bpe"); }
TEST_CASE("tokenizer vectors: llama-spm (Llama-2)", "[tokenizer][vocab]") { check_vocab("llama-spm"); }
TEST_CASE("tokenizer vectors: qwen2", "[tokenizer][vocab]") { check_vocab("qwen2"); }
TEST_CASE("tokenizer vectors: starcoder (SmolLM2's pre-tokenizer)", "[tokenizer][vocab]") { check_vocab("starcoder"); }

TEST_CASE("tokenizer: BOS/EOS flags and special tokens from a real vocabulary", "[tokenizer][vocab]") {
    const std::string dir = glowq::test::vocab_dir();
    SECTION("Llama-2 adds BOS and a space prefix") {
        const glowq::Tokenizer tok = load(dir + "/ggml-vocab-llama-spm.gguf");
        const auto ids = tok.encode("Hello world", true, false);
        REQUIRE(ids.size() >= 2);
        CHECK(ids[0] == 1);
        CHECK(tok.decode(ids) == "Hello world");
        CHECK(tok.decode(ids, /*special=*/true) == "<s>Hello world");
        CHECK(tok.is_eog(2));
    }
    SECTION("Llama-3 adds BOS and parses header tokens only when asked") {
        const glowq::Tokenizer tok = load(dir + "/ggml-vocab-llama-bpe.gguf");
        const std::string text = "<|start_header_id|>user<|end_header_id|>";
        const auto parsed = tok.encode(text, true, true);
        REQUIRE(parsed.size() == 4);
        CHECK(parsed[0] == 128000);
        CHECK(parsed[1] == tok.token_id("<|start_header_id|>"));
        CHECK(parsed[3] == tok.token_id("<|end_header_id|>"));
        const auto plain = tok.encode(text, false, false);
        CHECK(plain.size() > 4);
        CHECK(tok.decode(plain) == text);
        CHECK(tok.decode(parsed) == "user");
        CHECK(tok.decode(parsed, true) == "<|begin_of_text|>" + text);
    }
    SECTION("Gemma 3 adds BOS and no space prefix") {
        const std::string model = glowq_test::gemma3_path();
        if (!glowq::test::file_exists(model)) FAIL("missing " << model << ": run scripts/fetch_model.sh gemma3");
        const glowq::Tokenizer tok = load(model);
        const auto ids = tok.encode("Hello world", true, false);
        REQUIRE(ids.size() == 3);
        CHECK(ids[0] == 2);
        CHECK(tok.decode(ids) == "Hello world");
        CHECK(tok.decode(ids, /*special=*/true) == "<bos>Hello world");
        CHECK(tok.is_eog(1));
        const auto turn = tok.encode("<start_of_turn>user", false, true);
        REQUIRE(turn.size() == 2);
        CHECK(turn[0] == tok.token_id("<start_of_turn>"));
        CHECK(tok.is_eog(tok.token_id("<end_of_turn>")));  // a chat turn ends generation
    }
    SECTION("Qwen2's ChatML markers") {
        const glowq::Tokenizer tok = load(dir + "/ggml-vocab-qwen2.gguf");
        const auto ids = tok.encode("<|im_start|>user\nhi<|im_end|>", false, true);
        REQUIRE(ids.size() >= 3);
        CHECK(ids.front() == 151644);
        CHECK(ids.back() == 151645);
        CHECK(tok.is_eog(151645));
        CHECK(tok.vocab().chat_template.find("<|im_start|>") != std::string::npos);
    }
}

// SmolLM2's tokenizer, read from the real model file: exact round trip of a whole novel,
// streaming decode, and a few ids checked by hand against the file's token list.
#include <glowq/loader/gguf.hpp>
#include <glowq/loader/tokenizer.hpp>

#include "tokenizer_fixtures.hpp"

namespace {

const char* const kModel = "SmolLM2-135M-Instruct.Q4_1.gguf";

glowq::Tokenizer smollm2() {
    const std::string path = glowq::test::cache_dir() + "/models/" + kModel;
    if (!glowq::test::file_exists(path)) FAIL("missing " << path << ": run scripts/fetch_model.sh");
    const glowq::GgufFile file = glowq::GgufFile::open(path);
    return glowq::Tokenizer(glowq::vocab_from_gguf(file));
}

}  // namespace

TEST_CASE("SmolLM2 tokenizer: hand-checked ids", "[tokenizer][smollm2]") {
    const glowq::Tokenizer tok = smollm2();
    CHECK(tok.vocab().pre == "smollm");
    CHECK_FALSE(tok.vocab().add_bos);  // the file says so: prompts get no BOS
    // Ids read off tokenizer.ggml.tokens: "Hello"=19556, "Ġworld"=905, "!"=17.
    CHECK(tok.encode("Hello world!") == std::vector<int32_t>{19556, 905, 17});
    // "The"=504, "Ġcat"=2644, "Ġsat"=2643, "."=30.
    CHECK(tok.encode("The cat sat.") == std::vector<int32_t>{504, 2644, 2643, 30});
    // Digits are always single tokens ("0"=32 "2"=34 "4"=36), the space stays alone ("Ġ"=216).
    CHECK(tok.encode(" 2024") == std::vector<int32_t>{216, 34, 32, 34, 36});
    // ChatML markers are control tokens: <|im_start|>=1, "user"=4093, "Ċ"=198.
    CHECK(tok.encode("<|im_start|>user\n", false, true) == std::vector<int32_t>{1, 4093, 198});
    CHECK(tok.encode("<|im_start|>", false, false).size() > 1);
    CHECK(tok.is_eog(tok.token_id("<|im_end|>")));
    CHECK(tok.is_eog(tok.eos()));
}

TEST_CASE("SmolLM2 tokenizer: botchan.txt round-trips exactly", "[tokenizer][smollm2]") {
    const glowq::Tokenizer tok = smollm2();
    const std::string text = glowq::test::read_fetched_file(glowq::test::cache_dir() + "/botchan.txt",
                                                            "fetch_botchan.sh");
    REQUIRE(text.size() > 200000);
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    // English prose runs about 4 characters a token; far off means words were split wrongly.
    CHECK(ids.size() > text.size() / 6);
    CHECK(ids.size() < text.size() / 3);
    const std::string back = tok.decode(ids);
    CHECK(back.size() == text.size());
    CHECK(back == text);

    // The same text streamed token by token: identical, and only ever whole characters.
    glowq::StreamDecoder stream(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    CHECK(streamed == text);
}

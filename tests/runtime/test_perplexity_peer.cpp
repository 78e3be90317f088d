// The CPU reference's perplexity on botchan.txt against llama-perplexity's on the same
// SmolLM2 file, same windows (-c 512 --chunks 8). Hidden ([.peer]): it needs the number
// scripts/peer_ppl.sh writes, which needs a llama.cpp build (scripts/build_llama_cpp.sh),
// and takes about a minute. Run: glowq_runtime_tests "[.peer]".
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>

#include "glowq/loader/tokenizer.hpp"
#include "glowq/model/host_weights.hpp"
#include "glowq/model/perplexity.hpp"
#include "glowq/model/reference.hpp"
#include "support/model_files.hpp"

using namespace glowq;

TEST_CASE("reference perplexity agrees with llama-perplexity within 1%", "[.peer]") {
    const std::string model = glowq_test::smollm2_path();
    const std::string text_path = glowq_test::cache_dir() + "/botchan.txt";
    const std::string peer_path = glowq_test::cache_dir() + "/peer/smollm2_botchan_c512_chunks8.ppl";
    if (!glowq_test::file_exists(model)) FAIL("missing " << model << ": run scripts/fetch_model.sh");
    if (!glowq_test::file_exists(text_path)) FAIL("missing " << text_path << ": run scripts/fetch_botchan.sh");
    if (!glowq_test::file_exists(peer_path)) FAIL("missing " << peer_path << ": run scripts/peer_ppl.sh");
    double peer_ppl = 0.0;
    std::ifstream(peer_path) >> peer_ppl;
    REQUIRE(peer_ppl > 1.0);

    std::ifstream in(text_path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();  // as llama.cpp's -f does

    const GgufFile f = GgufFile::open(model);
    const Tokenizer tok(vocab_from_gguf(f));
    const std::vector<int32_t> tokens = tok.encode(text, true, false);
    ReferenceLlama m(std::make_shared<const HostWeights>(HostWeights::load(f)), 512);

    PerplexityOptions o;
    o.ctx = 512;
    o.protocol = PplProtocol::LlamaCpp;
    o.max_windows = 8;
    o.bos = tok.vocab().add_bos ? tok.bos() : -1;
    const auto t0 = std::chrono::steady_clock::now();
    o.progress = [&](uint32_t done, uint32_t total, double ppl) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        WARN("[" << done << "/" << total << "] ppl " << ppl << ", " << s / done << " s per window");
    };
    const PerplexityResult r = perplexity(m, tokens, o);
    WARN("glowq reference: PPL = " << r.ppl << " +/- " << r.ppl_stderr << " over " << r.n_scored
                                   << " tokens; llama-perplexity: " << peer_ppl);
    CHECK(r.n_windows == 8);
    CHECK(std::fabs(r.ppl - peer_ppl) <= 0.01 * peer_ppl);
}

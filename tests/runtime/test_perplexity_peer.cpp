// glowq's perplexity on botchan.txt against llama-perplexity's on the same file, same
// windows (-c 512 --chunks 8): the CPU reference on SmolLM2, the Vulkan forward on Gemma 3.
// Hidden ([.peer]): they need the numbers `scripts/peer_ppl.sh [smollm2|gemma3]` writes,
// which need a llama.cpp build (scripts/build_llama_cpp.sh), and take about a minute
// (SmolLM2) and eight (Gemma 3's 262,144-token head on lavapipe).
// Run: glowq_runtime_tests "[.peer]".
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
#include "glowq/model/vulkan_llama.hpp"
#include "support/model_files.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

// glowq's perplexity of `forward` on botchan.txt against the number peer_ppl.sh wrote for
// `name`, within 1%.
void check_peer(const std::string& name, const GgufFile& f, Forward& forward) {
    const std::string text_path = glowq_test::cache_dir() + "/botchan.txt";
    const std::string peer_path = glowq_test::cache_dir() + "/peer/" + name + "_botchan_c512_chunks8.ppl";
    if (!glowq_test::file_exists(text_path)) FAIL("missing " << text_path << ": run scripts/fetch_botchan.sh");
    if (!glowq_test::file_exists(peer_path)) FAIL("missing " << peer_path << ": run scripts/peer_ppl.sh " << name);
    double peer_ppl = 0.0;
    std::ifstream(peer_path) >> peer_ppl;
    REQUIRE(peer_ppl > 1.0);

    std::ifstream in(text_path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();  // as llama.cpp's -f does

    const Tokenizer tok(vocab_from_gguf(f));
    const std::vector<int32_t> tokens = tok.encode(text, true, false);

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
    const PerplexityResult r = perplexity(forward, tokens, o);
    WARN("glowq " << name << ": PPL = " << r.ppl << " +/- " << r.ppl_stderr << " over " << r.n_scored
                  << " tokens; llama-perplexity: " << peer_ppl);
    CHECK(r.n_windows == 8);
    CHECK(std::fabs(r.ppl - peer_ppl) <= 0.01 * peer_ppl);
}

}  // namespace

TEST_CASE("reference perplexity agrees with llama-perplexity within 1% (SmolLM2)", "[.peer]") {
    const std::string model = glowq_test::smollm2_path();
    if (!glowq_test::file_exists(model)) FAIL("missing " << model << ": run scripts/fetch_model.sh");
    const GgufFile f = GgufFile::open(model);
    ReferenceLlama m(std::make_shared<const HostWeights>(HostWeights::load(f)), 512);
    check_peer("smollm2", f, m);
}

TEST_CASE_METHOD(test::VkFixture, "Vulkan perplexity agrees with llama-perplexity within 1% (Gemma 3)", "[.peer]") {
    const std::string model = glowq_test::gemma3_path();
    if (!glowq_test::file_exists(model)) FAIL("missing " << model << ": run scripts/fetch_model.sh gemma3");
    const GgufFile f = GgufFile::open(model);
    VulkanModelOptions vo;
    vo.max_context = 512;
    VulkanLlama m(ctx, f, vo);
    check_peer("gemma3", f, m);
}

// The C++ embedding API beyond what the C tests reach: running on an adopted device (a
// host app's instance, device and queue, with the host's queue lock), the chat's KV-prefix
// reuse, regenerate, edit and trimming, and the device-memory estimate used to refuse
// models that do not fit. SmolLM2 on the device present, validation on.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>

#include "glowq/chat.hpp"
#include "glowq/error.hpp"
#include "support/model_files.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

std::shared_ptr<Engine> engine_with_validation(std::shared_ptr<vk::AdoptedDevice> adopt = {}) {
    EngineOptions o;
    o.limits = test::context_options().limits;
    o.validation = !adopt;
    o.adopt = std::move(adopt);
    return std::make_shared<Engine>(o);
}

std::vector<int32_t> greedy(Session& s, const std::string& text, uint32_t n) {
    SamplerParams sp;
    sp.temperature = 0;
    GenerateOptions go;
    go.max_tokens = n;
    const Tokenizer& tok = s.model().tokenizer();
    return s.generate(tok.encode(text, true, false), sp, go).tokens;
}

SamplerParams greedy_params() {
    SamplerParams sp;
    sp.temperature = 0;
    return sp;
}

}  // namespace

TEST_CASE("a model runs on an adopted device through the host's queue lock", "[embedding]") {
    // The "host": the test fixture's context, whose instance, device and queue it owns.
    vk::Context& host = test::context();
    std::mutex queue_mutex;
    std::atomic<int> locks{0};
    auto adopt = std::make_shared<vk::AdoptedDevice>();
    adopt->instance = VK_NULL_HANDLE;
    adopt->physical = host.physical_device();
    adopt->device = host.device();
    adopt->queue = host.queue();
    adopt->queue_family = host.queue_family();
    adopt->lock = [&] {
        queue_mutex.lock();
        ++locks;
    };
    adopt->unlock = [&] { queue_mutex.unlock(); };
    // The instance handle is only checked for presence; the fixture does not expose its own.
    adopt->instance = reinterpret_cast<VkInstance>(uintptr_t(1));

    std::vector<int32_t> own_tokens, adopted_tokens;
    {
        auto engine = engine_with_validation();
        Session s(Model::load_file(engine, glowq_test::smollm2_path()), {256, 32});
        own_tokens = greedy(s, "The capital of France is", 8);
    }
    host.clear_validation_messages();
    {
        auto engine = engine_with_validation(adopt);
        CHECK(engine->context().adopted());
        Session s(Model::load_file(engine, glowq_test::smollm2_path()), {256, 32});
        adopted_tokens = greedy(s, "The capital of France is", 8);
    }
    CHECK(locks.load() > 0);
    CHECK(adopted_tokens == own_tokens);
    // The adopted device is the host's: still usable after the engine is gone.
    vk::Allocator alloc(host);
    const float one = 1.0f;
    vk::Buffer b = alloc.upload(&one, 4);
    CHECK(alloc.read_all<float>(b)[0] == 1.0f);
    CHECK(host.validation_messages().empty());
}

TEST_CASE("chat reuses the cached prefix, regenerates, edits and trims to the context", "[embedding]") {
    auto engine = engine_with_validation();
    auto model = Model::load_file(engine, glowq_test::smollm2_path());
    GenerateOptions go;
    go.max_tokens = 12;

    ChatOptions co;
    co.session = {320, 64};
    Chat chat(model, co);
    const GenerateResult first = chat.send("What is the capital of France?", greedy_params(), go);
    CHECK(first.text.find("Paris") != std::string::npos);
    const uint32_t used = chat.tokens_used();
    const GenerateResult second = chat.send("And of Italy?", greedy_params(), go);
    // Only the new turn is evaluated: the first turn's tokens stay in the cache.
    CHECK(second.prompt_tokens < used / 2);
    REQUIRE(chat.messages().size() == 4);

    const std::string reply = chat.messages().back().content;
    const GenerateResult again = chat.regenerate(greedy_params(), go);
    CHECK(again.text == reply);
    CHECK(chat.messages().size() == 4);

    chat.edit(0, "What is the capital of Germany?");
    CHECK(chat.messages().size() == 1);
    const GenerateResult edited = chat.regenerate(greedy_params(), go);
    CHECK(edited.text.find("Berlin") != std::string::npos);
    CHECK(chat.messages().size() == 2);

    CHECK_THROWS_AS(chat.edit(99, "x"), Error);

    // A conversation longer than the context: the oldest messages go, the chat carries on.
    co.session = {128, 64};
    Chat small(model, co);
    go.max_tokens = 8;
    size_t sent = 0;
    for (; sent < 4; ++sent) {
        small.send("Name a large city in Europe and tell me one fact about it, please.", greedy_params(), go);
        CHECK(small.tokens_used() < small.context());
    }
    CHECK(small.messages().size() < 2 * sent);
    CHECK(small.messages().back().role == "assistant");
    CHECK(small.messages()[small.messages().size() - 2].role == "user");
}

TEST_CASE("the device-memory estimate is close to what a model uploads", "[embedding]") {
    const GgufFile f = GgufFile::open(glowq_test::smollm2_path());
    auto engine = engine_with_validation();
    auto model = Model::load_file(engine, glowq_test::smollm2_path());
    const double estimate = double(estimate_device_bytes(f));
    const double actual = double(model->weights()->weight_bytes());
    CHECK(estimate > actual * 0.95);
    CHECK(estimate < actual * 1.15);
    CHECK(engine->context().available_device_memory() > 0);
}

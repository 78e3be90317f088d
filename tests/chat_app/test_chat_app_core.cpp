// The desktop app's UI-free parts: the conversation store (JSON round trip, atomic
// writes, corrupt files reported and skipped), edit and regenerate truncation, and the
// event queue between the worker and the UI thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "conversation_store.hpp"
#include "event_queue.hpp"
#include "support/model_files.hpp"

using namespace glowq::chat_app;

namespace {

Conversation sample() {
    Conversation c;
    c.id = "chat-1";
    c.title = "Capitals \"quoted\" and üñí";
    c.system_prompt = "Be brief.\nVery brief.";
    c.messages = {{"user", "What is the capital of France?"}, {"assistant", "Paris.\n```\ncode\n```", 812.5, 7.25, 3},
                  {"user", "And Italy?"}, {"assistant", "Rome.", 400, 8, 2}};
    return c;
}

}  // namespace

TEST_CASE("conversations round-trip through JSON files, newest first", "[chat_app]") {
    const std::string dir = glowq_test::temp_path("conversations");
    std::filesystem::remove_all(dir);
    ConversationStore store(dir);
    Conversation a = sample();
    a.id = store.new_id();
    store.save(a);
    Conversation b = sample();
    b.id = store.new_id();
    b.title = "second";
    CHECK(b.id != a.id);
    store.save(b);
    std::filesystem::last_write_time(dir + "/" + b.id + ".json",
                                     std::filesystem::last_write_time(dir + "/" + a.id + ".json") + std::chrono::seconds(5));
    std::vector<std::string> problems;
    const auto all = store.load_all(problems);
    CHECK(problems.empty());
    REQUIRE(all.size() == 2);
    CHECK(all[0].title == "second");
    const Conversation& r = all[1];
    CHECK(r.title == a.title);
    CHECK(r.system_prompt == a.system_prompt);
    REQUIRE(r.messages.size() == 4);
    CHECK(r.messages[1].content == a.messages[1].content);
    CHECK(r.messages[1].ttfb_ms == Approx(812.5));
    CHECK(r.messages[1].tokens == 3);
    CHECK_FALSE(std::filesystem::exists(dir + "/" + a.id + ".json.tmp"));
    store.remove(a.id);
    problems.clear();
    CHECK(store.load_all(problems).size() == 1);
    std::filesystem::remove_all(dir);
}

TEST_CASE("a corrupt conversation file is reported and skipped", "[chat_app]") {
    const std::string dir = glowq_test::temp_path("conversations_bad");
    std::filesystem::remove_all(dir);
    ConversationStore store(dir);
    store.save(sample());
    std::ofstream(dir + "/torn.json") << "{\"version\": 1, \"messages\": [{\"role\": \"user\", \"cont";
    std::ofstream(dir + "/other.json") << "{\"version\": 1, \"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}";
    std::vector<std::string> problems;
    const auto all = store.load_all(problems);
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == "chat-1");
    REQUIRE(problems.size() == 2);
    for (const auto& p : problems) CHECK(p.find("skipped") != std::string::npos);
    CHECK_THROWS(from_json("[]", "x"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("edit drops what followed the edited message, regenerate drops the last reply", "[chat_app]") {
    Conversation c = sample();
    edit_and_truncate(c, 2, "And Spain?");
    REQUIRE(c.messages.size() == 3);
    CHECK(c.messages.back().content == "And Spain?");
    drop_last_reply(c);  // ends with a user message: nothing to drop
    CHECK(c.messages.size() == 3);
    c.messages.push_back({"assistant", "Madrid."});
    drop_last_reply(c);
    CHECK(c.messages.size() == 3);
    CHECK_THROWS(edit_and_truncate(c, 7, "x"));
}

TEST_CASE("the event queue hands every event from a worker thread to the UI in order", "[chat_app]") {
    std::atomic<int> wakes{0};
    EventQueue<int> q([&] { ++wakes; });
    std::thread worker([&] {
        for (int i = 0; i < 1000; ++i) q.push(i);
    });
    std::vector<int> got;
    while (got.size() < 1000) {
        auto batch = q.drain();
        got.insert(got.end(), batch.begin(), batch.end());
    }
    worker.join();
    for (int i = 0; i < 1000; ++i) REQUIRE(got[size_t(i)] == i);
    CHECK(wakes.load() == 1000);
    CHECK(q.drain().empty());
}

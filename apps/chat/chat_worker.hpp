// The model side of the app, on its own thread: loads models (progress, cancel), answers
// conversations through glowq::Chat on the app's own Vulkan device and queue (adopted by
// the engine, sharing the window's queue lock), and reports to the UI through events.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "conversation_store.hpp"
#include "event_queue.hpp"
#include "glowq/chat.hpp"

namespace glowq::chat_app {

struct ModelFacts {
    std::string path, architecture, method = "none";
    uint32_t rank = 0, units_corrected = 0, context = 0;
    uint64_t weight_bytes = 0, correction_bytes = 0, kv_bytes = 0;
};

struct Event {
    enum Kind { LoadProgress, Loaded, LoadFailed, Piece, Done, Failed } kind;
    std::string text;  // piece, error message
    float progress = 0;
    ModelFacts facts;        // Loaded
    GenerateResult result;   // Done
    uint32_t context_used = 0;
};

struct GenerateRequest {
    Conversation conversation;  // ends with the user message to answer
    SamplerParams sampler;
    uint32_t max_tokens = 512;
};

class ChatWorker {
public:
    ChatWorker(std::shared_ptr<Engine> engine, uint32_t context, std::function<void()> wake);
    ~ChatWorker();  // cancels what runs and joins

    void load(const std::string& path);     // cancels a generation first
    void generate(GenerateRequest request);
    void cancel();                          // the generation or the load in progress
    bool busy() const { return busy_.load(); }
    EventQueue<Event>& events() { return events_; }

private:
    void run();
    void do_load(const std::string& path);
    void do_generate(const GenerateRequest& r);

    std::shared_ptr<Engine> engine_;
    uint32_t context_;
    EventQueue<Event> events_;
    std::shared_ptr<const Model> model_;
    std::unique_ptr<Chat> chat_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    // cancel_reply_ covers a Stop that arrives before the session starts the reply (the
    // session clears its own flag when a call begins); it is reset as each job starts.
    std::atomic<bool> busy_{false}, cancel_load_{false}, cancel_reply_{false}, stop_{false};
    std::thread thread_;
};

}  // namespace glowq::chat_app

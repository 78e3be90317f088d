// The chat window's state and its Dear ImGui drawing: conversations in a sidebar, the
// messages with per-reply timing, the input with Send/Stop, regenerate and edit, model
// choice with a progress bar, sampler settings, and a status line with the device and
// the model's GlowQ facts. Everything here runs on the UI thread and never waits on the
// model: the worker's events are drained once per frame.
#pragma once
#include <imgui.h>

#include <string>
#include <vector>

#include "chat_worker.hpp"
#include "conversation_store.hpp"

namespace glowq::chat_app {

struct AppOptions {
    std::string model_path;  // loaded at start when set
    std::string device_name;
    std::string conversation_dir;
    uint32_t context = 2048;
    float temperature = 0.7f;
    int max_tokens = 512;
};

class App {
public:
    App(ChatWorker& worker, const AppOptions& options, ImFont* mono);

    void draw(float frame_ms);     // one frame of UI; drains the worker's events first
    void send(const std::string& text);  // as if typed and sent
    bool generating() const { return generating_; }
    bool model_ready() const { return model_loaded_ && !loading_; }
    const std::string& last_error() const { return error_; }
    bool failed() const { return failed_; }  // the last load or reply failed
    const Conversation& current() const { return conversations_[current_]; }
    const ModelFacts& facts() const { return facts_; }
    size_t replies_done() const { return replies_done_; }

private:
    void handle(Event& e);
    void start_reply();
    void load(const std::string& path);
    void save_current();
    void new_conversation();
    void draw_sidebar();
    void draw_model_bar();
    void draw_settings();
    void draw_messages();
    void draw_input();
    void draw_status(float frame_ms);
    void draw_text_with_code(const std::string& text);

    ChatWorker& worker_;
    AppOptions options_;
    ImFont* mono_;
    ConversationStore store_;
    std::vector<Conversation> conversations_;
    size_t current_ = 0;
    std::vector<std::string> recent_models_;
    char model_path_[1024] = {};
    char input_[8192] = {};
    char rename_[256] = {};
    char system_[4096] = {};
    char edit_[8192] = {};
    int editing_ = -1;
    SamplerParams sampler_;
    int max_tokens_ = 512;
    bool failed_ = false;
    bool generating_ = false, loading_ = false, model_loaded_ = false, scroll_to_bottom_ = false;
    float load_progress_ = 0;
    std::string error_;
    ModelFacts facts_;
    uint32_t context_used_ = 0;
    size_t replies_done_ = 0;
};

std::string default_model_path();  // the main job's GlowQ SmolLM2 in the cache

}  // namespace glowq::chat_app

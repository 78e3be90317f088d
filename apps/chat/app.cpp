#include "app.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace glowq::chat_app {

namespace {

void copy_to(char* dst, size_t n, const std::string& s) {
    std::snprintf(dst, n, "%s", s.c_str());
}

std::string mib(uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / 1048576.0);
    return buf;
}

}  // namespace

std::string default_model_path() {
    const char* cache = std::getenv("GLOWQ_CACHE");
    const char* home = std::getenv("HOME");
    const std::string dir = cache && *cache ? cache : std::string(home ? home : ".") + "/.cache/glowq";
    const std::string glowq = dir + "/models/SmolLM2-135M-Instruct.glowq-r64-g128.gguf";
    if (std::ifstream(glowq)) return glowq;
    return dir + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

App::App(ChatWorker& worker, const AppOptions& options, ImFont* mono)
    : worker_(worker), options_(options), mono_(mono), store_(options.conversation_dir) {
    std::vector<std::string> problems;
    conversations_ = store_.load_all(problems);
    if (!problems.empty()) error_ = problems.front();
    if (conversations_.empty()) new_conversation();
    copy_to(system_, sizeof system_, conversations_[0].system_prompt);
    sampler_.temperature = options.temperature;
    max_tokens_ = options.max_tokens;
    recent_models_ = {default_model_path()};
    copy_to(model_path_, sizeof model_path_, options.model_path.empty() ? default_model_path() : options.model_path);
    if (!options.model_path.empty()) load(options.model_path);
}

void App::new_conversation() {
    Conversation c;
    c.id = store_.new_id();
    c.title = "New chat";
    conversations_.insert(conversations_.begin(), c);
    current_ = 0;
    editing_ = -1;
    system_[0] = '\0';
}

void App::save_current() {
    try {
        store_.save(conversations_[current_]);
    } catch (const std::exception& e) {
        error_ = e.what();
    }
}

void App::load(const std::string& path) {
    // A reply in progress is cancelled by the worker first; its last event still arrives
    // and ends it here (generating_ stays set until then, so the conversation cannot change).
    worker_.load(path);
    loading_ = true;
    load_progress_ = 0;
    error_.clear();
    if (std::find(recent_models_.begin(), recent_models_.end(), path) == recent_models_.end())
        recent_models_.insert(recent_models_.begin(), path);
}

void App::send(const std::string& text) {
    if (text.empty() || generating_ || !model_ready()) return;
    Conversation& c = conversations_[current_];
    if (c.messages.empty()) c.title = text.substr(0, 40);
    c.messages.push_back({"user", text});
    start_reply();
}

void App::start_reply() {
    Conversation& c = conversations_[current_];
    c.system_prompt = system_;
    GenerateRequest r;
    r.conversation = c;
    r.sampler = sampler_;
    r.max_tokens = uint32_t(max_tokens_);
    c.messages.push_back({"assistant", ""});
    generating_ = true;
    editing_ = -1;
    scroll_to_bottom_ = true;
    worker_.generate(std::move(r));
}

void App::handle(Event& e) {
    switch (e.kind) {
        case Event::LoadProgress: load_progress_ = e.progress; break;
        case Event::Loaded:
            failed_ = false;
            loading_ = false;
            model_loaded_ = true;
            facts_ = e.facts;
            break;
        case Event::LoadFailed:
            failed_ = true;
            loading_ = false;
            model_loaded_ = false;
            error_ = e.text;
            break;
        case Event::Piece:
            if (generating_) conversations_[current_].messages.back().content += e.text;
            scroll_to_bottom_ = true;
            break;
        case Event::Done: {
            Conversation& c = conversations_[current_];
            generating_ = false;
            if (!e.text.empty()) {  // stopped before its first token (the worker says so in text)
                c.messages.pop_back();
                ++replies_done_;
                save_current();
                break;
            }
            Message& m = c.messages.back();
            m.content = e.result.text;
            m.ttfb_ms = e.result.ttfb_ms;
            m.tokens_per_s = e.result.decode_tokens_per_s();
            m.tokens = uint32_t(e.result.tokens.size());
            context_used_ = e.context_used;
            generating_ = false;
            ++replies_done_;
            save_current();
            break;
        }
        case Event::Failed:
            failed_ = true;
            if (generating_ && conversations_[current_].messages.back().content.empty())
                conversations_[current_].messages.pop_back();
            generating_ = false;
            error_ = e.text;
            save_current();
            break;
    }
}

void App::draw(float frame_ms) {
    for (Event& e : worker_.events().drain()) handle(e);
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->WorkPos);
    ImGui::SetNextWindowSize(vp->WorkSize);
    ImGui::Begin("glowq", nullptr,
                 ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBringToFrontOnFocus);
    const float status_h = ImGui::GetFrameHeightWithSpacing() * 2;
    ImGui::BeginChild("sidebar", ImVec2(ImGui::GetFontSize() * 14, -status_h), true);
    draw_sidebar();
    ImGui::EndChild();
    ImGui::SameLine();
    ImGui::BeginChild("main", ImVec2(0, -status_h), false);
    draw_model_bar();
    draw_settings();
    const float input_h = ImGui::GetFrameHeightWithSpacing() * 4;
    ImGui::BeginChild("messages", ImVec2(0, -input_h), true);
    draw_messages();
    ImGui::EndChild();
    draw_input();
    ImGui::EndChild();
    draw_status(frame_ms);
    ImGui::End();
}

void App::draw_sidebar() {
    if (ImGui::Button("+ New chat", ImVec2(-1, 0)) && !generating_) new_conversation();
    ImGui::Separator();
    for (size_t i = 0; i < conversations_.size(); ++i) {
        ImGui::PushID(int(i));
        if (ImGui::Selectable(conversations_[i].title.c_str(), i == current_) && !generating_ && i != current_) {
            current_ = i;
            copy_to(system_, sizeof system_, conversations_[i].system_prompt);
            editing_ = -1;
        }
        ImGui::PopID();
    }
    ImGui::Separator();
    ImGui::InputText("##rename", rename_, sizeof rename_);
    if (ImGui::Button("Rename") && rename_[0]) {
        conversations_[current_].title = rename_;
        rename_[0] = '\0';
        save_current();
    }
    ImGui::SameLine();
    if (ImGui::Button("Delete") && !generating_) {
        store_.remove(conversations_[current_].id);
        conversations_.erase(conversations_.begin() + long(current_));
        if (conversations_.empty()) new_conversation();
        current_ = 0;
        editing_ = -1;
    }
}

void App::draw_model_bar() {
    ImGui::SetNextItemWidth(-ImGui::GetFontSize() * 12);
    ImGui::InputText("##model", model_path_, sizeof model_path_);
    ImGui::SameLine();
    if (ImGui::Button("Load") && !loading_) load(model_path_);
    ImGui::SameLine();
    if (ImGui::BeginCombo("##recent", "Recent", ImGuiComboFlags_NoPreview)) {
        for (const auto& r : recent_models_)
            if (ImGui::Selectable(r.c_str())) copy_to(model_path_, sizeof model_path_, r);
        ImGui::EndCombo();
    }
    if (loading_) {
        ImGui::ProgressBar(load_progress_, ImVec2(-ImGui::GetFontSize() * 6, 0), "loading");
        ImGui::SameLine();
        if (ImGui::Button("Cancel")) worker_.cancel();
    }
    if (!error_.empty()) {
        ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.45f, 0.4f, 1.0f));
        ImGui::TextWrapped("%s", error_.c_str());
        ImGui::PopStyleColor();
    }
}

void App::draw_settings() {
    if (!ImGui::CollapsingHeader("System prompt and sampling")) return;
    ImGui::InputTextMultiline("system prompt", system_, sizeof system_, ImVec2(-ImGui::GetFontSize() * 8, ImGui::GetTextLineHeight() * 3));
    ImGui::SliderFloat("temperature", &sampler_.temperature, 0.0f, 2.0f);
    ImGui::SliderInt("top-k", &sampler_.top_k, 0, 200);
    ImGui::SliderFloat("top-p", &sampler_.top_p, 0.0f, 1.0f);
    ImGui::SliderFloat("min-p", &sampler_.min_p, 0.0f, 1.0f);
    ImGui::SliderFloat("repeat penalty", &sampler_.repeat_penalty, 1.0f, 2.0f);
    ImGui::SliderInt("max tokens", &max_tokens_, 1, 4096);
    int seed = int(sampler_.seed);
    if (ImGui::InputInt("seed", &seed)) sampler_.seed = uint64_t(std::max(0, seed));
}

// Fenced code blocks (```) in the monospace font, the rest wrapped.
void App::draw_text_with_code(const std::string& text) {
    size_t at = 0;
    bool code = false;
    while (at <= text.size()) {
        const size_t fence = text.find("```", at);
        const std::string part = text.substr(at, fence == std::string::npos ? std::string::npos : fence - at);
        if (!part.empty()) {
            if (code) {
                ImGui::PushFont(mono_);
                ImGui::TextUnformatted(part.c_str());
                ImGui::PopFont();
            } else {
                ImGui::TextWrapped("%s", part.c_str());
            }
        }
        if (fence == std::string::npos) break;
        at = text.find('\n', fence);  // the fence line (and its language tag) is not shown
        at = at == std::string::npos ? text.size() + 1 : at + 1;
        code = !code;
    }
}

void App::draw_messages() {
    Conversation& c = conversations_[current_];
    for (size_t i = 0; i < c.messages.size(); ++i) {
        Message& m = c.messages[i];
        ImGui::PushID(int(i));
        const bool user = m.role == "user";
        ImGui::TextColored(user ? ImVec4(0.55f, 0.75f, 1.0f, 1.0f) : ImVec4(0.6f, 0.95f, 0.6f, 1.0f), "%s",
                           user ? "You" : "Assistant");
        ImGui::SameLine();
        if (ImGui::SmallButton("Copy")) ImGui::SetClipboardText(m.content.c_str());
        if (user && !generating_) {
            ImGui::SameLine();
            if (ImGui::SmallButton("Edit")) {
                editing_ = int(i);
                copy_to(edit_, sizeof edit_, m.content);
            }
        }
        if (editing_ == int(i)) {
            ImGui::InputTextMultiline("##edit", edit_, sizeof edit_, ImVec2(-1, ImGui::GetTextLineHeight() * 4));
            if (ImGui::Button("Resend") && model_ready() && !generating_) {
                edit_and_truncate(c, i, edit_);
                editing_ = -1;
                start_reply();
                ImGui::PopID();
                break;
            }
            ImGui::SameLine();
            if (ImGui::Button("Cancel edit")) editing_ = -1;
        } else {
            draw_text_with_code(m.content.empty() && !user ? "..." : m.content);
        }
        if (!user && m.tokens)
            ImGui::TextDisabled("TTFB %.0f ms, %.1f tokens/s, %u tokens", m.ttfb_ms, m.tokens_per_s, m.tokens);
        ImGui::Separator();
        ImGui::PopID();
    }
    if (scroll_to_bottom_) {
        ImGui::SetScrollHereY(1.0f);
        scroll_to_bottom_ = false;
    }
}

void App::draw_input() {
    ImGui::InputTextMultiline("##input", input_, sizeof input_,
                              ImVec2(-ImGui::GetFontSize() * 9, ImGui::GetFrameHeightWithSpacing() * 3));
    ImGui::SameLine();
    ImGui::BeginGroup();
    if (generating_) {
        if (ImGui::Button("Stop", ImVec2(ImGui::GetFontSize() * 8, 0))) worker_.cancel();
    } else if (ImGui::Button("Send", ImVec2(ImGui::GetFontSize() * 8, 0)) && input_[0] && model_ready()) {
        send(input_);
        input_[0] = '\0';
    }
    const Conversation& c = conversations_[current_];
    if (ImGui::Button("Regenerate", ImVec2(ImGui::GetFontSize() * 8, 0)) && !generating_ && model_ready() &&
        !c.messages.empty()) {
        drop_last_reply(conversations_[current_]);
        start_reply();
    }
    ImGui::EndGroup();
}

void App::draw_status(float frame_ms) {
    ImGui::Separator();
    ImGui::Text("%s", options_.device_name.c_str());
    ImGui::SameLine();
    if (model_loaded_) {
        ImGui::Text("| memory %s weights + %s KV | %s", mib(facts_.weight_bytes).c_str(), mib(facts_.kv_bytes).c_str(),
                    facts_.architecture.c_str());
        ImGui::SameLine();
        if (facts_.method == "none")
            ImGui::Text("| int4, no GlowQ corrections");
        else
            ImGui::Text("| GlowQ %s r%u, %u units corrected, corrections %s", facts_.method.c_str(), facts_.rank,
                        facts_.units_corrected, mib(facts_.correction_bytes).c_str());
        ImGui::Text("context %u / %u", context_used_, facts_.context);
        ImGui::SameLine();
        ImGui::ProgressBar(facts_.context ? float(context_used_) / float(facts_.context) : 0.0f,
                           ImVec2(ImGui::GetFontSize() * 10, 0), "");
        ImGui::SameLine();
    } else {
        ImGui::Text("| no model loaded");
    }
    ImGui::Text("frame %.1f ms", frame_ms);
}

}  // namespace glowq::chat_app

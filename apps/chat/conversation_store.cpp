#include "conversation_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "glowq/loader/atomic_file.hpp"

namespace glowq::chat_app {

namespace fs = std::filesystem;
using nlohmann::json;

std::string default_conversation_dir() {
    const char* xdg = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    const std::string base = xdg && *xdg ? xdg : std::string(home ? home : ".") + "/.local/share";
    return base + "/glowq/conversations";
}

ConversationStore::ConversationStore(std::string dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

std::string to_json(const Conversation& c) {
    json j;
    j["version"] = 1;
    j["title"] = c.title;
    j["system_prompt"] = c.system_prompt;
    j["messages"] = json::array();
    for (const Message& m : c.messages) {
        json jm{{"role", m.role}, {"content", m.content}};
        if (m.role == "assistant") {
            jm["ttfb_ms"] = m.ttfb_ms;
            jm["tokens_per_s"] = m.tokens_per_s;
            jm["tokens"] = m.tokens;
        }
        j["messages"].push_back(jm);
    }
    return j.dump(2);
}

Conversation from_json(const std::string& text, const std::string& id) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("not valid JSON: ") + e.what());
    }
    if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("messages") || !j["messages"].is_array())
        throw std::runtime_error("not a glowq conversation (version 1 with a messages array)");
    Conversation c;
    c.id = id;
    try {
        c.title = j.value("title", std::string("Untitled"));
        c.system_prompt = j.value("system_prompt", std::string());
        for (const json& jm : j["messages"]) {
            Message m;
            m.role = jm.at("role").get<std::string>();
            m.content = jm.at("content").get<std::string>();
            if (m.role != "user" && m.role != "assistant") throw std::runtime_error("a message has role '" + m.role + "'");
            m.ttfb_ms = jm.value("ttfb_ms", 0.0);
            m.tokens_per_s = jm.value("tokens_per_s", 0.0);
            m.tokens = jm.value("tokens", 0u);
            c.messages.push_back(std::move(m));
        }
    } catch (const json::exception& e) {
        throw std::runtime_error(std::string("malformed conversation: ") + e.what());
    }
    return c;
}

std::vector<Conversation> ConversationStore::load_all(std::vector<std::string>& problems) const {
    std::vector<std::pair<fs::file_time_type, Conversation>> found;
    for (const auto& entry : fs::directory_iterator(dir_)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
        std::ifstream f(entry.path());
        std::stringstream ss;
        ss << f.rdbuf();
        try {
            found.emplace_back(entry.last_write_time(), from_json(ss.str(), entry.path().stem().string()));
        } catch (const std::exception& e) {
            problems.push_back(entry.path().string() + ": " + e.what() + " (skipped)");
        }
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<Conversation> out;
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
}

void ConversationStore::save(const Conversation& c) const {
    const std::string path = dir_ + "/" + c.id + ".json";
    try {
        write_file_atomic(path, to_json(c));
    } catch (const std::exception& e) {
        throw std::runtime_error(path + ": cannot write the conversation (" + e.what() + ")");
    }
}

void ConversationStore::remove(const std::string& id) const { fs::remove(dir_ + "/" + id + ".json"); }

std::string ConversationStore::new_id() const {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
    std::string id = "chat-" + std::to_string(ms);
    for (int i = 2; fs::exists(dir_ + "/" + id + ".json"); ++i) id = "chat-" + std::to_string(ms) + "-" + std::to_string(i);
    return id;
}

void edit_and_truncate(Conversation& c, size_t index, const std::string& content) {
    if (index >= c.messages.size()) throw std::out_of_range("no message " + std::to_string(index));
    c.messages[index].content = content;
    c.messages.resize(index + 1);
}

void drop_last_reply(Conversation& c) {
    if (!c.messages.empty() && c.messages.back().role == "assistant") c.messages.pop_back();
}

}  // namespace glowq::chat_app

// Conversations as the app keeps them: one JSON file each under
// $XDG_DATA_HOME/glowq/conversations/ (else ~/.local/share/...), written atomically, read
// back on start. A file that is corrupt is reported and skipped, never trusted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace glowq::chat_app {

struct Message {
    std::string role;  // "user" | "assistant"
    std::string content;
    double ttfb_ms = 0, tokens_per_s = 0;  // replies only
    uint32_t tokens = 0;
};

struct Conversation {
    std::string id;  // file stem
    std::string title;
    std::string system_prompt;
    std::vector<Message> messages;
};

std::string default_conversation_dir();  // $XDG_DATA_HOME/glowq/conversations, or under $HOME

class ConversationStore {
public:
    explicit ConversationStore(std::string dir);
    const std::string& dir() const { return dir_; }
    // Every readable conversation, newest file first; problems name the file.
    std::vector<Conversation> load_all(std::vector<std::string>& problems) const;
    void save(const Conversation& c) const;  // temp file, flush, rename
    void remove(const std::string& id) const;
    std::string new_id() const;  // unique in dir, sortable by creation time

private:
    std::string dir_;
};

std::string to_json(const Conversation& c);
// Throws std::runtime_error naming what is wrong.
Conversation from_json(const std::string& text, const std::string& id);

// What a user message resent after an edit keeps: the messages before `index`, then the
// edited message (everything that followed it is dropped).
void edit_and_truncate(Conversation& c, size_t index, const std::string& content);
// Before a regenerate: drops the last reply if the conversation ends with one.
void drop_last_reply(Conversation& c);

}  // namespace glowq::chat_app

// libFuzzer target for the C API (glowq.h): each input is a sequence of calls on a tiny
// synthetic model (2 layers, 64 wide, byte-level vocabulary, ChatML template), misuse
// included: handles used after destroy, handles of the wrong kind, foreign pointers, NULLs,
// huge and negative sizes and counts, NaN sampler settings, invalid UTF-8, corrupted session
// states, and a thread cancelling whatever it finds (live, destroyed or foreign) while the
// calls run. Besides "no crash, no sanitizer report", every call's result is checked against
// what glowq.h promises (a failure has a message; a refused state or token leaves the session
// as it was; the token count never exceeds the context; text round-trips through the
// tokenizer). Built by scripts/fuzz_c_api.sh (clang, GLOWQ_FUZZ=ON, ASan + UBSan).
#include <fuzzer/FuzzedDataProvider.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "glowq/glowq.h"
#include "glowq/loader/synth_model.hpp"

namespace {

[[noreturn]] void violated(const char* what, const std::string& detail = {}) {
    std::fprintf(stderr, "fuzz_c_api: broken promise: %s %s (last error: \"%s\")\n", what, detail.c_str(),
                 glowq_last_error());
    std::abort();
}

// Calls made and calls that succeeded, by function (printed at exit: a run that never
// reaches the device is no test of it).
struct Tally {
    std::map<std::string, std::pair<uint64_t, uint64_t>> calls;
    ~Tally() {
        std::string line;
        for (const auto& [name, c] : calls)
            line += "  " + name + " " + std::to_string(c.second) + "/" + std::to_string(c.first) + "\n";
        std::fprintf(stderr, "fuzz_c_api: calls succeeded/made:\n%s", line.c_str());
    }
};
Tally tally;

// Every status is one of glowq.h's, and a failure names its problem.
glowq_status checked(glowq_status st, const char* call) {
    auto& c = tally.calls[call];
    ++c.first;
    c.second += st == GLOWQ_OK;
    if (st < GLOWQ_OK || st > GLOWQ_INTERNAL) violated("status out of range from", call);
    if (st == GLOWQ_INTERNAL) violated("GLOWQ_INTERNAL (a bug by glowq.h's own words) from", call);
    if (st != GLOWQ_OK && !*glowq_last_error()) violated("a failure without a message from", call);
    return st;
}

struct Global {
    glowq_engine* engine = nullptr;
    glowq_model* model = nullptr;  // loaded once; never destroyed by an input
    std::vector<uint8_t> file;     // the model's GGUF bytes (for loads from memory)
    std::string dir;               // session files
    uint32_t n_vocab = 0;
};
Global g;

constexpr int kModels = 2, kSessions = 4, kChats = 2;
// Slots the cancel thread reads while the calls run.
std::atomic<void*> models[kModels], sessions[kSessions], chats[kChats];
std::vector<void*> destroyed;  // handles destroyed in this input (used again on purpose)
int foreign_object = 0;        // an address that was never a handle

// The provider gives zeros once the input runs out: every choice below is written so that
// zero is the ordinary call and misuse takes a deliberate byte.
bool rarely(FuzzedDataProvider& in, int one_in) { return in.ConsumeIntegralInRange(0, one_in - 1) == one_in - 1; }

std::string text_from(FuzzedDataProvider& in, size_t max) {
    std::string s = in.ConsumeRandomLengthString(max);  // any bytes but NUL: invalid UTF-8 too
    return s.empty() && !rarely(in, 4) ? "Hello there" : s;
}

uint32_t count_from(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange(0, 7)) {
        case 0: return 0;
        case 1: return 1;
        case 2: return std::numeric_limits<uint32_t>::max();
        case 3: return std::numeric_limits<uint32_t>::max() / 2 + 1;  // negative as int32
        case 4: return 2048;
        case 5: return 2049;
        default: return in.ConsumeIntegralInRange<uint32_t>(0, 300);
    }
}

float float_from(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange(0, 5)) {
        case 0: return std::numeric_limits<float>::quiet_NaN();
        case 1: return std::numeric_limits<float>::infinity();
        case 2: return -std::numeric_limits<float>::infinity();
        case 3: return -in.ConsumeFloatingPointInRange<float>(0.0f, 10.0f);
        default: return in.ConsumeFloatingPointInRange<float>(0.0f, 3.0f);
    }
}

// Any pointer a careless caller could pass where a handle of some kind is expected.
void* any_handle(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange(0, 9)) {
        case 0: return nullptr;
        case 1: return &foreign_object;
        case 2: return g.engine;
        case 3: return g.model;
        case 4:
            if (!destroyed.empty()) return destroyed[in.ConsumeIntegralInRange<size_t>(0, destroyed.size() - 1)];
            return nullptr;
        case 5: return models[in.ConsumeIntegralInRange(0, kModels - 1)].load();
        case 6: return chats[in.ConsumeIntegralInRange(0, kChats - 1)].load();
        default: return sessions[in.ConsumeIntegralInRange(0, kSessions - 1)].load();
    }
}
// Mostly a handle of the right kind, sometimes anything.
template <class T> T* pick(FuzzedDataProvider& in, std::atomic<void*>* slots, int n, T* fallback = nullptr) {
    if (rarely(in, 6)) return static_cast<T*>(any_handle(in));
    const int first = in.ConsumeIntegralInRange(0, n - 1);
    for (int k = 0; k < n; ++k)  // the chosen slot, else the next one filled
        if (void* p = slots[(first + k) % n].load()) return static_cast<T*>(p);
    return fallback;
}
glowq_model* pick_model(FuzzedDataProvider& in) {
    return in.ConsumeBool() ? g.model : pick<glowq_model>(in, models, kModels, g.model);
}

// The session behind an argument if it is one of ours and live (for the checks).
bool is_our_session(const void* p) {
    for (auto& s : sessions)
        if (p && s.load() == p) return true;
    return false;
}
uint32_t tokens_in(glowq_session* s) {
    uint32_t context = 0, n = 0;
    if (glowq_session_context(s, &context, &n) != GLOWQ_OK) violated("context of a live session failed");
    if (n > context) violated("more tokens than the context holds", std::to_string(n) + " > " + std::to_string(context));
    return n;
}

template <class T> void destroy_slot(std::atomic<void*>& slot, void (*destroy)(T*)) {
    void* p = slot.exchange(nullptr);
    if (!p) return;
    destroy(static_cast<T*>(p));
    destroyed.push_back(p);
}

// What a token callback does: stop after some tokens, cancel its own call, call into
// another object (allowed; the same object is not).
struct Plan {
    int stop_after = 1 << 30, cancel_at = -1, calls = 0;
    glowq_session* self_session = nullptr;
    glowq_chat* self_chat = nullptr;
    void* other = nullptr;
};
int on_token(const char* piece, int32_t token, void* user) {
    Plan& p = *static_cast<Plan*>(user);
    if (!piece) violated("a NULL piece");
    if (token < 0 || uint32_t(token) >= g.n_vocab) violated("a token outside the vocabulary", std::to_string(token));
    ++p.calls;
    if (p.calls == p.cancel_at) {
        if (p.self_session) glowq_session_cancel(p.self_session);
        if (p.self_chat) glowq_chat_cancel(p.self_chat);
    }
    if (p.other && p.other != p.self_session && p.other != p.self_chat) {
        uint32_t c = 0, n = 0;
        glowq_session_context(static_cast<glowq_session*>(p.other), &c, &n);
        glowq_chat_context(static_cast<glowq_chat*>(p.other), &c, &n);
    }
    return p.calls < p.stop_after;
}

struct CallArgs {
    glowq_sampler_params sampler = glowq_sampler_default_params();
    glowq_generate_params params = glowq_generate_default_params();
    glowq_generate_result result = glowq_generate_result_init();
    std::vector<std::string> stop_text;
    std::vector<const char*> stop;
    Plan plan;
    bool with_params = true, with_result = true;
};
void fill_call(FuzzedDataProvider& in, CallArgs& a) {
    a.with_params = !rarely(in, 8);
    a.with_result = in.ConsumeBool();
    a.params.max_tokens = rarely(in, 10) ? 0 : 1 + in.ConsumeIntegralInRange(0, 3);
    if (in.ConsumeBool()) {
        a.sampler.temperature = float_from(in);
        a.sampler.top_k = in.ConsumeIntegral<int32_t>();
        a.sampler.top_p = float_from(in);
        a.sampler.min_p = float_from(in);
        a.sampler.repeat_penalty = float_from(in);
        a.sampler.repeat_last_n = in.ConsumeIntegral<int32_t>();
        a.sampler.seed = in.ConsumeIntegral<uint64_t>();
        if (rarely(in, 8)) a.sampler.struct_size = in.ConsumeIntegralInRange<size_t>(0, 200);
        a.params.sampler = &a.sampler;
    }
    const size_t n_stop = in.ConsumeIntegralInRange(0, 2);
    for (size_t i = 0; i < n_stop; ++i) a.stop_text.push_back(text_from(in, 6));
    for (const auto& s : a.stop_text) a.stop.push_back(s.c_str());
    a.params.stop = a.stop.empty() ? nullptr : a.stop.data();
    a.params.n_stop = a.stop.size();
    if (rarely(in, 10)) a.params.n_stop = 3;  // stop NULL or too short:
    if (a.params.n_stop > a.stop.size()) a.params.stop = nullptr;    // only NULL is checkable
    if (rarely(in, 10)) a.params.struct_size = in.ConsumeIntegralInRange<size_t>(0, 200);
    if (rarely(in, 10)) a.result.struct_size = in.ConsumeIntegralInRange<size_t>(0, 200);
    a.plan.stop_after = in.ConsumeIntegralInRange(1, 5);
    a.plan.cancel_at = in.ConsumeIntegralInRange(-1, 3);
    if (rarely(in, 4)) a.plan.other = any_handle(in);
}
void check_result(const CallArgs& a, glowq_status st) {
    if (st != GLOWQ_OK || !a.with_result || a.result.struct_size != sizeof(glowq_generate_result)) return;
    const uint32_t max = a.with_params ? a.params.max_tokens : 256;
    if (a.result.generated_tokens > max) violated("more tokens than max_tokens");
    if (a.result.stop_reason == GLOWQ_STOP_NONE || a.result.stop_reason == GLOWQ_STOP_CANCELLED)
        violated("GLOWQ_OK with stop reason", std::to_string(a.result.stop_reason));
}

glowq_session_params session_params(FuzzedDataProvider& in) {
    glowq_session_params p = glowq_session_default_params();
    p.context = rarely(in, 4) ? count_from(in) : in.ConsumeIntegralInRange<uint32_t>(24, 96);
    p.prefill_chunk = rarely(in, 3) ? count_from(in) : 0;
    if (rarely(in, 10)) p.struct_size = in.ConsumeIntegralInRange<size_t>(0, 200);
    return p;
}

void op_generate(FuzzedDataProvider& in) {
    glowq_session* s = pick<glowq_session>(in, sessions, kSessions);
    const std::string prompt = text_from(in, 40);
    CallArgs a;
    fill_call(in, a);
    a.plan.self_session = s;
    const bool ours = is_our_session(s);
    const uint32_t before = ours ? tokens_in(s) : 0;
    const glowq_status st =
        checked(glowq_session_generate(s, rarely(in, 16) ? nullptr : prompt.c_str(),
                                       a.with_params ? &a.params : nullptr, rarely(in, 8) ? nullptr : on_token,
                                       &a.plan, a.with_result ? &a.result : nullptr),
                "glowq_session_generate");
    check_result(a, st);
    if (ours && st == GLOWQ_INVALID_ARGUMENT && tokens_in(s) != before) violated("a refused generate changed the session");
}

void op_eval(FuzzedDataProvider& in) {
    glowq_session* s = pick<glowq_session>(in, sessions, kSessions);
    std::vector<int32_t> tokens(rarely(in, 8) ? 0 : 1 + in.ConsumeIntegralInRange(0, 5));
    bool out_of_range = false;
    for (auto& t : tokens) {
        // Any int32 only when asked: an input used up reads as false, and ConsumeIntegral as
        // INT32_MIN, so the other order refused every eval of a short input (0 of 115 in 60 s).
        t = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange<int32_t>(0, int32_t(g.n_vocab) - 1);
        out_of_range |= t < 0 || uint32_t(t) >= g.n_vocab;
    }
    std::vector<float> logits(g.n_vocab);
    const bool ours = is_our_session(s);
    const uint32_t before = ours ? tokens_in(s) : 0;
    const glowq_status st = checked(glowq_session_eval(s, tokens.empty() && in.ConsumeBool() ? nullptr : tokens.data(),
                                                       tokens.size(), in.ConsumeBool() ? logits.data() : nullptr),
                                    "glowq_session_eval");
    if (out_of_range && st == GLOWQ_OK) violated("tokens outside the vocabulary accepted");
    if (ours && st == GLOWQ_OK && tokens_in(s) != before + tokens.size()) violated("eval did not append its tokens");
    if (ours && (st == GLOWQ_INVALID_ARGUMENT || st == GLOWQ_CONTEXT_FULL) && tokens_in(s) != before)
        violated("a refused eval changed the session");
    if (st == GLOWQ_OK)
        for (float x : logits)
            if (!std::isfinite(x)) violated("a non-finite logit");
}

void op_truncate(FuzzedDataProvider& in) {
    glowq_session* s = pick<glowq_session>(in, sessions, kSessions);
    const bool ours = is_our_session(s);
    const uint32_t before = ours ? tokens_in(s) : 0;
    const uint32_t n = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint32_t>(0, before + 1) : count_from(in);
    const glowq_status st = checked(glowq_session_truncate(s, n), "glowq_session_truncate");
    if (ours && st == GLOWQ_OK && tokens_in(s) != std::min(before, n)) violated("truncate kept the wrong count");
}

// A state saved from one session, maybe corrupted or cut, restored into another.
void op_state(FuzzedDataProvider& in) {
    glowq_session* from = pick<glowq_session>(in, sessions, kSessions);
    glowq_session* to = pick<glowq_session>(in, sessions, kSessions);
    size_t size = 0;
    std::vector<uint8_t> bytes;
    if (checked(glowq_session_save_state(from, nullptr, 0, rarely(in, 16) ? nullptr : &size),
                "glowq_session_save_state") == GLOWQ_OK) {
        bytes.resize(rarely(in, 3) ? in.ConsumeIntegralInRange<size_t>(0, size) : size);
        size_t written = 0;
        const glowq_status st = checked(glowq_session_save_state(from, bytes.data(), bytes.size(), &written),
                                        "glowq_session_save_state");
        // (an empty vector's data() may be NULL: then it is a size query, which succeeds)
        if (bytes.data() && (st == GLOWQ_OK) != (bytes.size() >= size)) violated("save_state and its capacity disagree");
        if (st != GLOWQ_OK) bytes.clear();
    }
    if (!bytes.empty() && in.ConsumeBool()) {  // corrupt: flip bytes, or cut the tail
        const int flips = in.ConsumeIntegralInRange(0, 3);
        for (int i = 0; i < flips; ++i) bytes[in.ConsumeIntegralInRange<size_t>(0, bytes.size() - 1)] ^= in.ConsumeIntegral<uint8_t>();
        bytes.resize(in.ConsumeIntegralInRange<size_t>(0, bytes.size()));
    } else if (bytes.empty()) {
        bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 64));  // garbage
    }
    const bool ours = is_our_session(to);
    const uint32_t before = ours ? tokens_in(to) : 0;
    const bool via_file = in.ConsumeBool();
    glowq_status st;
    if (via_file) {
        const std::string path = g.dir + "/state.bin";
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        st = checked(glowq_session_load_file(to, rarely(in, 8) ? "/nonexistent/state" : path.c_str()),
                     "glowq_session_load_file");
        checked(glowq_session_save_file(from, path.c_str()), "glowq_session_save_file");
    } else {
        st = checked(glowq_session_load_state(to, bytes.empty() && in.ConsumeBool() ? nullptr : bytes.data(), bytes.size()),
                     "glowq_session_load_state");
    }
    if (ours && st != GLOWQ_OK && tokens_in(to) != before) violated("a refused state changed the session");
}

void op_tokenize(FuzzedDataProvider& in) {
    glowq_model* m = pick_model(in);
    const std::string text = text_from(in, 40);
    const int add_special = in.ConsumeIntegralInRange(0, 2) - (rarely(in, 4) ? 3 : 0);  // any int is a flag
    const int parse_special = in.ConsumeIntegralInRange(0, 2);
    std::vector<int32_t> tokens(rarely(in, 4) ? in.ConsumeIntegralInRange(0, 8) : 64);
    size_t needed = 0;
    const bool null_out = rarely(in, 8);
    const glowq_status st = checked(glowq_model_tokenize(m, rarely(in, 16) ? nullptr : text.c_str(), add_special,
                                                         parse_special, null_out ? nullptr : tokens.data(), tokens.size(),
                                                         rarely(in, 16) ? nullptr : &needed),
                                    "glowq_model_tokenize");
    if (st == GLOWQ_OK && needed > tokens.size()) violated("tokenize wrote past its capacity");
    // Printable ASCII without specials round-trips exactly.
    bool plain = st == GLOWQ_OK && m == g.model && !add_special && !parse_special && !null_out;
    for (char c : text) plain &= c >= 0x20 && c < 0x7f;
    std::vector<char> out(rarely(in, 4) ? in.ConsumeIntegralInRange<size_t>(0, 8) : 128);
    size_t length = 0;
    if (plain) {
        out.resize(text.size() + 1);
        if (checked(glowq_model_detokenize(m, tokens.data(), needed, out.data(), out.size(), &length),
                    "glowq_model_detokenize") != GLOWQ_OK ||
            std::string(out.data(), length) != text)
            violated("ASCII text did not round-trip", text);
        return;
    }
    std::vector<int32_t> ids(in.ConsumeIntegralInRange(0, 8));
    for (auto& t : ids) t = in.ConsumeIntegral<int32_t>() % int32_t(g.n_vocab + 4);
    const glowq_status dt = checked(glowq_model_detokenize(m, ids.data(), ids.size(), out.empty() ? nullptr : out.data(),
                                                           out.size(), &length),
                                    "glowq_model_detokenize");
    if (dt == GLOWQ_OK && (length >= out.size() || out[length] != '\0')) violated("detokenize's text is not terminated");
}

void op_chat(FuzzedDataProvider& in, int which) {
    glowq_chat* c = pick<glowq_chat>(in, chats, kChats);
    CallArgs a;
    glowq_status st = GLOWQ_OK;
    // Calls that need a conversation mostly get one first (short inputs rarely hold a send
    // and the call after it).
    size_t count = 0;
    if (which != 0 && which != 3 && !rarely(in, 4) && glowq_chat_message_count(c, &count) == GLOWQ_OK && !count) {
        glowq_generate_params p = glowq_generate_default_params();
        p.max_tokens = 2;
        checked(glowq_chat_send(c, "Hello there", &p, nullptr, nullptr, nullptr), "glowq_chat_send");
    }
    switch (which) {
        case 0: {
            fill_call(in, a);
            a.plan.self_chat = c;
            const std::string message = text_from(in, 32);
            st = checked(glowq_chat_send(c, rarely(in, 16) ? nullptr : message.c_str(),
                                         a.with_params ? &a.params : nullptr, on_token, &a.plan,
                                         a.with_result ? &a.result : nullptr),
                         "glowq_chat_send");
            check_result(a, st);
            break;
        }
        case 1:
            fill_call(in, a);
            a.plan.self_chat = c;
            st = checked(glowq_chat_regenerate(c, a.with_params ? &a.params : nullptr, on_token, &a.plan,
                                               a.with_result ? &a.result : nullptr),
                         "glowq_chat_regenerate");
            check_result(a, st);
            break;
        case 2: {
            const size_t index = rarely(in, 3) ? in.ConsumeIntegral<size_t>() : in.ConsumeIntegralInRange<size_t>(0, 4);
            const std::string content = text_from(in, 24);
            checked(glowq_chat_edit(c, index, rarely(in, 8) ? nullptr : content.c_str()), "glowq_chat_edit");
            break;
        }
        case 3: {
            const std::string system = text_from(in, 24);
            checked(glowq_chat_set_system_prompt(c, rarely(in, 4) ? nullptr : system.c_str()),
                    "glowq_chat_set_system_prompt");
            break;
        }
        case 4: checked(glowq_chat_clear(c), "glowq_chat_clear"); break;
        default: {
            size_t count = 0;
            if (checked(glowq_chat_message_count(c, &count), "glowq_chat_message_count") != GLOWQ_OK) break;
            const char *role = nullptr, *content = nullptr;
            const size_t index = in.ConsumeIntegralInRange<size_t>(0, count + 1);
            st = checked(glowq_chat_message(c, index, &role, &content), "glowq_chat_message");
            if ((st == GLOWQ_OK) != (index < count)) violated("message index and count disagree");
            if (st == GLOWQ_OK && (!role || !content || (std::strcmp(role, "user") && std::strcmp(role, "assistant"))))
                violated("a message without a user or assistant role");
            uint32_t context = 0, n = 0;
            if (checked(glowq_chat_context(c, &context, &n), "glowq_chat_context") == GLOWQ_OK && n > context)
                violated("a chat holds more tokens than its context");
        }
    }
}

// The thread that cancels whatever it finds while the calls run (a cancel storm).
void cancel_storm(std::atomic<bool>& stop, uint32_t seed) {
    while (!stop.load()) {
        seed = seed * 1664525u + 1013904223u;
        switch ((seed >> 16) % 4) {
            case 0: glowq_session_cancel(static_cast<glowq_session*>(sessions[(seed >> 8) % kSessions].load())); break;
            case 1: glowq_chat_cancel(static_cast<glowq_chat*>(chats[(seed >> 8) % kChats].load())); break;
            case 2: glowq_session_cancel(reinterpret_cast<glowq_session*>(&foreign_object)); break;
            default: glowq_chat_cancel(static_cast<glowq_chat*>(models[(seed >> 8) % kModels].load()));
        }
        if ((seed >> 20) % 8 == 0) std::this_thread::yield();
    }
}

// A session and a chat every input starts from (emptied), so that short inputs reach
// generation; kept across inputs because creating them costs more than most inputs.
glowq_session* home_session = nullptr;
glowq_chat* home_chat = nullptr;
void start_input() {
    glowq_session_params sp = glowq_session_default_params();
    sp.context = 64;
    if (glowq_session_truncate(home_session, 0) != GLOWQ_OK &&
        checked(glowq_session_create(g.model, &sp, &home_session), "glowq_session_create") != GLOWQ_OK)
        home_session = nullptr;
    glowq_chat_params cp = glowq_chat_default_params();
    cp.session = sp;
    if ((glowq_chat_clear(home_chat) != GLOWQ_OK || glowq_chat_set_system_prompt(home_chat, nullptr) != GLOWQ_OK) &&
        checked(glowq_chat_create(g.model, &cp, &home_chat), "glowq_chat_create") != GLOWQ_OK)
        home_chat = nullptr;
    sessions[0].store(home_session);
    chats[0].store(home_chat);
}
void end_input() {
    if (sessions[0].load() == home_session) sessions[0].store(nullptr);
    if (chats[0].load() == home_chat) chats[0].store(nullptr);
    for (auto& s : sessions) destroy_slot(s, glowq_session_destroy);
    for (auto& c : chats) destroy_slot(c, glowq_chat_destroy);
    for (auto& m : models) destroy_slot(m, glowq_model_destroy);
    destroyed.clear();
}

void run(FuzzedDataProvider& in) {
    const int ops = in.ConsumeIntegralInRange(1, 24);
    for (int i = 0; i < ops && in.remaining_bytes(); ++i) {
        switch (in.ConsumeIntegralInRange(0, 17)) {
            case 0: {  // load from memory, maybe cut short (then it must fail)
                const size_t size = rarely(in, 4) ? in.ConsumeIntegralInRange<size_t>(0, g.file.size()) : g.file.size();
                glowq_model* m = nullptr;
                const glowq_status st = checked(glowq_model_load_memory(g.engine, g.file.data(), size, nullptr, &m),
                                                "glowq_model_load_memory");
                if (size == g.file.size() ? st != GLOWQ_OK : size < g.file.size() / 2 && st == GLOWQ_OK)
                    violated("a model cut in half loaded, or the whole one did not");
                if (st == GLOWQ_OK) {
                    auto& slot = models[in.ConsumeIntegralInRange(0, kModels - 1)];
                    destroy_slot(slot, glowq_model_destroy);
                    slot.store(m);
                }
                break;
            }
            case 1: destroy_slot(models[in.ConsumeIntegralInRange(0, kModels - 1)], glowq_model_destroy); break;
            case 2: {
                glowq_model* m = pick_model(in);
                glowq_session_params p = session_params(in);
                glowq_session* s = nullptr;
                if (checked(glowq_session_create(m, rarely(in, 8) ? nullptr : &p, &s),
                            "glowq_session_create") == GLOWQ_OK) {
                    auto& slot = sessions[in.ConsumeIntegralInRange(0, kSessions - 1)];
                    destroy_slot(slot, glowq_session_destroy);
                    slot.store(s);
                }
                break;
            }
            case 3: destroy_slot(sessions[in.ConsumeIntegralInRange(0, kSessions - 1)], glowq_session_destroy); break;
            case 4: case 5: op_generate(in); break;
            case 6: op_eval(in); break;
            case 7: op_truncate(in); break;
            case 8: op_state(in); break;
            case 9: op_tokenize(in); break;
            case 10: {
                glowq_model* m = pick_model(in);
                glowq_chat_params p = glowq_chat_default_params();
                const std::string system = text_from(in, 24);
                p.system_prompt = rarely(in, 3) ? nullptr : system.c_str();
                p.session = session_params(in);
                if (rarely(in, 10)) p.struct_size = in.ConsumeIntegralInRange<size_t>(0, 200);
                glowq_chat* c = nullptr;
                if (checked(glowq_chat_create(m, &p, &c), "glowq_chat_create") == GLOWQ_OK) {
                    auto& slot = chats[in.ConsumeIntegralInRange(0, kChats - 1)];
                    destroy_slot(slot, glowq_chat_destroy);
                    slot.store(c);
                }
                break;
            }
            case 11: destroy_slot(chats[in.ConsumeIntegralInRange(0, kChats - 1)], glowq_chat_destroy); break;
            case 12: case 13: op_chat(in, in.ConsumeIntegralInRange(0, 5)); break;
            case 14: {  // destroy anything, again (a no-op for what is not live as that kind)
                void* p = any_handle(in);
                if (p == g.model || p == g.engine) break;  // (those outlive the input by design)
                switch (in.ConsumeIntegralInRange(0, 3)) {
                    case 0: glowq_session_destroy(static_cast<glowq_session*>(p)); break;
                    case 1: glowq_chat_destroy(static_cast<glowq_chat*>(p)); break;
                    case 2: glowq_model_destroy(static_cast<glowq_model*>(p)); break;
                    default: glowq_engine_destroy(static_cast<glowq_engine*>(p));
                }
                for (auto* slots : {models, sessions, chats})  // it may have been live in a slot
                    for (int k = 0; k < (slots == models ? kModels : slots == chats ? kChats : kSessions); ++k) {
                        void* expected = p;
                        if (p && slots[k].compare_exchange_strong(expected, nullptr)) destroyed.push_back(p);
                    }
                break;
            }
            case 15: {  // model info, with any struct size
                glowq_model_info info{};
                info.struct_size = rarely(in, 3) ? in.ConsumeIntegralInRange<size_t>(0, sizeof info) : sizeof info;
                const glowq_model* m = pick_model(in);
                if (checked(glowq_model_get_info(m, &info), "glowq_model_get_info") == GLOWQ_OK && m == g.model &&
                    info.struct_size == sizeof info && info.n_vocab != g.n_vocab)
                    violated("model info changed");
                break;
            }
            case 16: {  // context of anything
                uint32_t context = 0, n = 0;
                void* p = any_handle(in);
                if (checked(glowq_session_context(static_cast<glowq_session*>(p), in.ConsumeBool() ? &context : nullptr, &n),
                            "glowq_session_context") == GLOWQ_OK &&
                    n > context && context)
                    violated("more tokens than the context holds");
                break;
            }
            default: glowq_session_cancel(pick<glowq_session>(in, sessions, kSessions)); break;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char dir[] = "/tmp/glowq-fuzz-c-api-XXXXXX";
    if (!mkdtemp(dir)) return std::perror("mkdtemp"), std::abort(), 0;
    g.dir = dir;
    glowq::SynthOptions o;
    o.shape = glowq::synth_shape("tiny");
    o.chat_template = glowq::kSynthChatmlTemplate;
    const std::string path = g.dir + "/tiny.gguf";
    glowq::write_synth_model(path, o);
    std::ifstream f(path, std::ios::binary);
    g.file.assign(std::istreambuf_iterator<char>(f), {});
    glowq_engine_params ep = glowq_engine_default_params();
    if (glowq_engine_create(&ep, &g.engine) != GLOWQ_OK ||
        glowq_model_load_memory(g.engine, g.file.data(), g.file.size(), nullptr, &g.model) != GLOWQ_OK) {
        std::fprintf(stderr, "fuzz_c_api: no engine or model: %s\n", glowq_last_error());
        std::abort();
    }
    glowq_model_info info{};
    info.struct_size = sizeof info;
    glowq_model_get_info(g.model, &info);
    g.n_vocab = info.n_vocab;
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    start_input();
    std::atomic<bool> stop{false};
    std::thread storm;
    if (rarely(in, 4)) storm = std::thread(cancel_storm, std::ref(stop), in.ConsumeIntegral<uint32_t>());
    run(in);
    stop = true;
    if (storm.joinable()) storm.join();
    end_input();
    return 0;
}

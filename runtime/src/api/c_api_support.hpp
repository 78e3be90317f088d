// Internal to the C API: the handles behind glowq.h's opaque types, the guard that turns
// every exception into a status and a thread-local message, and versioned parameter
// structs read by their struct_size.
#pragma once
#include <cstring>
#include <memory>
#include <string>

#include "glowq/chat.hpp"
#include "glowq/error.hpp"
#include "glowq/glowq.h"
#include "glowq/session.hpp"

struct glowq_engine {
    std::shared_ptr<glowq::Engine> engine;
};
struct glowq_model {
    std::shared_ptr<const glowq::Model> model;
};
struct glowq_session {
    std::unique_ptr<glowq::Session> session;
};
struct glowq_chat {
    std::unique_ptr<glowq::Chat> chat;
};

namespace glowq::capi {

glowq_status fail(glowq_status status, const std::string& message);
glowq_status status_of(ErrorKind kind);

// Runs f; any exception becomes a status with its message (never crosses into C).
template <class F> glowq_status guard(F&& f) noexcept {
    try {
        f();
        return GLOWQ_OK;
    } catch (const Error& e) {
        return fail(status_of(e.kind()), e.what());
    } catch (const std::bad_alloc&) {
        return fail(GLOWQ_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception& e) {
        return fail(GLOWQ_INTERNAL, e.what());
    } catch (...) {
        return fail(GLOWQ_INTERNAL, "unknown exception");
    }
}

[[noreturn]] inline void invalid(const std::string& message) { throw Error(ErrorKind::InvalidArgument, message); }

template <class T> T* need(T* p, const char* what) {
    if (!p) invalid(std::string(what) + " is NULL");
    return p;
}

// A caller's parameter struct over the defaults: only the bytes its struct_size covers
// (an older caller's smaller struct keeps the newer fields' defaults).
template <class T> T read_params(const T* given, T defaults, const char* what) {
    if (!given) return defaults;
    if (given->struct_size < sizeof(size_t) + 1)
        invalid(std::string(what) + ".struct_size is " + std::to_string(given->struct_size) +
                "; set it with the glowq_*_default_params() function");
    std::memcpy(static_cast<void*>(&defaults), given, std::min(given->struct_size, sizeof(T)));
    defaults.struct_size = sizeof(T);
    return defaults;
}

SamplerParams sampler_from(const glowq_sampler_params& p);
GenerateOptions generate_options_from(const glowq_generate_params* given, SamplerParams& sampler);
SessionOptions session_options_from(const glowq_session_params* given);
TokenCallback token_callback(glowq_token_fn fn, void* user);
// A result struct the caller passed must say its size; its stop reason is reset so a
// failed call never leaves an old one.
void check_result(glowq_generate_result* r);
// Fills the caller's result (when given) from r; maps a cancelled generation to its status.
glowq_status finish(const GenerateResult& r, glowq_generate_result* out);

}  // namespace glowq::capi

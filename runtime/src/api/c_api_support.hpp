// Internal to the C API: the handles behind glowq.h's opaque types, the guard that turns
// every exception into a status and a thread-local message, and versioned parameter
// structs read by their struct_size.
#pragma once
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

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

// Live handles: every engine, model, session and chat this library handed out and has not
// destroyed, with its kind. A call given a destroyed, foreign or wrong-kind handle fails
// with GLOWQ_INVALID_ARGUMENT instead of touching freed memory; destroying a handle twice
// is a no-op. (A freed address handed out again to a new handle of the same kind cannot be
// told apart: that stays the caller's bug.)
enum class HandleKind { Engine, Model, Session, Chat };
template <class T> struct HandleOf;
template <> struct HandleOf<glowq_engine> { static constexpr HandleKind kind = HandleKind::Engine; };
template <> struct HandleOf<glowq_model> { static constexpr HandleKind kind = HandleKind::Model; };
template <> struct HandleOf<glowq_session> { static constexpr HandleKind kind = HandleKind::Session; };
template <> struct HandleOf<glowq_chat> { static constexpr HandleKind kind = HandleKind::Chat; };
template <class T, class = void> struct IsHandle : std::false_type {};
template <class T> struct IsHandle<T, std::void_t<decltype(HandleOf<T>::kind)>> : std::true_type {};

const char* handle_name(HandleKind kind);
void track_handle(const void* h, HandleKind kind);
bool untrack_handle(const void* h, HandleKind kind);  // true: it was live as that kind
// Runs f() (when not null) with the registry locked if h is live as that kind (a destroy
// waits for it).
bool with_live_handle(const void* h, HandleKind kind, void (*f)(const void*));
bool is_live_handle(const void* h, HandleKind kind);

template <class T> T* publish(std::unique_ptr<T> h) {
    track_handle(h.get(), HandleOf<T>::kind);
    return h.release();
}
template <class T> void release(T* h) {
    if (h && untrack_handle(h, HandleOf<T>::kind)) delete h;
}

template <class T> T* need(T* p, const char* what) {
    if (!p) invalid(std::string(what) + " is NULL");
    using U = std::remove_const_t<T>;
    if constexpr (IsHandle<U>::value) {
        if (!is_live_handle(p, HandleOf<U>::kind))
            invalid(std::string(what) + " is not a live glowq_" + handle_name(HandleOf<U>::kind) +
                    " (destroyed already, or another kind of handle)");
    }
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

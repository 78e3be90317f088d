// glowq.h for engines, models and sessions: argument checks, parameter structs, statuses.
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "c_api_support.hpp"

using namespace glowq;
using namespace glowq::capi;

namespace glowq::capi {

namespace {
thread_local std::string last_error;

struct HandleRegistry {
    std::mutex mutex;
    std::unordered_map<const void*, HandleKind> live;
};
HandleRegistry& registry() {
    static HandleRegistry* r = new HandleRegistry;  // never destroyed: handles may outlive static teardown
    return *r;
}
}  // namespace

const char* handle_name(HandleKind kind) {
    switch (kind) {
        case HandleKind::Engine: return "engine";
        case HandleKind::Model: return "model";
        case HandleKind::Session: return "session";
        case HandleKind::Chat: return "chat";
    }
    return "handle";
}

void track_handle(const void* h, HandleKind kind) {
    HandleRegistry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.live[h] = kind;
}

bool untrack_handle(const void* h, HandleKind kind) {
    HandleRegistry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.live.find(h);
    if (it == r.live.end() || it->second != kind) return false;
    r.live.erase(it);
    return true;
}

bool with_live_handle(const void* h, HandleKind kind, void (*f)(const void*)) {
    HandleRegistry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.live.find(h);
    if (it == r.live.end() || it->second != kind) return false;
    if (f) f(h);
    return true;
}

bool is_live_handle(const void* h, HandleKind kind) { return with_live_handle(h, kind, nullptr); }

glowq_status fail(glowq_status status, const std::string& message) {
    try {
        last_error = message;
    } catch (...) {
    }
    return status;
}

glowq_status status_of(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::NoDevice: return GLOWQ_NO_DEVICE;
        case ErrorKind::Vulkan: return GLOWQ_VULKAN_ERROR;
        case ErrorKind::InvalidArgument: return GLOWQ_INVALID_ARGUMENT;
        case ErrorKind::OutOfMemory: return GLOWQ_OUT_OF_MEMORY;
        case ErrorKind::Unsupported: return GLOWQ_UNSUPPORTED;
        case ErrorKind::Io: return GLOWQ_IO_ERROR;
        case ErrorKind::InvalidModel: return GLOWQ_INVALID_MODEL;
        case ErrorKind::Cancelled: return GLOWQ_CANCELLED;
        case ErrorKind::ContextFull: return GLOWQ_CONTEXT_FULL;
        case ErrorKind::Internal: return GLOWQ_INTERNAL;
    }
    return GLOWQ_INTERNAL;
}

SamplerParams sampler_from(const glowq_sampler_params& p) {
    SamplerParams s;
    s.temperature = p.temperature;
    s.top_k = p.top_k;
    s.top_p = p.top_p;
    s.min_p = p.min_p;
    s.repeat_penalty = p.repeat_penalty;
    s.repeat_last_n = p.repeat_last_n;
    s.seed = p.seed;
    if (!(s.temperature >= 0 && s.temperature <= 100) || !(s.top_p >= 0 && s.top_p <= 1) ||
        !(s.min_p >= 0 && s.min_p <= 1) || !(s.repeat_penalty > 0 && s.repeat_penalty <= 100) || s.repeat_last_n < -1)
        invalid("sampler parameters out of range (temperature 0..100, top_p and min_p 0..1, repeat_penalty 0..100, "
                "repeat_last_n >= -1)");
    return s;
}

GenerateOptions generate_options_from(const glowq_generate_params* given, SamplerParams& sampler) {
    const glowq_generate_params p = read_params(given, glowq_generate_default_params(), "glowq_generate_params");
    const glowq_sampler_params sp = read_params(p.sampler, glowq_sampler_default_params(), "glowq_generate_params.sampler");
    sampler = sampler_from(sp);
    GenerateOptions o;
    if (p.max_tokens == 0) invalid("max_tokens is 0");
    o.max_tokens = p.max_tokens;
    if (p.n_stop && !p.stop) invalid("n_stop is " + std::to_string(p.n_stop) + " but stop is NULL");
    for (size_t i = 0; i < p.n_stop; ++i) {
        if (!p.stop[i]) invalid("stop string " + std::to_string(i) + " is NULL");
        o.stop.emplace_back(p.stop[i]);
    }
    return o;
}

SessionOptions session_options_from(const glowq_session_params* given) {
    const glowq_session_params p = read_params(given, glowq_session_default_params(), "glowq_session_params");
    SessionOptions o;
    o.context = p.context;
    o.chunk = p.prefill_chunk;
    return o;
}

TokenCallback token_callback(glowq_token_fn fn, void* user) {
    if (!fn) return {};
    return [fn, user](const std::string& piece, int32_t token) { return fn(piece.c_str(), token, user) != 0; };
}

void check_result(glowq_generate_result* r) {
    if (!r) return;
    if (r->struct_size < sizeof(size_t) + 1) invalid("glowq_generate_result.struct_size is not set (glowq_generate_result_init)");
    if (r->struct_size >= offsetof(glowq_generate_result, stop_reason) + sizeof(r->stop_reason))
        r->stop_reason = GLOWQ_STOP_NONE;
}

glowq_status finish(const GenerateResult& r, glowq_generate_result* out) {
    if (out) {
        glowq_generate_result res = glowq_generate_result_init();
        res.stop_reason = glowq_stop_reason(int(r.stop_reason));
        res.prompt_tokens = r.prompt_tokens;
        res.generated_tokens = uint32_t(r.tokens.size());
        res.ttfb_ms = r.ttfb_ms;
        res.prefill_tokens_per_s = r.prefill_tokens_per_s();
        res.decode_tokens_per_s = r.decode_tokens_per_s();
        // Only the caller's bytes, and its own struct_size stays: an older caller's smaller
        // struct must not be told it is larger.
        res.struct_size = std::min(out->struct_size, sizeof res);
        std::memcpy(out, &res, res.struct_size);
    }
    if (r.stop_reason == StopReason::Cancelled)
        return guard([&] { throw Error(ErrorKind::Cancelled, "cancelled after " + std::to_string(r.tokens.size()) +
                                                              " generated tokens"); });
    return GLOWQ_OK;
}

}  // namespace glowq::capi

namespace {


template <class T> void set_out(T** out) {
    need(out, "the output handle pointer");
    *out = nullptr;
}

}  // namespace

namespace {

template <class Load> glowq_status load_model(glowq_engine* engine, const glowq_model_params* params, glowq_model** out,
                                              Load&& load) {
    return guard([&] {
        set_out(out);
        need(engine, "engine");
        const glowq_model_params p = read_params(params, glowq_model_default_params(), "glowq_model_params");
        ModelLoadOptions o;
        if (p.progress) {
            const glowq_progress_fn fn = p.progress;
            void* user = p.progress_user;
            o.progress = [fn, user](float f) { return fn(f, user) != 0; };
        }
        auto m = std::make_unique<glowq_model>();
        m->model = load(engine->engine, o);
        *out = publish(std::move(m));
    });
}

}  // namespace

extern "C" {

#define GLOWQ_STRING(x) #x
#define GLOWQ_VERSION_STRING(a, b, c) GLOWQ_STRING(a) "." GLOWQ_STRING(b) "." GLOWQ_STRING(c)
const char* glowq_version(void) {
    return GLOWQ_VERSION_STRING(GLOWQ_VERSION_MAJOR, GLOWQ_VERSION_MINOR, GLOWQ_VERSION_PATCH);
}
const char* glowq_last_error(void) { return last_error.c_str(); }

const char* glowq_status_name(glowq_status s) {
    switch (s) {
        case GLOWQ_OK: return "GLOWQ_OK";
        case GLOWQ_INVALID_ARGUMENT: return "GLOWQ_INVALID_ARGUMENT";
        case GLOWQ_IO_ERROR: return "GLOWQ_IO_ERROR";
        case GLOWQ_INVALID_MODEL: return "GLOWQ_INVALID_MODEL";
        case GLOWQ_UNSUPPORTED: return "GLOWQ_UNSUPPORTED";
        case GLOWQ_NO_DEVICE: return "GLOWQ_NO_DEVICE";
        case GLOWQ_OUT_OF_MEMORY: return "GLOWQ_OUT_OF_MEMORY";
        case GLOWQ_VULKAN_ERROR: return "GLOWQ_VULKAN_ERROR";
        case GLOWQ_CANCELLED: return "GLOWQ_CANCELLED";
        case GLOWQ_CONTEXT_FULL: return "GLOWQ_CONTEXT_FULL";
        case GLOWQ_INTERNAL: return "GLOWQ_INTERNAL";
    }
    return "GLOWQ_UNKNOWN_STATUS";
}

glowq_engine_params glowq_engine_default_params(void) {
    glowq_engine_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    return p;
}

static_assert(GLOWQ_FEATURE_SUBGROUP_OPS == vk::kFeatureSubgroupOps && GLOWQ_FEATURE_FP16_MATH == vk::kFeatureFp16Math &&
                  GLOWQ_FEATURE_STORAGE_16BIT == vk::kFeatureStorage16 &&
                  GLOWQ_FEATURE_STORAGE_8BIT == vk::kFeatureStorage8 &&
                  GLOWQ_FEATURE_INTEGER_DOT == vk::kFeatureIntegerDot &&
                  GLOWQ_FEATURE_COOPERATIVE_MATRIX == vk::kFeatureCooperativeMatrix &&
                  GLOWQ_FEATURE_SUBGROUP_SIZE == vk::kFeatureSubgroupSize &&
                  GLOWQ_FEATURE_HALF_CONVERSION == vk::kFeatureHalfConversion,
              "glowq.h's feature bits are vk::Feature's");

glowq_status glowq_engine_create(const glowq_engine_params* params, glowq_engine** out) {
    return guard([&] {
        set_out(out);
        const glowq_engine_params p = read_params(params, glowq_engine_default_params(), "glowq_engine_params");
        EngineOptions o;
        o.device = p.device ? p.device : "";
        o.validation = p.validation != 0;
        if (p.log) {
            const glowq_log_fn fn = p.log;
            void* user = p.log_user;
            o.log = [fn, user](vk::LogLevel level, const std::string& message) {
                fn(glowq_log_level(int(level)), message.c_str(), user);
            };
        }
        const int handles = !!p.vk_instance + !!p.vk_physical_device + !!p.vk_device + !!p.vk_queue;
        if (handles != 0 && handles != 4)
            invalid("adopting a device needs vk_instance, vk_physical_device, vk_device and vk_queue (" +
                    std::to_string(handles) + " of 4 given)");
        if (!p.queue_lock != !p.queue_unlock) invalid("queue_lock and queue_unlock must be given together");
        if (handles == 4) {
            auto a = std::make_shared<vk::AdoptedDevice>();
            a->instance = static_cast<VkInstance>(p.vk_instance);
            a->physical = static_cast<VkPhysicalDevice>(p.vk_physical_device);
            a->device = static_cast<VkDevice>(p.vk_device);
            a->queue = static_cast<VkQueue>(p.vk_queue);
            a->queue_family = p.vk_queue_family;
            if (p.queue_lock) {
                const glowq_lock_fn lock = p.queue_lock, unlock = p.queue_unlock;
                void* user = p.queue_lock_user;
                a->lock = [lock, user] { lock(user); };
                a->unlock = [unlock, user] { unlock(user); };
            }
            o.adopt = a;
        }
        if (p.limits != GLOWQ_LIMITS_DEVICE && p.limits != GLOWQ_LIMITS_ANDROID_BASELINE)
            invalid("limits must be GLOWQ_LIMITS_DEVICE or GLOWQ_LIMITS_ANDROID_BASELINE, got " + std::to_string(p.limits));
        if (p.disable_features & ~uint32_t(vk::kFeatureAll))
            invalid("disable_features has unknown bits: " + std::to_string(p.disable_features));
        o.limits = p.limits == GLOWQ_LIMITS_ANDROID_BASELINE ? vk::LimitsProfile::AndroidBaseline : vk::LimitsProfile::Device;
        o.disable_features = p.disable_features;
        o.driver_quirks = p.ignore_driver_quirks == 0;
        auto e = std::make_unique<glowq_engine>();
        e->engine = std::make_shared<Engine>(o);
        *out = publish(std::move(e));
    });
}

void glowq_engine_destroy(glowq_engine* engine) { release(engine); }

const char* glowq_engine_device_name(const glowq_engine* engine) {
    return is_live_handle(engine, HandleKind::Engine) ? engine->engine->device_name().c_str() : nullptr;
}

glowq_model_params glowq_model_default_params(void) {
    glowq_model_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    return p;
}


glowq_status glowq_model_load_file(glowq_engine* engine, const char* path, const glowq_model_params* params,
                                   glowq_model** out) {
    return load_model(engine, params, out, [&](std::shared_ptr<Engine> e, const ModelLoadOptions& o) {
        return Model::load_file(std::move(e), need(path, "path"), o);
    });
}

glowq_status glowq_model_load_fd(glowq_engine* engine, int fd, uint64_t offset, uint64_t length,
                                 const glowq_model_params* params, glowq_model** out) {
    return load_model(engine, params, out, [&](std::shared_ptr<Engine> e, const ModelLoadOptions& o) {
        return Model::load_fd(std::move(e), fd, offset, length, o);
    });
}

glowq_status glowq_model_load_memory(glowq_engine* engine, const void* data, size_t size,
                                     const glowq_model_params* params, glowq_model** out) {
    return load_model(engine, params, out, [&](std::shared_ptr<Engine> e, const ModelLoadOptions& o) {
        return Model::load_memory(std::move(e), need(data, "data"), size, o);
    });
}

void glowq_model_destroy(glowq_model* model) { release(model); }

glowq_status glowq_model_get_info(const glowq_model* model, glowq_model_info* info) {
    return guard([&] {
        need(model, "model");
        need(info, "info");
        if (info->struct_size < sizeof(size_t) + 1) invalid("glowq_model_info.struct_size is not set");
        glowq_model_info r;
        std::memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        const Model& m = *model->model;
        const ModelConfig& c = m.config();
        std::strncpy(r.architecture, c.architecture.c_str(), sizeof r.architecture - 1);
        r.n_vocab = c.n_vocab;
        r.n_layers = c.n_layers;
        r.n_embd = c.n_embd;
        r.n_ctx_train = c.n_ctx;
        r.device_bytes = m.weights()->weight_bytes();
        r.correction_bytes = m.weights()->correction_bytes();
        r.has_chat_template = m.has_chat_template() ? 1 : 0;
        const size_t n = std::min(info->struct_size, sizeof r);
        std::memcpy(info, &r, n);
        info->struct_size = n;
    });
}

glowq_status glowq_model_tokenize(const glowq_model* model, const char* text, int add_special, int parse_special,
                                  int32_t* tokens, size_t capacity, size_t* n_tokens) {
    return guard([&] {
        need(model, "model");
        need(text, "text");
        need(n_tokens, "n_tokens");
        if (capacity && !tokens) invalid("tokens is NULL but capacity is " + std::to_string(capacity));
        const std::vector<int32_t> ids = model->model->tokenizer().encode(text, add_special != 0, parse_special != 0);
        *n_tokens = ids.size();
        if (ids.size() > capacity)
            invalid("the text is " + std::to_string(ids.size()) + " tokens; the buffer holds " + std::to_string(capacity));
        std::copy(ids.begin(), ids.end(), tokens);
    });
}

glowq_status glowq_model_detokenize(const glowq_model* model, const int32_t* tokens, size_t n_tokens, char* text,
                                    size_t capacity, size_t* length) {
    return guard([&] {
        need(model, "model");
        need(length, "length");
        if (n_tokens && !tokens) invalid("tokens is NULL");
        if (capacity && !text) invalid("text is NULL but capacity is " + std::to_string(capacity));
        const Tokenizer& tok = model->model->tokenizer();
        for (size_t i = 0; i < n_tokens; ++i)
            if (tokens[i] < 0 || tokens[i] >= tok.n_tokens())
                invalid("token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
        const std::string s = tok.decode(std::vector<int32_t>(tokens, tokens + n_tokens));
        *length = s.size();
        if (s.size() + 1 > capacity)
            invalid("the text is " + std::to_string(s.size()) + " bytes; the buffer holds " + std::to_string(capacity) +
                    " (one more is needed for the NUL)");
        std::memcpy(text, s.c_str(), s.size() + 1);
    });
}

glowq_sampler_params glowq_sampler_default_params(void) {
    const SamplerParams d;
    glowq_sampler_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.temperature = d.temperature;
    p.top_k = d.top_k;
    p.top_p = d.top_p;
    p.min_p = d.min_p;
    p.repeat_penalty = d.repeat_penalty;
    p.repeat_last_n = d.repeat_last_n;
    p.seed = d.seed;
    return p;
}

glowq_generate_params glowq_generate_default_params(void) {
    glowq_generate_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.max_tokens = 256;
    p.sampler = nullptr;
    return p;
}

glowq_generate_result glowq_generate_result_init(void) {
    glowq_generate_result r;
    std::memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    return r;
}

glowq_session_params glowq_session_default_params(void) {
    const SessionOptions d;
    glowq_session_params p;
    std::memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.context = d.context;
    p.prefill_chunk = d.chunk;
    return p;
}

glowq_status glowq_session_create(glowq_model* model, const glowq_session_params* params, glowq_session** out) {
    return guard([&] {
        set_out(out);
        need(model, "model");
        auto s = std::make_unique<glowq_session>();
        s->session = std::make_unique<Session>(model->model, session_options_from(params));
        *out = publish(std::move(s));
    });
}

void glowq_session_destroy(glowq_session* session) { release(session); }

glowq_status glowq_session_context(const glowq_session* session, uint32_t* context, uint32_t* n_tokens) {
    return guard([&] {
        need(session, "session");
        if (context) *context = session->session->context();
        if (n_tokens) *n_tokens = uint32_t(session->session->tokens().size());
    });
}

glowq_status glowq_session_generate(glowq_session* session, const char* prompt, const glowq_generate_params* params,
                                    glowq_token_fn on_token, void* user, glowq_generate_result* result) {
    GenerateResult r;
    size_t before = 0;
    bool live = false;  // the session passed its check
    const glowq_status st = guard([&] {
        need(session, "session");
        live = true;
        need(prompt, "prompt");
        check_result(result);
        if (!*prompt) invalid("the prompt is empty");
        SamplerParams sp;
        const GenerateOptions o = generate_options_from(params, sp);
        Session& s = *session->session;
        std::vector<int32_t> seq = s.tokens();
        before = seq.size();
        const std::vector<int32_t> add = s.model().tokenizer().encode(prompt, seq.empty(), true);
        seq.insert(seq.end(), add.begin(), add.end());
        r = s.generate(seq, sp, o, token_callback(on_token, user));
    });
    // A prompt that failed or was cancelled part-way is not left half in the session: the
    // next call appends to the text as it was (its cached prefix stays).
    if (st != GLOWQ_OK && live && session->session->tokens().size() > before)
        session->session->truncate(uint32_t(before));
    return st == GLOWQ_OK ? finish(r, result) : st;
}

glowq_status glowq_session_eval(glowq_session* session, const int32_t* tokens, size_t n_tokens, float* logits) {
    return guard([&] {
        need(session, "session");
        need(tokens, "tokens");
        session->session->eval(std::vector<int32_t>(tokens, tokens + n_tokens), logits);
    });
}

glowq_status glowq_session_truncate(glowq_session* session, uint32_t n_tokens) {
    return guard([&] { need(session, "session")->session->truncate(n_tokens); });
}

void glowq_session_cancel(glowq_session* session) {
    with_live_handle(session, HandleKind::Session,
                     [](const void* h) { static_cast<const glowq_session*>(h)->session->cancel(); });
}

glowq_status glowq_session_save_state(const glowq_session* session, void* data, size_t capacity, size_t* size) {
    return guard([&] {
        need(session, "session");
        need(size, "size");
        const std::vector<uint8_t> bytes = session->session->save_state();
        *size = bytes.size();
        if (!data) return;
        if (capacity < bytes.size())
            invalid("the state is " + std::to_string(bytes.size()) + " bytes; the buffer holds " + std::to_string(capacity));
        std::memcpy(data, bytes.data(), bytes.size());
    });
}

glowq_status glowq_session_load_state(glowq_session* session, const void* data, size_t size) {
    return guard([&] {
        need(session, "session");
        session->session->load_state(static_cast<const uint8_t*>(need(data, "data")), size);
    });
}

glowq_status glowq_session_save_file(const glowq_session* session, const char* path) {
    return guard([&] { need(session, "session")->session->save_file(need(path, "path")); });
}

glowq_status glowq_session_load_file(glowq_session* session, const char* path) {
    return guard([&] { need(session, "session")->session->load_file(need(path, "path")); });
}

}  // extern "C"

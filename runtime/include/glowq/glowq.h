/* glowq.h: the C API of glowq, the Vulkan-compute runtime for int4 LLMs with GlowQ
 * corrections. Everything a program needs to load a model and generate text: C99/C11,
 * usable from C, C++, JNI and any language with a C FFI. libglowq exports only these
 * functions.
 *
 * Objects (opaque handles, each with a create/destroy pair):
 *   glowq_engine   a Vulkan device: chosen by the library or adopted from the host app
 *   glowq_model    immutable weights on that device, shared by any number of sessions
 *   glowq_session  one KV cache: evaluation, generation, state save/restore
 *   glowq_chat     a conversation on its own session: messages, the model's chat template,
 *                  KV-prefix reuse across turns, regenerate, edit, trimming
 *
 * Errors: every call that can fail returns a glowq_status; on failure glowq_last_error()
 * gives a message naming the problem (thread-local: the message of the last failed call
 * on the calling thread). NULL or invalid arguments give GLOWQ_INVALID_ARGUMENT, never a
 * crash. No C++ exception crosses this boundary. The library never prints (see the log
 * callback), never exits and never reads the environment.
 *
 * Parameter structs: get one from glowq_*_default_params(), change fields, pass a pointer
 * (NULL means the defaults). Each begins with struct_size, which the defaults set; later
 * versions add fields only at the end and read only the fields a caller's size covers.
 *
 * Threading rules:
 *   - An engine and a model may be used from any number of threads at once. Queue submits
 *     are serialized inside the engine (with the host's lock when the queue is adopted).
 *   - A session or a chat is used by one thread at a time: calls on one session (or chat)
 *     from two threads at once must be serialized by the caller. Different sessions may run
 *     concurrently, on one model, from different threads.
 *   - glowq_session_cancel and glowq_chat_cancel are the exceptions: any thread may call
 *     them at any time while the object exists. A cancel stops the call in progress on that
 *     object at its next check (between prefill chunks, between generated tokens); the call
 *     returns GLOWQ_CANCELLED and the object stays usable. A cancel with no call in progress
 *     has no effect: each generate or eval call starts uncancelled.
 *   - Handles may be destroyed in any order: a session or chat keeps its model alive, and
 *     a model its engine. Destroying an object while a call on it runs is a caller's bug.
 *     A destroyed handle, or one of another kind, passed to a call gives
 *     GLOWQ_INVALID_ARGUMENT; destroying it again does nothing (the library keeps a
 *     registry of live handles; an address reused by a newer handle cannot be told apart).
 *   - Token and progress callbacks run on the thread that made the call and must not call
 *     back into the same object. The log callback may run on any thread that uses the
 *     engine, also concurrently: make it thread-safe.
 *   - Strings returned by the library stay valid until the next call on the same object
 *     (glowq_last_error: until the next failing call on the same thread).
 */
#ifndef GLOWQ_H
#define GLOWQ_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define GLOWQ_API __declspec(dllexport)
#else
#define GLOWQ_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define GLOWQ_VERSION_MAJOR 0
#define GLOWQ_VERSION_MINOR 2
#define GLOWQ_VERSION_PATCH 0

typedef enum glowq_status {
    GLOWQ_OK = 0,
    GLOWQ_INVALID_ARGUMENT = 1, /* NULL handle, bad parameter, misuse */
    GLOWQ_IO_ERROR = 2,         /* a file could not be opened, read or written */
    GLOWQ_INVALID_MODEL = 3,    /* a model or state file is corrupt, truncated or hostile */
    GLOWQ_UNSUPPORTED = 4,      /* an architecture, tensor type or device feature glowq lacks */
    GLOWQ_NO_DEVICE = 5,        /* no Vulkan driver or no matching device */
    GLOWQ_OUT_OF_MEMORY = 6,    /* host or device memory; the message says how much */
    GLOWQ_VULKAN_ERROR = 7,     /* a Vulkan call failed */
    GLOWQ_CANCELLED = 8,        /* glowq_*_cancel or a progress callback stopped the call */
    GLOWQ_CONTEXT_FULL = 9,     /* the tokens do not fit the session's context */
    GLOWQ_INTERNAL = 10         /* a bug: please report the message */
} glowq_status;

typedef enum glowq_log_level {
    GLOWQ_LOG_DEBUG = 0,
    GLOWQ_LOG_INFO = 1,
    GLOWQ_LOG_WARNING = 2,
    GLOWQ_LOG_ERROR = 3
} glowq_log_level;

typedef enum glowq_stop_reason {
    GLOWQ_STOP_NONE = 0,         /* the call failed before generating */
    GLOWQ_STOP_EOS = 1,          /* the model ended its turn */
    GLOWQ_STOP_STRING = 2,       /* a stop string appeared (it is not emitted) */
    GLOWQ_STOP_MAX_TOKENS = 3,   /* max_tokens reached */
    GLOWQ_STOP_CONTEXT_FULL = 4, /* the session's context is full */
    GLOWQ_STOP_CALLBACK = 5,     /* the token callback returned 0 */
    GLOWQ_STOP_CANCELLED = 6     /* glowq_*_cancel (the call returns GLOWQ_CANCELLED) */
} glowq_stop_reason;

typedef struct glowq_engine glowq_engine;
typedef struct glowq_model glowq_model;
typedef struct glowq_session glowq_session;
typedef struct glowq_chat glowq_chat;

/* "0.2.0" */
GLOWQ_API const char* glowq_version(void);
/* The message of the last failed call on this thread ("" if none). */
GLOWQ_API const char* glowq_last_error(void);
/* "GLOWQ_OK", "GLOWQ_INVALID_ARGUMENT", ... */
GLOWQ_API const char* glowq_status_name(glowq_status status);

/* ---- engine ---- */

typedef void (*glowq_log_fn)(glowq_log_level level, const char* message, void* user);
typedef void (*glowq_lock_fn)(void* user);

typedef struct glowq_engine_params {
    size_t struct_size;
    /* Vulkan device by index ("1") or case-insensitive name substring ("llvmpipe"); NULL or
       "": the first discrete GPU, else integrated, virtual, CPU. */
    const char* device;
    /* Non-zero: enable VK_LAYER_KHRONOS_validation (an error if it is not installed). */
    int validation;
    glowq_log_fn log; /* NULL: messages are dropped */
    void* log_user;
    /* Adopting the host's device (all four handles set, or none): the app's VkInstance,
       VkPhysicalDevice, VkDevice and a VkQueue of queue_family that supports compute. The
       engine then creates no instance or device and destroys none. queue_lock/queue_unlock
       (both or neither) are the host's lock around every use of that queue; the engine
       calls them around each vkQueueSubmit and vkQueueWaitIdle, and the host must hold the
       same lock around its own submits and presents. */
    void* vk_instance;
    void* vk_physical_device;
    void* vk_device;
    void* vk_queue;
    uint32_t vk_queue_family;
    glowq_lock_fn queue_lock;
    glowq_lock_fn queue_unlock;
    void* queue_lock_user;
    /* GLOWQ_LIMITS_ANDROID_BASELINE: use only what the Android Baseline Profile 2022
       guarantees on every Android 10+ device (16 KiB shared memory, 128 invocations, 4
       storage buffers per stage, no subgroup operations or fp16), whatever this device
       offers. */
    int limits;
    /* GLOWQ_FEATURE_* bits: features to leave unused whatever the device reports. */
    uint32_t disable_features;
    /* Non-zero: do not turn off what glowq knows to be broken on this driver. */
    int ignore_driver_quirks;
} glowq_engine_params;

#define GLOWQ_LIMITS_DEVICE 0
#define GLOWQ_LIMITS_ANDROID_BASELINE 1

#define GLOWQ_FEATURE_SUBGROUP_OPS (1u << 0)
#define GLOWQ_FEATURE_FP16_MATH (1u << 1)
#define GLOWQ_FEATURE_STORAGE_16BIT (1u << 2)
#define GLOWQ_FEATURE_STORAGE_8BIT (1u << 3)
#define GLOWQ_FEATURE_INTEGER_DOT (1u << 4)
#define GLOWQ_FEATURE_COOPERATIVE_MATRIX (1u << 5)
#define GLOWQ_FEATURE_SUBGROUP_SIZE (1u << 6) /* trusting the reported subgroup size */
#define GLOWQ_FEATURE_HALF_CONVERSION (1u << 7) /* the driver's fp16 pack/unpack (else in software) */

GLOWQ_API glowq_engine_params glowq_engine_default_params(void);
GLOWQ_API glowq_status glowq_engine_create(const glowq_engine_params* params, glowq_engine** out);
GLOWQ_API void glowq_engine_destroy(glowq_engine* engine); /* NULL is a no-op */
/* The device's name ("llvmpipe (LLVM 15.0.6, 256 bits)"); NULL for a NULL engine. */
GLOWQ_API const char* glowq_engine_device_name(const glowq_engine* engine);

/* ---- model ---- */

/* Load progress in [0, 1]; return 0 to cancel the load (it returns GLOWQ_CANCELLED). */
typedef int (*glowq_progress_fn)(float fraction, void* user);

typedef struct glowq_model_params {
    size_t struct_size;
    glowq_progress_fn progress;
    void* progress_user;
} glowq_model_params;

typedef struct glowq_model_info {
    size_t struct_size;
    char architecture[32];
    uint32_t n_vocab;
    uint32_t n_layers;
    uint32_t n_embd;
    uint32_t n_ctx_train;      /* 0: the file does not say */
    uint64_t device_bytes;     /* weights on the device, corrections included */
    uint64_t correction_bytes; /* the GlowQ low-rank factors among them */
    int has_chat_template;
} glowq_model_info;

GLOWQ_API glowq_model_params glowq_model_default_params(void);
/* A GGUF file by path. */
GLOWQ_API glowq_status glowq_model_load_file(glowq_engine* engine, const char* path, const glowq_model_params* params,
                                             glowq_model** out);
/* A GGUF file inside an open file descriptor at [offset, offset + length) (length 0: to the
   end): how Android hands over assets (AAssetManager's openFd) and content URIs. The
   descriptor is only read during the call; the caller keeps and closes it. */
GLOWQ_API glowq_status glowq_model_load_fd(glowq_engine* engine, int fd, uint64_t offset, uint64_t length,
                                           const glowq_model_params* params, glowq_model** out);
/* A GGUF file in memory; the bytes are only read during the call. */
GLOWQ_API glowq_status glowq_model_load_memory(glowq_engine* engine, const void* data, size_t size,
                                               const glowq_model_params* params, glowq_model** out);
GLOWQ_API void glowq_model_destroy(glowq_model* model);
GLOWQ_API glowq_status glowq_model_get_info(const glowq_model* model, glowq_model_info* info);

/* Text to token ids. add_special: the model's BOS; parse_special: "<|im_start|>" and the like
   become their special tokens. Writes at most capacity ids and sets *n_tokens to the count
   needed; GLOWQ_INVALID_ARGUMENT (with *n_tokens set) when capacity is too small. */
GLOWQ_API glowq_status glowq_model_tokenize(const glowq_model* model, const char* text, int add_special,
                                            int parse_special, int32_t* tokens, size_t capacity, size_t* n_tokens);
/* Token ids to text, NUL-terminated. *length: the text's length without the NUL; when
   capacity is too small, GLOWQ_INVALID_ARGUMENT with *length set. */
GLOWQ_API glowq_status glowq_model_detokenize(const glowq_model* model, const int32_t* tokens, size_t n_tokens,
                                              char* text, size_t capacity, size_t* length);

/* ---- sampling and generation ---- */

typedef struct glowq_sampler_params {
    size_t struct_size;
    float temperature;     /* <= 0: greedy. Default 0.8 */
    int32_t top_k;         /* <= 0: off. Default 40 */
    float top_p;           /* >= 1: off. Default 0.95 */
    float min_p;           /* <= 0: off. Default 0.05 */
    float repeat_penalty;  /* 1: off. Default 1 */
    int32_t repeat_last_n; /* tokens the penalty sees; -1: all. Default 64 */
    uint64_t seed;         /* fixes every draw. Default 0 */
} glowq_sampler_params;

/* Each piece of generated text (whole UTF-8 characters; may be "" for a token that
   completes no character) with the token that ended it. Return 0 to stop (stop reason
   GLOWQ_STOP_CALLBACK; the call still returns GLOWQ_OK). */
typedef int (*glowq_token_fn)(const char* piece, int32_t token, void* user);

typedef struct glowq_generate_params {
    size_t struct_size;
    uint32_t max_tokens; /* default 256 */
    /* NULL: glowq_sampler_default_params(). A pointer, not a member, so that either struct
       can grow at its end without moving the other's fields. */
    const glowq_sampler_params* sampler;
    const char* const* stop; /* n_stop strings that end generation (not emitted) */
    size_t n_stop;
} glowq_generate_params;

typedef struct glowq_generate_result {
    size_t struct_size;
    glowq_stop_reason stop_reason;
    uint32_t prompt_tokens;    /* tokens evaluated for the prompt (after KV reuse) */
    uint32_t generated_tokens;
    double ttfb_ms;            /* call start to first token sampled */
    double prefill_tokens_per_s;
    double decode_tokens_per_s;
} glowq_generate_result;

GLOWQ_API glowq_sampler_params glowq_sampler_default_params(void);
GLOWQ_API glowq_generate_params glowq_generate_default_params(void);
GLOWQ_API glowq_generate_result glowq_generate_result_init(void);

/* ---- session ---- */

typedef struct glowq_session_params {
    size_t struct_size;
    uint32_t context;       /* KV positions; default 2048, at most the model's trained context */
    uint32_t prefill_chunk; /* prompt tokens per GPU submit (the cancel granularity); default 0:
                               512 on GPUs, 128 on CPU drivers */
} glowq_session_params;

GLOWQ_API glowq_session_params glowq_session_default_params(void);
GLOWQ_API glowq_status glowq_session_create(glowq_model* model, const glowq_session_params* params,
                                            glowq_session** out);
GLOWQ_API void glowq_session_destroy(glowq_session* session);
/* The context size in tokens, and the tokens the session holds. */
GLOWQ_API glowq_status glowq_session_context(const glowq_session* session, uint32_t* context, uint32_t* n_tokens);
/* Appends text (tokenized with BOS when the session is empty, special tokens parsed) and
   generates; the reply's tokens stay in the session, so calls continue one text. */
GLOWQ_API glowq_status glowq_session_generate(glowq_session* session, const char* prompt,
                                              const glowq_generate_params* params, glowq_token_fn on_token,
                                              void* user, glowq_generate_result* result);
/* Appends tokens without generating; logits (n_vocab floats, may be NULL) receives the
   last token's logits. */
GLOWQ_API glowq_status glowq_session_eval(glowq_session* session, const int32_t* tokens, size_t n_tokens,
                                          float* logits);
/* Keeps the first n_tokens tokens (0: empty); the rest are forgotten. */
GLOWQ_API glowq_status glowq_session_truncate(glowq_session* session, uint32_t n_tokens);
/* Any thread, any time (see the threading rules). NULL is ignored. */
GLOWQ_API void glowq_session_cancel(glowq_session* session);
/* The session's state (tokens and KV cache) as bytes with a versioned header naming the
   model. data NULL: *size gets the size needed. Restoring refuses a state from another
   model or one that does not fit the context (GLOWQ_INVALID_ARGUMENT) and a corrupt one
   (GLOWQ_INVALID_MODEL); the session is unchanged then. */
GLOWQ_API glowq_status glowq_session_save_state(const glowq_session* session, void* data, size_t capacity,
                                                size_t* size);
GLOWQ_API glowq_status glowq_session_load_state(glowq_session* session, const void* data, size_t size);
GLOWQ_API glowq_status glowq_session_save_file(const glowq_session* session, const char* path);
GLOWQ_API glowq_status glowq_session_load_file(glowq_session* session, const char* path);

/* ---- chat ---- */

typedef struct glowq_chat_params {
    size_t struct_size;
    const char* system_prompt; /* NULL or "": none */
    glowq_session_params session;
} glowq_chat_params;

GLOWQ_API glowq_chat_params glowq_chat_default_params(void);
/* Fails with GLOWQ_UNSUPPORTED when the model has no chat template. */
GLOWQ_API glowq_status glowq_chat_create(glowq_model* model, const glowq_chat_params* params, glowq_chat** out);
GLOWQ_API void glowq_chat_destroy(glowq_chat* chat);
/* Adds a user message and generates the assistant's reply (added to the messages). When
   the conversation outgrows the context, the oldest turns after the system prompt are
   dropped. On failure or cancel the conversation is as it was before the call, except that
   a cancelled reply is kept as far as it got. */
GLOWQ_API glowq_status glowq_chat_send(glowq_chat* chat, const char* user_message, const glowq_generate_params* params,
                                       glowq_token_fn on_token, void* user, glowq_generate_result* result);
/* Drops the last reply (if the last message is the assistant's) and generates it again. */
GLOWQ_API glowq_status glowq_chat_regenerate(glowq_chat* chat, const glowq_generate_params* params,
                                             glowq_token_fn on_token, void* user, glowq_generate_result* result);
/* Replaces message `index` (0 is the first after the system prompt) and drops every
   message after it; glowq_chat_regenerate then answers the edited conversation. */
GLOWQ_API glowq_status glowq_chat_edit(glowq_chat* chat, size_t index, const char* content);
/* Sets (or with NULL/"" removes) the system prompt; keeps the messages. */
GLOWQ_API glowq_status glowq_chat_set_system_prompt(glowq_chat* chat, const char* system_prompt);
/* Removes every message (the system prompt stays). */
GLOWQ_API glowq_status glowq_chat_clear(glowq_chat* chat);
/* Messages after the system prompt; role is "user" or "assistant". */
GLOWQ_API glowq_status glowq_chat_message_count(const glowq_chat* chat, size_t* count);
GLOWQ_API glowq_status glowq_chat_message(const glowq_chat* chat, size_t index, const char** role,
                                          const char** content);
/* Tokens of the conversation in the context, and the context size. */
GLOWQ_API glowq_status glowq_chat_context(const glowq_chat* chat, uint32_t* context, uint32_t* n_tokens);
GLOWQ_API void glowq_chat_cancel(glowq_chat* chat);

#ifdef __cplusplus
}
#endif

#endif /* GLOWQ_H */

/* c_api_test.h: what the C API case files share, so every case checks and generates the same way. */
#ifndef GLOWQ_TESTS_API_C_API_TEST_H
#define GLOWQ_TESTS_API_C_API_TEST_H

#include <glowq/glowq.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Prompts used by more than one case file. */
#define FRANCE "The capital of France is"
#define SENTENCE "The quick brown fox jumps over the lazy dog. " /* about 10 tokens */

/* ---- checks: each reports file:line, the values and glowq_last_error(), then jumps to
   the case's `done:` label, where everything is freed ---- */

void report(const char* file, int line, const char* what);
int check_status(const char* file, int line, const char* expr, glowq_status got, glowq_status want, int want_message);
int check_eq(const char* file, int line, const char* a_expr, const char* b_expr, long long a, long long b);
/* `haystack` contains `needle`, ignoring case; 0 when either is NULL. */
int contains_ci(const char* haystack, const char* needle);
int check_str(const char* file, int line, const char* expr, const char* s, const char* needle, int equal);

#define CHECK(cond)                                      \
    do {                                                 \
        if (!(cond)) {                                   \
            report(__FILE__, __LINE__, #cond);           \
            goto done;                                   \
        }                                                \
    } while (0)
/* The call returns `want`; a failure status must come with a message. */
#define CHECK_STATUS(call, want) \
    do { if (!check_status(__FILE__, __LINE__, #call, (call), (want), (want) != GLOWQ_OK)) goto done; } while (0)
#define CHECK_OK(call) CHECK_STATUS(call, GLOWQ_OK)
#define CHECK_INVALID(call) CHECK_STATUS(call, GLOWQ_INVALID_ARGUMENT)
#define CHECK_EQ(a, b) \
    do { if (!check_eq(__FILE__, __LINE__, #a, #b, (long long)(a), (long long)(b))) goto done; } while (0)
#define CHECK_CONTAINS(s, needle) \
    do { if (!check_str(__FILE__, __LINE__, #s, (s), (needle), 0)) goto done; } while (0)
#define CHECK_STREQ(s, expected) \
    do { if (!check_str(__FILE__, __LINE__, #s, (s), (expected), 1)) goto done; } while (0)
/* glowq_last_error() names the problem (case-insensitive). */
#define CHECK_ERROR_MENTIONS(word)                                                     \
    do {                                                                               \
        if (!contains_ci(glowq_last_error(), (word))) {                                \
            report(__FILE__, __LINE__, "glowq_last_error() mentions \"" word "\"");    \
            goto done;                                                                 \
        }                                                                              \
    } while (0)

/* ---- generation helpers ---- */

#define MAX_COLLECT 256

/* What a token callback saw: token ids, the text, and how often it was called. */
typedef struct collector {
    int32_t tokens[MAX_COLLECT];
    size_t n_tokens;
    char text[8192];
    size_t text_len;
    int overflow;   /* more than fits above */
    int null_piece; /* a NULL piece (the header promises a string) */
    atomic_int calls; /* read by other threads */
} collector;

void collector_init(collector* c);
/* A glowq token callback that records into the collector passed as `user`. */
int collect_token(const char* piece, int32_t token, void* user);
int check_collector(const char* file, int line, const collector* c);
#define CHECK_COLLECTOR(c) do { if (!check_collector(__FILE__, __LINE__, (c))) goto done; } while (0)
int check_same_tokens(const char* file, int line, const char* a_expr, const char* b_expr, const collector* a,
                      const collector* b);
#define CHECK_SAME_TOKENS(a, b) \
    do { if (!check_same_tokens(__FILE__, __LINE__, #a, #b, (a), (b))) goto done; } while (0)

/* Default session parameters with this context (and prefill chunk, unless 0). */
glowq_session_params session_params(uint32_t context, uint32_t prefill_chunk);
/* Default generation parameters, temperature 0, at most `max_tokens`. */
extern const glowq_sampler_params greedy_sampler;
glowq_generate_params greedy(uint32_t max_tokens);
/* Greedy generation, appending to `out`; `result` may be NULL. */
glowq_status generate_into(glowq_session* s, const char* prompt, uint32_t max_tokens, collector* out,
                           glowq_generate_result* result);
/* The same into a reset `out`. */
glowq_status generate_greedy(glowq_session* s, const char* prompt, uint32_t max_tokens, collector* out,
                             glowq_generate_result* result);
/* The same on a fresh session that is destroyed afterwards: the reference run. */
glowq_status generate_fresh(glowq_model* m, const glowq_session_params* sp, const char* prompt, uint32_t max_tokens,
                            collector* out);

/* ---- files and strings ---- */

/* Creates an empty temp file; its path goes to `path`. Returns the open descriptor or -1. */
int make_temp(char* path, size_t capacity, const char* tag);
/* Writes all `size` bytes; 0 on failure. */
int write_all(int fd, const void* data, size_t size);
/* The first `limit` bytes of a file (0: all of it), malloc'd; NULL on failure. */
unsigned char* read_file(const char* path, size_t limit, size_t* size);
/* Unlinks the temp file at `path` (if any) and empties `path`. */
void remove_temp(char* path);
/* `sentence` repeated `times` times, malloc'd. */
char* repeat(const char* sentence, int times);

/* ---- the cases: each returns 1 on pass, 0 after reporting why on stderr ---- */

typedef struct test_env {
    glowq_engine* engine;
    const char* model_path; /* SmolLM2-135M-Instruct */
    const char* other_path; /* a small synthetic Llama, maybe without a chat template */
} test_env;

/* test_generation.c */
int case_paris(const test_env* env);
int case_cancel_prefill(const test_env* env);
int case_cancel_decode(const test_env* env);
int case_two_threads(const test_env* env);
int case_eight_threads(const test_env* env);
/* test_state_and_loading.c */
int case_state(const test_env* env);
int case_load_fd_memory(const test_env* env);
/* test_errors.c */
int case_errors(const test_env* env);

#endif

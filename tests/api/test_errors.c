/* test_errors.c: the errors case: every way a caller can misuse the API or hand it a bad file
   must fail cleanly with a status and a message, never crash or half-succeed. */
#define _POSIX_C_SOURCE 200809L

#include "c_api_test.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temp file holding `size` bytes; its path goes to `path`. */
static int write_temp(char* path, size_t capacity, const char* tag, const void* data, size_t size) {
    int fd = make_temp(path, capacity, tag);
    if (fd < 0) return 0;
    int ok = write_all(fd, data, size);
    return close(fd) == 0 && ok;
}

/* Little-endian GGUF header bytes: magic, version 3, tensor count, metadata count. */
static size_t gguf_header(unsigned char* out, uint64_t n_tensors, uint64_t n_kv) {
    memcpy(out, "GGUF", 4);
    for (int i = 0; i < 4; ++i) out[4 + i] = (unsigned char)(3u >> (8 * i));
    for (int i = 0; i < 8; ++i) out[8 + i] = (unsigned char)(n_tensors >> (8 * i));
    for (int i = 0; i < 8; ++i) out[16 + i] = (unsigned char)(n_kv >> (8 * i));
    return 24;
}

/* A model file that must be refused with `want`, by path (message naming it) and from memory. */
static int check_refused(const test_env* env, const char* tag, const void* data, size_t size, glowq_status want) {
    int ok = 0;
    char path[512] = "";
    glowq_model* m = NULL;
    CHECK(write_temp(path, sizeof path, tag, data, size));
    CHECK_STATUS(glowq_model_load_file(env->engine, path, NULL, &m), want);
    CHECK(m == NULL);
    CHECK_CONTAINS(glowq_last_error(), path);
    if (size > 0) {
        CHECK_STATUS(glowq_model_load_memory(env->engine, data, size, NULL, &m), want);
        CHECK(m == NULL);
    }
    ok = 1;
done:
    if (!ok) fprintf(stderr, "    (the %s file)\n", tag);
    glowq_model_destroy(m);
    remove_temp(path);
    return ok;
}

static int thread_error_empty = -1;
static void* read_last_error(void* arg) {
    (void)arg;
    thread_error_empty = glowq_last_error()[0] == '\0';
    return NULL;
}

/* NULLs, bad parameters, bad files and the status/version strings. */
int case_errors(const test_env* env) {
    int ok = 0;
    glowq_engine* e = NULL;
    glowq_model* m = NULL;
    glowq_model* other = NULL;
    glowq_model* none = NULL;
    glowq_session* s = NULL;
    glowq_session* none_s = NULL;
    glowq_chat* chat = NULL;
    glowq_chat* none_c = NULL;
    unsigned char* head = NULL;
    char* long_prompt = NULL;
    collector c;
    glowq_generate_result r = glowq_generate_result_init();
    glowq_generate_params gp = greedy(4);
    int32_t ids[256] = {0};
    size_t n = 0, needed = 0, len = 0;
    char text[256];
    uint32_t u32 = 0;
    const char* str = NULL;
    float logits[4];
    unsigned char buf[64];

    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    glowq_session_params sp = session_params(64, 0);
    CHECK_OK(glowq_session_create(m, &sp, &s));
    CHECK_OK(glowq_chat_create(m, NULL, &chat));

    /* Destroy and cancel accept NULL; the device name of no engine is NULL. */
    glowq_engine_destroy(NULL);
    glowq_model_destroy(NULL);
    glowq_session_destroy(NULL);
    glowq_chat_destroy(NULL);
    glowq_session_cancel(NULL);
    glowq_chat_cancel(NULL);
    CHECK(glowq_engine_device_name(NULL) == NULL);

    /* NULL handles and NULL out pointers. */
    CHECK_INVALID(glowq_engine_create(NULL, NULL));
    CHECK_INVALID(glowq_model_load_file(NULL, env->model_path, NULL, &none));
    CHECK_INVALID(glowq_model_load_file(env->engine, NULL, NULL, &none));
    CHECK_INVALID(glowq_model_load_file(env->engine, env->model_path, NULL, NULL));
    CHECK_INVALID(glowq_model_load_fd(NULL, 0, 0, 0, NULL, &none));
    CHECK_INVALID(glowq_model_load_fd(env->engine, 0, 0, 0, NULL, NULL));
    CHECK(glowq_model_load_fd(env->engine, -1, 0, 0, NULL, &none) != GLOWQ_OK);
    CHECK_INVALID(glowq_model_load_memory(NULL, buf, sizeof buf, NULL, &none));
    CHECK_INVALID(glowq_model_load_memory(env->engine, NULL, 100, NULL, &none));
    CHECK_INVALID(glowq_model_load_memory(env->engine, buf, sizeof buf, NULL, NULL));
    CHECK(none == NULL);
    glowq_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_INVALID(glowq_model_get_info(NULL, &info));
    CHECK_INVALID(glowq_model_get_info(m, NULL));
    CHECK_INVALID(glowq_model_tokenize(NULL, FRANCE, 1, 1, ids, 256, &n));
    CHECK_INVALID(glowq_model_tokenize(m, NULL, 1, 1, ids, 256, &n));
    CHECK_INVALID(glowq_model_tokenize(m, FRANCE, 1, 1, ids, 256, NULL));
    CHECK_INVALID(glowq_model_detokenize(NULL, ids, 1, text, sizeof text, &len));
    CHECK_INVALID(glowq_model_detokenize(m, NULL, 1, text, sizeof text, &len));
    CHECK_INVALID(glowq_model_detokenize(m, ids, 0, text, sizeof text, NULL));
    CHECK_INVALID(glowq_session_create(NULL, NULL, &none_s));
    CHECK_INVALID(glowq_session_create(m, NULL, NULL));
    CHECK(none_s == NULL);
    CHECK_INVALID(glowq_session_context(NULL, &u32, &u32));
    CHECK_INVALID(glowq_session_generate(NULL, FRANCE, &gp, collect_token, &c, &r));
    CHECK_INVALID(glowq_session_generate(s, NULL, &gp, collect_token, &c, &r));
    CHECK_INVALID(glowq_session_eval(NULL, ids, 1, logits));
    CHECK_INVALID(glowq_session_eval(s, NULL, 1, NULL));
    CHECK_INVALID(glowq_session_truncate(NULL, 0));
    CHECK_INVALID(glowq_session_save_state(NULL, NULL, 0, &n));
    CHECK_INVALID(glowq_session_save_state(s, NULL, 0, NULL));
    CHECK_INVALID(glowq_session_load_state(NULL, buf, sizeof buf));
    CHECK_INVALID(glowq_session_load_state(s, NULL, 100));
    CHECK_INVALID(glowq_session_save_file(NULL, "/tmp/glowq-never-written"));
    CHECK_INVALID(glowq_session_save_file(s, NULL));
    CHECK_INVALID(glowq_session_load_file(NULL, env->model_path));
    CHECK_INVALID(glowq_session_load_file(s, NULL));
    CHECK_INVALID(glowq_chat_create(NULL, NULL, &none_c));
    CHECK_INVALID(glowq_chat_create(m, NULL, NULL));
    CHECK(none_c == NULL);
    CHECK_INVALID(glowq_chat_send(NULL, "Hi", &gp, collect_token, &c, &r));
    CHECK_INVALID(glowq_chat_send(chat, NULL, &gp, collect_token, &c, &r));
    CHECK_INVALID(glowq_chat_regenerate(NULL, &gp, collect_token, &c, &r));
    CHECK_INVALID(glowq_chat_edit(NULL, 0, "Hi"));
    CHECK_INVALID(glowq_chat_edit(chat, 0, "Hi")); /* no message 0 yet */
    CHECK_INVALID(glowq_chat_set_system_prompt(NULL, "You are terse."));
    CHECK_INVALID(glowq_chat_clear(NULL));
    CHECK_INVALID(glowq_chat_message_count(NULL, &n));
    CHECK_INVALID(glowq_chat_message_count(chat, NULL));
    CHECK_INVALID(glowq_chat_message(NULL, 0, &str, &str));
    CHECK_INVALID(glowq_chat_message(chat, 0, &str, &str)); /* no message 0 yet */
    CHECK_INVALID(glowq_chat_context(NULL, &u32, &u32));

    /* glowq_last_error() is per thread: a new thread has none. */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, read_last_error, NULL) == 0);
    pthread_join(thread, NULL);
    CHECK_EQ(thread_error_empty, 1);

    /* Unknown limits profiles and feature bits are refused, naming the field. */
    {
        glowq_engine_params ep = glowq_engine_default_params();
        ep.limits = 7;
        CHECK_INVALID(glowq_engine_create(&ep, &e));
        CHECK(e == NULL && strstr(glowq_last_error(), "limits") != NULL);
        ep = glowq_engine_default_params();
        ep.disable_features = 1u << 30;
        CHECK_INVALID(glowq_engine_create(&ep, &e));
        CHECK(e == NULL && strstr(glowq_last_error(), "disable_features") != NULL);
    }

    /* struct_size 0, or too small to hold struct_size itself. */
    const size_t bad_sizes[2] = {0, sizeof(size_t) - 1};
    for (int i = 0; i < 2; ++i) {
        glowq_engine_params ep = glowq_engine_default_params();
        ep.struct_size = bad_sizes[i];
        CHECK_INVALID(glowq_engine_create(&ep, &e));
        CHECK(e == NULL);
        glowq_model_params mp = glowq_model_default_params();
        mp.struct_size = bad_sizes[i];
        CHECK_INVALID(glowq_model_load_file(env->engine, env->model_path, &mp, &none));
        CHECK(none == NULL);
        glowq_session_params bsp = glowq_session_default_params();
        bsp.struct_size = bad_sizes[i];
        CHECK_INVALID(glowq_session_create(m, &bsp, &none_s));
        CHECK(none_s == NULL);
        glowq_chat_params cp = glowq_chat_default_params();
        cp.struct_size = bad_sizes[i];
        CHECK_INVALID(glowq_chat_create(m, &cp, &none_c));
        cp = glowq_chat_default_params();
        cp.session.struct_size = bad_sizes[i];
        CHECK_INVALID(glowq_chat_create(m, &cp, &none_c));
        CHECK(none_c == NULL);
        glowq_generate_params bgp = greedy(4);
        bgp.struct_size = bad_sizes[i];
        collector_init(&c);
        CHECK_INVALID(glowq_session_generate(s, FRANCE, &bgp, collect_token, &c, &r));
        bgp = greedy(4);
        glowq_sampler_params bad_sampler = greedy_sampler;
        bad_sampler.struct_size = bad_sizes[i];
        bgp.sampler = &bad_sampler;
        CHECK_INVALID(glowq_session_generate(s, FRANCE, &bgp, collect_token, &c, &r));
        CHECK_EQ(atomic_load(&c.calls), 0);
    }

    /* Tokenizing into too small a buffer reports the count needed; detokenizing likewise. */
    CHECK_OK(glowq_model_tokenize(m, FRANCE, 0, 0, ids, 256, &n));
    CHECK(n >= 4);
    CHECK_INVALID(glowq_model_tokenize(m, FRANCE, 0, 0, ids, 2, &needed));
    CHECK_EQ(needed, n);
    CHECK_OK(glowq_model_detokenize(m, ids, n, text, sizeof text, &len));
    CHECK_STREQ(text, FRANCE);
    CHECK_EQ(len, strlen(FRANCE));
    len = 0;
    CHECK_INVALID(glowq_model_detokenize(m, ids, n, text, 4, &len));
    CHECK_EQ(len, strlen(FRANCE));

    /* Prompts: empty, and too long for the context (64). */
    collector_init(&c);
    CHECK_INVALID(glowq_session_generate(s, "", &gp, collect_token, &c, &r));
    CHECK_ERROR_MENTIONS("empty");
    long_prompt = repeat(SENTENCE, 20); /* about 200 tokens */
    CHECK(long_prompt != NULL);
    CHECK_STATUS(glowq_session_generate(s, long_prompt, &gp, collect_token, &c, &r), GLOWQ_CONTEXT_FULL);
    CHECK_ERROR_MENTIONS("context");
    CHECK_EQ(atomic_load(&c.calls), 0);

    /* Files that are not models. */
    char missing[512];
    const char* dir = getenv("TMPDIR");
    snprintf(missing, sizeof missing, "%s/glowq-test-missing-%ld/model.gguf", dir && *dir ? dir : "/tmp",
             (long)getpid());
    CHECK_STATUS(glowq_model_load_file(env->engine, missing, NULL, &none), GLOWQ_IO_ERROR);
    CHECK_CONTAINS(glowq_last_error(), missing);
    CHECK(none == NULL);

    size_t head_size = 0;
    head = read_file(env->model_path, 1000, &head_size);
    CHECK(head != NULL);
    CHECK_EQ(head_size, 1000);
    CHECK(check_refused(env, "truncated", head, head_size, GLOWQ_INVALID_MODEL));
    CHECK(check_refused(env, "empty", "", 0, GLOWQ_INVALID_MODEL));
    size_t k = gguf_header(buf, UINT64_MAX, 0);
    CHECK(check_refused(env, "huge-tensor-count", buf, k, GLOWQ_INVALID_MODEL));
    k = gguf_header(buf, 0, UINT64_MAX);
    CHECK(check_refused(env, "huge-metadata-count", buf, k, GLOWQ_INVALID_MODEL));
    k = gguf_header(buf, 0, 1);
    for (size_t i = 0; i < 8; ++i) buf[k + i] = 0xFF; /* the first key's length */
    CHECK(check_refused(env, "huge-key", buf, k + 8, GLOWQ_INVALID_MODEL));
    const char* not_gguf = "This is a plain text file, not a GGUF model.\nIt has a few lines of text.\n";
    CHECK(check_refused(env, "text", not_gguf, strlen(not_gguf), GLOWQ_INVALID_MODEL));

    /* A model without a chat template cannot start a chat. */
    CHECK_OK(glowq_model_load_file(env->engine, env->other_path, NULL, &other));
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(glowq_model_get_info(other, &info));
    if (!info.has_chat_template) {
        CHECK_STATUS(glowq_chat_create(other, NULL, &none_c), GLOWQ_UNSUPPORTED);
        CHECK(none_c == NULL);
    }

    /* Names and version. */
    CHECK_STREQ(glowq_status_name(GLOWQ_CANCELLED), "GLOWQ_CANCELLED");
    CHECK_STREQ(glowq_status_name(GLOWQ_OK), "GLOWQ_OK");
    CHECK(glowq_status_name((glowq_status)999) != NULL);
    char version[32];
    snprintf(version, sizeof version, "%d.%d.%d", GLOWQ_VERSION_MAJOR, GLOWQ_VERSION_MINOR, GLOWQ_VERSION_PATCH);
    CHECK(glowq_version() != NULL && glowq_version()[0] != '\0');
    {
        /* A caller built against an older, smaller result struct: only its bytes are written
           and its struct_size stays what it said. */
        union {
            glowq_generate_result r;
            unsigned char bytes[sizeof(glowq_generate_result) + 16];
        } old;
        memset(&old, 0xAB, sizeof old);
        const size_t old_size = offsetof(glowq_generate_result, generated_tokens);
        old.r.struct_size = old_size;
        glowq_generate_params gp = greedy(2);
        collector_init(&c);
        CHECK_OK(glowq_session_truncate(s, 0));
        CHECK_OK(glowq_session_generate(s, FRANCE, &gp, collect_token, &c, &old.r));
        CHECK_EQ(old.r.struct_size, old_size);
        CHECK(old.r.prompt_tokens > 0);
        CHECK_EQ(old.bytes[old_size], 0xAB);
        CHECK_EQ(old.bytes[sizeof old - 1], 0xAB);
    }
    {
        const glowq_sampler_params d = glowq_sampler_default_params();
        CHECK(d.struct_size == greedy_sampler.struct_size && d.top_k == greedy_sampler.top_k &&
              d.top_p == greedy_sampler.top_p && d.min_p == greedy_sampler.min_p &&
              d.repeat_penalty == greedy_sampler.repeat_penalty && d.repeat_last_n == greedy_sampler.repeat_last_n &&
              d.seed == greedy_sampler.seed && d.temperature > 0.0f);
    }
    {
        /* Handles used after their destroy, destroyed twice, or passed as another kind: an
           error naming the handle, never a touch of freed memory (AddressSanitizer runs this). */
        glowq_session* gone = NULL;
        glowq_chat* gone_c = NULL;
        glowq_model* gone_m = NULL;
        CHECK_OK(glowq_session_create(m, &sp, &gone));
        glowq_session_destroy(gone);
        glowq_session_destroy(gone);
        glowq_session_cancel(gone);
        CHECK_INVALID(glowq_session_context(gone, &u32, NULL));
        CHECK_ERROR_MENTIONS("not a live glowq_session");
        CHECK_INVALID(glowq_session_generate(gone, FRANCE, &gp, collect_token, &c, &r));
        CHECK_OK(glowq_chat_create(m, NULL, &gone_c));
        glowq_chat_destroy(gone_c);
        glowq_chat_cancel(gone_c);
        CHECK_INVALID(glowq_chat_clear(gone_c));
        CHECK_ERROR_MENTIONS("not a live glowq_chat");
        CHECK_INVALID(glowq_session_context((glowq_session*)(void*)m, &u32, NULL));
        CHECK_ERROR_MENTIONS("not a live glowq_session");
        CHECK_INVALID(glowq_session_create((glowq_model*)(void*)s, &sp, &none_s));
        CHECK_ERROR_MENTIONS("not a live glowq_model");
        glowq_model_destroy((glowq_model*)(void*)s); /* the wrong kind: not destroyed */
        CHECK_OK(glowq_session_context(s, &u32, NULL));
        CHECK_OK(glowq_model_load_file(env->engine, env->other_path, NULL, &gone_m));
        glowq_model_destroy(gone_m);
        glowq_model_destroy(gone_m);
        CHECK_INVALID(glowq_session_create(gone_m, &sp, &none_s));
        CHECK(glowq_engine_device_name((glowq_engine*)(void*)m) == NULL);
    }
    CHECK_STREQ(glowq_version(), version);
    ok = 1;
done:
    free(long_prompt);
    free(head);
    /* Handles a failing call should not have made, destroyed in case it did. */
    glowq_chat_destroy(none_c);
    glowq_session_destroy(none_s);
    glowq_model_destroy(none);
    glowq_engine_destroy(e);
    glowq_chat_destroy(chat);
    glowq_session_destroy(s);
    glowq_model_destroy(other);
    glowq_model_destroy(m);
    return ok;
}

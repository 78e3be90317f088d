/* test_state_and_loading.c: the cases that move a model or a session's state in and out of
   files and memory; both compare against a reference generation to prove nothing was lost. */
#define _POSIX_C_SOURCE 200809L

#include "c_api_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ITALY " and the capital of Italy is" /* continues FRANCE */

/* Session state: save, continue, restore, continue again; files; refusals. */
int case_state(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    glowq_model* other = NULL;
    glowq_session* s = NULL;
    glowq_session* s2 = NULL;
    glowq_session* so = NULL;
    unsigned char* state = NULL;
    unsigned char* bad = NULL;
    char path[512] = "";
    collector c, t1, t2;
    glowq_session_params sp = session_params(256, 0);
    uint32_t context = 0, n_saved = 0, n = 0;

    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    CHECK_OK(glowq_session_create(m, &sp, &s));
    CHECK_OK(generate_greedy(s, FRANCE, 4, &c, NULL));
    CHECK_OK(glowq_session_context(s, &context, &n_saved));
    CHECK_EQ(context, 256);
    CHECK(n_saved > 4);

    size_t size = 0, size2 = 0;
    CHECK_OK(glowq_session_save_state(s, NULL, 0, &size));
    CHECK(size > 0);
    state = malloc(size);
    CHECK(state != NULL);
    CHECK_OK(glowq_session_save_state(s, state, size, &size2));
    CHECK_EQ(size2, size);

    CHECK_OK(generate_greedy(s, ITALY, 8, &t1, NULL));
    CHECK_OK(glowq_session_load_state(s, state, size));
    CHECK_OK(glowq_session_context(s, &context, &n));
    CHECK_EQ(n, n_saved);
    CHECK_OK(generate_greedy(s, ITALY, 8, &t2, NULL));
    CHECK_COLLECTOR(&t1);
    CHECK_SAME_TOKENS(&t1, &t2);

    /* A file round trip, restored into a second session. */
    CHECK_OK(glowq_session_load_state(s, state, size));
    int fd = make_temp(path, sizeof path, "state"); /* save_file replaces it */
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(glowq_session_save_file(s, path));
    CHECK_OK(glowq_session_create(m, &sp, &s2));
    CHECK_OK(glowq_session_load_file(s2, path));
    CHECK_OK(glowq_session_context(s2, &context, &n));
    CHECK_EQ(n, n_saved);
    CHECK_OK(generate_greedy(s2, ITALY, 8, &t2, NULL));
    CHECK_SAME_TOKENS(&t1, &t2);

    /* Another model's session refuses the state and stays as it was. */
    CHECK_OK(glowq_model_load_file(env->engine, env->other_path, NULL, &other));
    CHECK_OK(glowq_session_create(other, &sp, &so));
    CHECK_STATUS(glowq_session_load_state(so, state, size), GLOWQ_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("model");
    CHECK_OK(glowq_session_context(so, &context, &n));
    CHECK_EQ(n, 0);

    /* Corrupt and truncated states are refused; the session is unchanged. */
    CHECK_OK(glowq_session_load_state(s, state, size));
    bad = malloc(size);
    CHECK(bad != NULL);
    memcpy(bad, state, size);
    for (size_t i = 0; i < 4 && i < size; ++i) bad[i] ^= 0xA5; /* the header's magic */
    CHECK_STATUS(glowq_session_load_state(s, bad, size), GLOWQ_INVALID_MODEL);
    glowq_status st = glowq_session_load_state(s, state, size / 2);
    CHECK(st != GLOWQ_OK);
    CHECK(glowq_last_error()[0] != '\0');
    CHECK_OK(glowq_session_context(s, &context, &n));
    CHECK_EQ(n, n_saved);
    CHECK_OK(generate_greedy(s, ITALY, 8, &t2, NULL));
    CHECK_SAME_TOKENS(&t1, &t2);
    ok = 1;
done:
    remove_temp(path);
    free(bad);
    free(state);
    glowq_session_destroy(so);
    glowq_session_destroy(s2);
    glowq_session_destroy(s);
    glowq_model_destroy(other);
    glowq_model_destroy(m);
    return ok;
}

/* Load progress: values seen, and a callback that cancels at once. */
typedef struct progress_log {
    int calls;
    float last;
    int decreased;
    int out_of_range;
    int cancel; /* return 0 (cancel) */
} progress_log;

static int record_progress(float fraction, void* user) {
    progress_log* p = user;
    if (p->calls > 0 && fraction < p->last) p->decreased = 1;
    if (!(fraction >= 0.0f && fraction <= 1.0f)) p->out_of_range = 1;
    p->last = fraction;
    p->calls++;
    return !p->cancel;
}

/* The same model from a path, a descriptor (whole, and inside a bigger file) and memory. */
int case_load_fd_memory(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    unsigned char* data = NULL;
    unsigned char* junk = NULL;
    char path[512] = "";
    int fd = -1;
    size_t size = 0;
    collector ref, c;
    glowq_session_params sp = session_params(256, 0);
    const size_t junk_size = 4096;

    /* A progress callback that cancels. */
    progress_log cancel = {0, 0.0f, 0, 0, 1};
    glowq_model_params mp = glowq_model_default_params();
    mp.progress = record_progress;
    mp.progress_user = &cancel;
    CHECK_STATUS(glowq_model_load_file(env->engine, env->model_path, &mp, &m), GLOWQ_CANCELLED);
    CHECK(m == NULL);
    CHECK_EQ(cancel.calls, 1);

    /* By path, recording progress. */
    progress_log progress = {0, 0.0f, 0, 0, 0};
    mp.progress_user = &progress;
    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, &mp, &m));
    CHECK(progress.calls > 0);
    CHECK(!progress.decreased);
    CHECK(!progress.out_of_range);
    CHECK(progress.last == 1.0f);
    glowq_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(glowq_model_get_info(m, &info));
    CHECK_EQ(info.n_vocab, 49152);
    CHECK_STREQ(info.architecture, "llama");
    CHECK_EQ(info.has_chat_template, 1);
    CHECK_OK(generate_fresh(m, &sp, FRANCE, 8, &ref));
    CHECK_COLLECTOR(&ref);
    CHECK(ref.n_tokens > 0);
    glowq_model_destroy(m);
    m = NULL;

    /* From a descriptor: the whole file (length 0). */
    fd = open(env->model_path, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_OK(glowq_model_load_fd(env->engine, fd, 0, 0, NULL, &m));
    close(fd);
    fd = -1;
    CHECK_OK(generate_fresh(m, &sp, FRANCE, 8, &c));
    CHECK_SAME_TOKENS(&c, &ref);
    glowq_model_destroy(m);
    m = NULL;

    /* From a descriptor: junk, the model, junk; the model at [4096, 4096 + size). */
    data = read_file(env->model_path, 0, &size);
    CHECK(data != NULL);
    junk = malloc(junk_size);
    CHECK(junk != NULL);
    for (size_t i = 0; i < junk_size; ++i) junk[i] = (unsigned char)(i * 131u + 7u);
    fd = make_temp(path, sizeof path, "embedded");
    CHECK(fd >= 0);
    CHECK(write_all(fd, junk, junk_size) && write_all(fd, data, size) && write_all(fd, junk, junk_size));
    CHECK_OK(glowq_model_load_fd(env->engine, fd, junk_size, size, NULL, &m));
    close(fd);
    fd = -1;
    remove_temp(path);
    CHECK_OK(generate_fresh(m, &sp, FRANCE, 8, &c));
    CHECK_SAME_TOKENS(&c, &ref);
    glowq_model_destroy(m);
    m = NULL;

    /* From memory, freed before the model is used. */
    CHECK_OK(glowq_model_load_memory(env->engine, data, size, NULL, &m));
    free(data);
    data = NULL;
    CHECK_OK(generate_fresh(m, &sp, FRANCE, 8, &c));
    CHECK_SAME_TOKENS(&c, &ref);
    ok = 1;
done:
    if (fd >= 0) close(fd);
    remove_temp(path);
    free(junk);
    free(data);
    glowq_model_destroy(m);
    return ok;
}

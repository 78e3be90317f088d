/* test_generation.c: the cases about generating text: a chat reply, cancelling from another
   thread (during prefill and between tokens), and two sessions generating at once. They share
   the cancel threads and the check that a cancelled session recovers. */
#define _POSIX_C_SOURCE 200809L

#include "c_api_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORY "Once upon a time"

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- threads ---- */

/* A second thread that cancels a session: every 10 ms until `done` (cancel_repeatedly), or
   once after `watch` saw `after_calls` tokens (cancel_after_tokens). */
typedef struct canceller {
    glowq_session* session;
    collector* watch;
    int after_calls;
    atomic_int done; /* the main thread's call returned */
    atomic_int cancels;
} canceller;

static void* cancel_repeatedly(void* arg) {
    canceller* c = arg;
    while (!atomic_load(&c->done)) {
        glowq_session_cancel(c->session);
        atomic_fetch_add(&c->cancels, 1);
        sleep_ms(10);
    }
    return NULL;
}

static void* cancel_after_tokens(void* arg) {
    canceller* c = arg;
    while (!atomic_load(&c->done)) {
        if (atomic_load(&c->watch->calls) >= c->after_calls) {
            glowq_session_cancel(c->session);
            atomic_fetch_add(&c->cancels, 1);
            break;
        }
        sleep_ms(1);
    }
    return NULL;
}

static void canceller_init(canceller* c, glowq_session* s, collector* watch, int after_calls) {
    c->session = s;
    c->watch = watch;
    c->after_calls = after_calls;
    atomic_init(&c->done, 0);
    atomic_init(&c->cancels, 0);
}

/* A chat answers a question, streams the reply and keeps it as the assistant's message. */
int case_paris(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    glowq_chat* chat = NULL;
    collector c;
    collector_init(&c);
    const char* question = "What is the capital of France?";

    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    CHECK_OK(glowq_chat_create(m, NULL, &chat));
    glowq_generate_params p = greedy(24);
    glowq_generate_result r = glowq_generate_result_init();
    CHECK_OK(glowq_chat_send(chat, question, &p, collect_token, &c, &r));
    CHECK_COLLECTOR(&c);
    fprintf(stderr, "reply: \"%s\"\n", c.text);
    CHECK_CONTAINS(c.text, "Paris");
    CHECK(r.stop_reason == GLOWQ_STOP_EOS || r.stop_reason == GLOWQ_STOP_MAX_TOKENS);
    CHECK(r.generated_tokens > 0);
    CHECK(r.generated_tokens <= 24);
    CHECK(r.prompt_tokens > 0);

    size_t count = 0;
    const char* role = NULL;
    const char* content = NULL;
    CHECK_OK(glowq_chat_message_count(chat, &count));
    CHECK_EQ(count, 2);
    /* Strings from the library last until the next call on the chat: compare at once. */
    CHECK_OK(glowq_chat_message(chat, 0, &role, &content));
    CHECK_STREQ(role, "user");
    CHECK_STREQ(content, question);
    CHECK_OK(glowq_chat_message(chat, 1, &role, &content));
    CHECK_STREQ(role, "assistant");
    CHECK_STREQ(content, c.text);
    ok = 1;
done:
    glowq_chat_destroy(chat);
    glowq_model_destroy(m);
    return ok;
}

/* After a cancel and truncate(0), a session answers exactly like a fresh one. */
static int check_session_recovers(glowq_model* m, glowq_session* s, const glowq_session_params* sp) {
    int ok = 0;
    collector after, fresh;
    CHECK_OK(glowq_session_truncate(s, 0));
    uint32_t context = 0, n_tokens = 1;
    CHECK_OK(glowq_session_context(s, &context, &n_tokens));
    CHECK_EQ(n_tokens, 0);
    CHECK_OK(generate_greedy(s, FRANCE, 8, &after, NULL));
    CHECK_OK(generate_fresh(m, sp, FRANCE, 8, &fresh));
    CHECK_COLLECTOR(&after);
    CHECK_SAME_TOKENS(&after, &fresh);
    CHECK_CONTAINS(after.text, "Paris");
    ok = 1;
done:
    return ok;
}

/* A cancel during the prompt's prefill (a 10 ms cancel loop on another thread). */
int case_cancel_prefill(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    glowq_session* s = NULL;
    char* prompt = repeat(SENTENCE, 15); /* about 150 tokens: 19 chunks of 8 */
    int32_t* ids = NULL;
    collector c;
    canceller cn;
    pthread_t thread;
    glowq_session_params sp = session_params(512, 8);

    CHECK(prompt != NULL);
    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    size_t n = 0;
    ids = malloc(1024 * sizeof *ids);
    CHECK(ids != NULL);
    CHECK_OK(glowq_model_tokenize(m, prompt, 1, 1, ids, 1024, &n));
    CHECK(n >= 100 && n < 400);
    CHECK_OK(glowq_session_create(m, &sp, &s));

    collector_init(&c);
    canceller_init(&cn, s, NULL, 0);
    CHECK(pthread_create(&thread, NULL, cancel_repeatedly, &cn) == 0);
    glowq_generate_result r = glowq_generate_result_init();
    glowq_status st = generate_into(s, prompt, 8, &c, &r);
    atomic_store(&cn.done, 1);
    pthread_join(thread, NULL);
    CHECK(atomic_load(&cn.cancels) > 0);
    CHECK_STATUS(st, GLOWQ_CANCELLED);
    CHECK_EQ(atomic_load(&c.calls), 0); /* cancelled before the first token */
    {
        uint32_t context = 0, held = 1;
        CHECK_OK(glowq_session_context(s, &context, &held));
        CHECK_EQ(held, 0); /* the cancelled prompt is not left half in the session */
    }

    CHECK(check_session_recovers(m, s, &sp));
    ok = 1;
done:
    glowq_session_destroy(s);
    glowq_model_destroy(m);
    free(ids);
    free(prompt);
    return ok;
}

/* A cancel between generated tokens, once, after the third token. */
int case_cancel_decode(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    glowq_session* s = NULL;
    collector c;
    canceller cn;
    pthread_t thread;
    glowq_session_params sp = session_params(512, 0);

    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    CHECK_OK(glowq_session_create(m, &sp, &s));
    collector_init(&c);
    canceller_init(&cn, s, &c, 3);
    CHECK(pthread_create(&thread, NULL, cancel_after_tokens, &cn) == 0); /* it reads c.calls */
    glowq_generate_result r = glowq_generate_result_init();
    glowq_status st = generate_into(s, STORY, 200, &c, &r);
    atomic_store(&cn.done, 1);
    pthread_join(thread, NULL);
    CHECK_EQ(atomic_load(&cn.cancels), 1); /* else the reply ended before 3 tokens */
    CHECK_STATUS(st, GLOWQ_CANCELLED);
    CHECK_EQ(r.stop_reason, GLOWQ_STOP_CANCELLED);
    CHECK(atomic_load(&c.calls) >= 3);
    CHECK(atomic_load(&c.calls) < 200);
    CHECK(r.generated_tokens >= 3 && r.generated_tokens < 200);

    CHECK(check_session_recovers(m, s, &sp));
    ok = 1;
done:
    glowq_session_destroy(s);
    glowq_model_destroy(m);
    return ok;
}

/* Two sessions of one model generating at once, each on its own thread. */
typedef struct worker {
    glowq_session* session;
    const char* prompt;
    collector out;
    glowq_status status;
    char error[512]; /* glowq_last_error() is per thread: copied here */
} worker;

static void* run_worker(void* arg) {
    worker* w = arg;
    w->status = generate_greedy(w->session, w->prompt, 16, &w->out, NULL);
    snprintf(w->error, sizeof w->error, "%s", w->status == GLOWQ_OK ? "" : glowq_last_error());
    return NULL;
}

int case_two_threads(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    worker w[2];
    collector ref[2];
    const char* prompts[2] = {FRANCE, STORY};
    glowq_session_params sp = session_params(256, 0);
    memset(w, 0, sizeof w);

    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    for (int i = 0; i < 2; ++i) CHECK_OK(generate_fresh(m, &sp, prompts[i], 16, &ref[i]));
    for (int i = 0; i < 2; ++i) {
        w[i].prompt = prompts[i];
        CHECK_OK(glowq_session_create(m, &sp, &w[i].session));
    }
    pthread_t threads[2];
    int started = 0;
    for (; started < 2; ++started)
        if (pthread_create(&threads[started], NULL, run_worker, &w[started]) != 0) break;
    for (int i = 0; i < started; ++i) pthread_join(threads[i], NULL);
    CHECK_EQ(started, 2);
    for (int i = 0; i < 2; ++i) {
        if (w[i].status != GLOWQ_OK)
            fprintf(stderr, "thread %d: %s: %s\n", i, glowq_status_name(w[i].status), w[i].error);
        CHECK_OK(w[i].status);
        CHECK_COLLECTOR(&w[i].out);
        CHECK_COLLECTOR(&ref[i]);
    }
    CHECK_SAME_TOKENS(&w[0].out, &ref[0]);
    CHECK_SAME_TOKENS(&w[1].out, &ref[1]);
    ok = 1;
done:
    for (int i = 0; i < 2; ++i) glowq_session_destroy(w[i].session);
    glowq_model_destroy(m);
    return ok;
}

/* Eight sessions of one model, each generating on its own thread, while a ninth thread
   cancels a random one every 10-160 ms (24 cancels in all). A cancelled run's tokens are a prefix of that
   session's single-thread output; the worker then starts over, until a run completes, which
   must equal the single-thread output. GLOWQ_TEST_THREAD_TOKENS sets the tokens per session
   (default 24). */
#define N_THREADS 8

typedef struct retry_worker {
    glowq_session* session;
    const char* prompt;
    const collector* ref;
    uint32_t tokens;
    int attempts, cancelled, bad_prefix;
    glowq_status status;
    collector out;
    char error[512];
    atomic_int finished;
} retry_worker;

static int is_prefix(const collector* part, const collector* whole) {
    if (part->n_tokens > whole->n_tokens) return 0;
    return memcmp(part->tokens, whole->tokens, part->n_tokens * sizeof(int32_t)) == 0;
}

static void* run_retry_worker(void* arg) {
    retry_worker* w = arg;
    for (w->attempts = 1; w->attempts <= 200; ++w->attempts) {
        collector_init(&w->out);
        /* generate appends to the session: start over, as an app retrying a request would */
        w->status = glowq_session_truncate(w->session, 0);
        if (w->status != GLOWQ_OK) break;
        w->status = generate_greedy(w->session, w->prompt, w->tokens, &w->out, NULL);
        if (w->status != GLOWQ_CANCELLED) break;
        ++w->cancelled;
        if (!is_prefix(&w->out, w->ref)) ++w->bad_prefix;
    }
    snprintf(w->error, sizeof w->error, "%s", w->status == GLOWQ_OK ? "" : glowq_last_error());
    atomic_store(&w->finished, 1);
    return NULL;
}

typedef struct random_canceller {
    retry_worker* workers;
    atomic_int done;
    int cancels;
} random_canceller;

static void* cancel_randomly(void* arg) {
    random_canceller* c = arg;
    unsigned seed = 2026;
    /* A bounded number of cancels, so that every worker gets to finish however slow the
       device (lavapipe under the validation layer: a token can take 100 ms). */
    while (!atomic_load(&c->done) && c->cancels < 3 * N_THREADS) {
        const int i = rand_r(&seed) % N_THREADS;
        if (!atomic_load(&c->workers[i].finished)) {
            glowq_session_cancel(c->workers[i].session);
            ++c->cancels;
        }
        sleep_ms(10 + rand_r(&seed) % 150);
    }
    return NULL;
}

int case_eight_threads(const test_env* env) {
    int ok = 0;
    glowq_model* m = NULL;
    static retry_worker w[N_THREADS];
    static collector ref[N_THREADS];
    static char prompts[N_THREADS][64];
    random_canceller rc;
    pthread_t threads[N_THREADS], cancel_thread;
    int started = 0, cancel_started = 0;
    const char* env_tokens = getenv("GLOWQ_TEST_THREAD_TOKENS");
    const uint32_t tokens = env_tokens ? (uint32_t)atoi(env_tokens) : 24;
    glowq_session_params sp = session_params(256, 0);
    memset(w, 0, sizeof w);
    rc.workers = w;
    rc.cancels = 0;
    atomic_init(&rc.done, 0);

    CHECK(tokens > 0 && tokens <= MAX_COLLECT);
    CHECK_OK(glowq_model_load_file(env->engine, env->model_path, NULL, &m));
    for (int i = 0; i < N_THREADS; ++i) {
        snprintf(prompts[i], sizeof prompts[i], "Story number %d: once upon a time", i + 1);
        CHECK_OK(generate_fresh(m, &sp, prompts[i], tokens, &ref[i]));
        w[i].prompt = prompts[i];
        w[i].ref = &ref[i];
        w[i].tokens = tokens;
        atomic_init(&w[i].finished, 0);
        CHECK_OK(glowq_session_create(m, &sp, &w[i].session));
    }
    for (; started < N_THREADS; ++started)
        if (pthread_create(&threads[started], NULL, run_retry_worker, &w[started]) != 0) break;
    cancel_started = pthread_create(&cancel_thread, NULL, cancel_randomly, &rc) == 0;
    for (int i = 0; i < started; ++i) pthread_join(threads[i], NULL);
    atomic_store(&rc.done, 1);
    if (cancel_started) pthread_join(cancel_thread, NULL);
    CHECK_EQ(started, N_THREADS);
    CHECK(cancel_started);
    {
        int cancelled = 0;
        for (int i = 0; i < N_THREADS; ++i) {
            if (w[i].status != GLOWQ_OK)
                fprintf(stderr, "thread %d: %s after %d attempts: %s\n", i, glowq_status_name(w[i].status),
                        w[i].attempts, w[i].error);
            CHECK_OK(w[i].status);
            CHECK_EQ(w[i].bad_prefix, 0);
            CHECK_SAME_TOKENS(&w[i].out, &ref[i]);
            cancelled += w[i].cancelled;
        }
        fprintf(stderr, "%d threads x %u tokens: %d cancels sent, %d runs cancelled, every output as on one thread\n",
                N_THREADS, tokens, rc.cancels, cancelled);
        CHECK(cancelled > 0);
    }
    ok = 1;
done:
    for (int i = 0; i < N_THREADS; ++i) glowq_session_destroy(w[i].session);
    glowq_model_destroy(m);
    return ok;
}

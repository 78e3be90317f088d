/* test_c_api_main.c: the C API test program, in plain C11 against glowq.h only (+ libc, pthreads).
 * One ctest runs one case, so the program only picks the case, sets up the engine and
 * watches the log; the cases live in test_generation.c, test_state_and_loading.c and
 * test_errors.c.
 *
 *   test_c_api list                  the case names, one a line (one ctest each)
 *   test_c_api CASE MODEL OTHER      run one case; exit 0 on pass, 1 on failure
 *
 * MODEL is SmolLM2-135M-Instruct (Q4_1, Llama, ChatML template, 49152 tokens); OTHER is a
 * small synthetic Llama with random weights (a different model, maybe without a template).
 * GLOWQ_LIMITS=android-baseline runs within the Android baseline limits.
 * GLOWQ_VALIDATION set to anything but "0" turns the Khronos validation layer on; any
 * warning that mentions validation fails the case. The library runs on lavapipe in CI (about
 * 20 prompt tokens/s and 10 generated tokens/s), so prompts and replies are kept short.
 */
#include "c_api_test.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct test_case {
    const char* name;
    int (*run)(const test_env* env);
} test_case;

static const test_case cases[] = {
    {"paris", case_paris},
    {"cancel_prefill", case_cancel_prefill},
    {"cancel_decode", case_cancel_decode},
    {"two_threads", case_two_threads},
    {"eight_threads", case_eight_threads},
    {"state", case_state},
    {"errors", case_errors},
    {"load_fd_memory", case_load_fd_memory},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Warnings and errors go to stderr; those about validation fail the case. The log may be
   called from any thread that uses the engine. */
static atomic_int validation_messages;

static void on_log(glowq_log_level level, const char* message, void* user) {
    (void)user;
    if (level < GLOWQ_LOG_WARNING) return;
    fprintf(stderr, "[glowq %s] %s\n", level >= GLOWQ_LOG_ERROR ? "error" : "warning", message ? message : "(null)");
    if (contains_ci(message, "validation")) atomic_fetch_add(&validation_messages, 1);
}

int main(int argc, char** argv) {
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < N_CASES; ++i) printf("%s\n", cases[i].name);
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: test_c_api list\n       test_c_api CASE MODEL.gguf OTHER_MODEL.gguf\n");
        return 2;
    }
    const test_case* tc = NULL;
    for (size_t i = 0; i < N_CASES; ++i)
        if (strcmp(argv[1], cases[i].name) == 0) tc = &cases[i];
    if (!tc) {
        fprintf(stderr, "test_c_api: no case named \"%s\" (see test_c_api list)\n", argv[1]);
        return 2;
    }

    atomic_init(&validation_messages, 0);
    glowq_engine_params ep = glowq_engine_default_params();
    const char* v = getenv("GLOWQ_VALIDATION");
    ep.validation = v && *v && strcmp(v, "0") != 0;
    const char* limits = getenv("GLOWQ_LIMITS");
    if (limits && strcmp(limits, "android-baseline") == 0) ep.limits = GLOWQ_LIMITS_ANDROID_BASELINE;
    ep.log = on_log;
    test_env env = {NULL, argv[2], argv[3]};
    glowq_status st = glowq_engine_create(&ep, &env.engine);
    if (st != GLOWQ_OK) {
        fprintf(stderr, "FAIL %s: glowq_engine_create: %s: %s\n", tc->name, glowq_status_name(st), glowq_last_error());
        return 1;
    }
    fprintf(stderr, "device: %s, validation %s\n", glowq_engine_device_name(env.engine), ep.validation ? "on" : "off");

    int ok = tc->run(&env);
    glowq_engine_destroy(env.engine);
    int n_validation = atomic_load(&validation_messages);
    if (n_validation != 0) {
        fprintf(stderr, "%d validation message(s), above\n", n_validation);
        ok = 0;
    }
    fprintf(stderr, "%s %s\n", ok ? "PASS" : "FAIL", tc->name);
    return ok ? 0 : 1;
}

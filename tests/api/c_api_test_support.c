/* c_api_test_support.c: the checks and helpers behind c_api_test.h, kept out of the case
   files so those read as the API behaviour they test. */
#define _POSIX_C_SOURCE 200809L

#include "c_api_test.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- checks ---- */

void report(const char* file, int line, const char* what) {
    fprintf(stderr, "%s:%d: check failed: %s\n    glowq_last_error(): \"%s\"\n", file, line, what,
            glowq_last_error());
}

int check_status(const char* file, int line, const char* expr, glowq_status got, glowq_status want,
                        int want_message) {
    char what[1024];
    if (got != want) {
        snprintf(what, sizeof what, "%s returned %s, expected %s", expr, glowq_status_name(got),
                 glowq_status_name(want));
        report(file, line, what);
        return 0;
    }
    if (want_message && glowq_last_error()[0] == '\0') {
        snprintf(what, sizeof what, "%s returned %s with an empty glowq_last_error()", expr, glowq_status_name(got));
        report(file, line, what);
        return 0;
    }
    return 1;
}

int check_eq(const char* file, int line, const char* a_expr, const char* b_expr, long long a, long long b) {
    if (a == b) return 1;
    char what[1024];
    snprintf(what, sizeof what, "%s == %s (%lld != %lld)", a_expr, b_expr, a, b);
    report(file, line, what);
    return 0;
}

int contains_ci(const char* haystack, const char* needle) {
    if (!haystack || !needle) return 0;
    size_t n = strlen(needle);
    for (const char* h = haystack; *h; ++h) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) ++i;
        if (i == n) return 1;
    }
    return n == 0;
}

int check_str(const char* file, int line, const char* expr, const char* s, const char* needle, int equal) {
    int ok = s && (equal ? strcmp(s, needle) == 0 : strstr(s, needle) != NULL);
    if (ok) return 1;
    fprintf(stderr, "%s is \"%s\", expected it %s \"%s\"\n", expr, s ? s : "(null)",
            equal ? "to equal" : "to contain", needle);
    report(file, line, "string check");
    return 0;
}

/* ---- generation helpers ---- */

void collector_init(collector* c) {
    memset(c, 0, sizeof *c);
    atomic_init(&c->calls, 0);
}

int collect_token(const char* piece, int32_t token, void* user) {
    collector* c = user;
    if (c->n_tokens < MAX_COLLECT) c->tokens[c->n_tokens++] = token;
    else c->overflow = 1;
    if (!piece) {
        c->null_piece = 1;
    } else {
        size_t len = strlen(piece);
        if (c->text_len + len < sizeof c->text) {
            memcpy(c->text + c->text_len, piece, len + 1);
            c->text_len += len;
        } else {
            c->overflow = 1;
        }
    }
    atomic_fetch_add(&c->calls, 1);
    return 1;
}

int check_collector(const char* file, int line, const collector* c) {
    if (c->null_piece) report(file, line, "the token callback got a NULL piece");
    if (c->overflow) report(file, line, "the token callback was called more often than the test expects");
    return !c->null_piece && !c->overflow;
}

static void print_tokens(const char* name, const collector* c) {
    fprintf(stderr, "    %s (%zu):", name, c->n_tokens);
    for (size_t i = 0; i < c->n_tokens; ++i) fprintf(stderr, " %d", (int)c->tokens[i]);
    fprintf(stderr, "  \"%s\"\n", c->text);
}

int check_same_tokens(const char* file, int line, const char* a_expr, const char* b_expr, const collector* a,
                      const collector* b) {
    if (a->n_tokens == b->n_tokens && memcmp(a->tokens, b->tokens, a->n_tokens * sizeof a->tokens[0]) == 0) return 1;
    char what[512];
    snprintf(what, sizeof what, "the tokens of %s equal those of %s", a_expr, b_expr);
    report(file, line, what);
    print_tokens(a_expr, a);
    print_tokens(b_expr, b);
    return 0;
}

glowq_session_params session_params(uint32_t context, uint32_t prefill_chunk) {
    glowq_session_params p = glowq_session_default_params();
    p.context = context;
    if (prefill_chunk) p.prefill_chunk = prefill_chunk;
    return p;
}

/* glowq_sampler_default_params() with temperature 0 (the errors case compares the two). */
const glowq_sampler_params greedy_sampler = {sizeof(glowq_sampler_params), 0.0f, 40, 0.95f, 0.05f, 1.0f, 64, 0};

glowq_generate_params greedy(uint32_t max_tokens) {
    glowq_generate_params p = glowq_generate_default_params();
    p.max_tokens = max_tokens;
    p.sampler = &greedy_sampler;
    return p;
}

/* Greedy generation, appending to `out`; `result` may be NULL. */
glowq_status generate_into(glowq_session* s, const char* prompt, uint32_t max_tokens, collector* out,
                           glowq_generate_result* result) {
    glowq_generate_params p = greedy(max_tokens);
    glowq_generate_result local = glowq_generate_result_init();
    if (!result) result = &local;
    *result = glowq_generate_result_init();
    return glowq_session_generate(s, prompt, &p, collect_token, out, result);
}

/* The same into a reset `out`. */
glowq_status generate_greedy(glowq_session* s, const char* prompt, uint32_t max_tokens, collector* out,
                             glowq_generate_result* result) {
    collector_init(out);
    return generate_into(s, prompt, max_tokens, out, result);
}

/* The same on a fresh session that is destroyed afterwards: the reference run. */
glowq_status generate_fresh(glowq_model* m, const glowq_session_params* sp, const char* prompt,
                            uint32_t max_tokens, collector* out) {
    glowq_session* s = NULL;
    glowq_status st = glowq_session_create(m, sp, &s);
    if (st == GLOWQ_OK) st = generate_greedy(s, prompt, max_tokens, out, NULL);
    glowq_session_destroy(s);
    return st;
}

/* ---- files and strings ---- */

/* Creates an empty temp file; its path goes to `path`. Returns the open descriptor or -1. */
int make_temp(char* path, size_t capacity, const char* tag) {
    const char* dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(path, capacity, "%s/glowq-test-%s-XXXXXX", dir, tag);
    int fd = mkstemp(path);
    if (fd < 0) path[0] = '\0';
    return fd;
}

int write_all(int fd, const void* data, size_t size) {
    const unsigned char* p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n <= 0) return 0;
        p += n;
        size -= (size_t)n;
    }
    return 1;
}

/* The first `limit` bytes of a file (0: all of it), malloc'd; NULL on failure. */
unsigned char* read_file(const char* path, size_t limit, size_t* size) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    struct stat st;
    unsigned char* data = NULL;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        size_t want = (size_t)st.st_size;
        if (limit && limit < want) want = limit;
        data = malloc(want);
        size_t got = 0;
        while (data && got < want) {
            ssize_t n = read(fd, data + got, want - got);
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (data && got != want) {
            free(data);
            data = NULL;
        }
        *size = want;
    }
    close(fd);
    return data;
}

void remove_temp(char* path) {
    if (path[0]) unlink(path);
    path[0] = '\0';
}

/* `sentence` repeated `times` times, malloc'd. */
char* repeat(const char* sentence, int times) {
    size_t len = strlen(sentence);
    char* s = malloc(len * (size_t)times + 1);
    if (!s) return NULL;
    for (int i = 0; i < times; ++i) memcpy(s + len * (size_t)i, sentence, len);
    s[len * (size_t)times] = '\0';
    return s;
}

/* stream.c: the smallest complete glowq program. Loads a GGUF model, sends one chat
 * message and streams the reply to stdout, with a timing summary on stderr.
 *
 *   glowq-example MODEL.gguf "What is the capital of France?" [max_tokens]
 */
#include <glowq/glowq.h>

#include <stdio.h>
#include <stdlib.h>

/* Called for each piece of the reply, on the thread that called glowq_chat_send. */
static int on_token(const char* piece, int32_t token, void* user) {
    (void)token;
    (void)user;
    fputs(piece, stdout);
    fflush(stdout);
    return 1; /* non-zero: keep generating */
}

/* Every glowq call that can fail returns a status; glowq_last_error() says why. */
static int check(glowq_status status, const char* what) {
    if (status == GLOWQ_OK) return 1;
    fprintf(stderr, "glowq-example: %s failed: %s: %s\n", what, glowq_status_name(status), glowq_last_error());
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: glowq-example MODEL.gguf \"prompt\" [max_tokens (default 128)]\n");
        return 2;
    }
    uint32_t max_tokens = 128;
    if (argc == 4) {
        char* end = NULL;
        unsigned long n = strtoul(argv[3], &end, 10);
        if (*argv[3] == '\0' || *end != '\0' || n == 0 || n > 100000) {
            fprintf(stderr, "glowq-example: max_tokens must be a number from 1 to 100000\n");
            return 2;
        }
        max_tokens = (uint32_t)n;
    }

    glowq_engine* engine = NULL;
    glowq_model* model = NULL;
    glowq_chat* chat = NULL;
    int ok = 0;

    /* NULL params: the defaults (the first discrete GPU, else any Vulkan device). */
    if (!check(glowq_engine_create(NULL, &engine), "glowq_engine_create")) goto done;
    fprintf(stderr, "device: %s\n", glowq_engine_device_name(engine));
    if (!check(glowq_model_load_file(engine, argv[1], NULL, &model), "glowq_model_load_file")) goto done;
    /* A chat applies the model's chat template to the messages. */
    if (!check(glowq_chat_create(model, NULL, &chat), "glowq_chat_create")) goto done;

    glowq_generate_params params = glowq_generate_default_params();
    params.max_tokens = max_tokens;
    glowq_sampler_params sampler = glowq_sampler_default_params();
    sampler.temperature = 0.0f; /* greedy: always the most likely token */
    params.sampler = &sampler;
    glowq_generate_result result = glowq_generate_result_init();
    if (!check(glowq_chat_send(chat, argv[2], &params, on_token, NULL, &result), "glowq_chat_send")) goto done;

    fprintf(stderr, "\n[%u prompt tokens, %u generated, TTFB %.0f ms, prefill %.1f tok/s, decode %.1f tok/s]\n",
            (unsigned)result.prompt_tokens, (unsigned)result.generated_tokens, result.ttfb_ms,
            result.prefill_tokens_per_s, result.decode_tokens_per_s);
    ok = 1;

done: /* destroy in reverse order of creation; NULL is a no-op */
    glowq_chat_destroy(chat);
    glowq_model_destroy(model);
    glowq_engine_destroy(engine);
    return ok ? 0 : 1;
}

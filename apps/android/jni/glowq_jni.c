/* JNI glue: ai.glowq.Native over glowq.h. Handles travel as jlong; a failed call throws
 * ai.glowq.GlowqException with the status and glowq_last_error(). Generated text reaches
 * Java as UTF-16 built here from UTF-8 (NewStringUTF takes modified UTF-8, which has no
 * 4-byte characters), with any incomplete character held back until it completes. */
#include <jni.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "glowq/glowq.h"

#define PTR(type, h) ((type*)(intptr_t)(h))

static void throw_status(JNIEnv* env, glowq_status st) {
    jclass cls = (*env)->FindClass(env, "ai/glowq/GlowqException");
    if (!cls) return;
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(ILjava/lang/String;Ljava/lang/String;)V");
    jstring name = (*env)->NewStringUTF(env, glowq_status_name(st));
    jstring msg = (*env)->NewStringUTF(env, glowq_last_error());
    jobject ex = (*env)->NewObject(env, cls, ctor, (jint)st, name, msg);
    if (ex) (*env)->Throw(env, (jthrowable)ex);
}

static char* copy_string(const char* s) {
    size_t n = strlen(s) + 1;
    char* out = malloc(n);
    if (out) memcpy(out, s, n);
    return out;
}

/* A Java string as a malloc'd standard UTF-8 C string (NULL for null). Built from the
 * UTF-16 chars: GetStringUTFChars gives modified UTF-8, which encodes characters outside
 * the BMP (emoji) as two 3-byte surrogates the tokenizer would not understand. */
static char* utf8_of(JNIEnv* env, jstring s) {
    if (!s) return NULL;
    jsize n = (*env)->GetStringLength(env, s);
    const jchar* u = (*env)->GetStringChars(env, s, NULL);
    char* out = u ? malloc((size_t)n * 3 + 1) : NULL;
    size_t k = 0;
    for (jsize i = 0; out && i < n; ++i) {
        uint32_t cp = u[i];
        if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] < 0xE000)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (u[++i] - 0xDC00);
        else if (cp >= 0xD800 && cp < 0xE000)
            cp = 0xFFFD; /* a lone surrogate */
        if (cp < 0x80) {
            out[k++] = (char)cp;
        } else if (cp < 0x800) {
            out[k++] = (char)(0xC0 | (cp >> 6));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[k++] = (char)(0xE0 | (cp >> 12));
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        } else {
            out[k++] = (char)(0xF0 | (cp >> 18));
            out[k++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            out[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            out[k++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    if (out) out[k] = '\0';
    if (u) (*env)->ReleaseStringChars(env, s, u);
    return out;
}

/* ---- UTF-8 pieces to Java strings ---- */

typedef struct {
    JNIEnv* env;
    jobject listener;
    jmethodID on_token;
    unsigned char pending[4];
    size_t n_pending;
    int stopped; /* the listener returned false or threw */
} stream_ctx;

static size_t utf8_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return 2;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return 4;
    return 1; /* a stray byte: passed on as U+FFFD */
}

/* Decodes the complete characters of (pending + bytes) into UTF-16; keeps an incomplete tail. */
static jstring take_complete(stream_ctx* c, const char* piece) {
    size_t n = strlen(piece);
    unsigned char* buf = malloc(c->n_pending + n + 1);
    jchar* out = malloc(sizeof(jchar) * (c->n_pending + n + 1) * 2);
    if (!buf || !out) {
        free(buf);
        free(out);
        return NULL;
    }
    memcpy(buf, c->pending, c->n_pending);
    memcpy(buf + c->n_pending, piece, n);
    size_t total = c->n_pending + n, i = 0, k = 0;
    c->n_pending = 0;
    while (i < total) {
        size_t len = utf8_length(buf[i]);
        if (i + len > total) { /* incomplete: wait for the rest */
            memcpy(c->pending, buf + i, total - i);
            c->n_pending = total - i;
            break;
        }
        uint32_t cp = len == 1 ? buf[i] : (uint32_t)(buf[i] & (0x7F >> len));
        for (size_t j = 1; j < len; ++j) cp = (cp << 6) | (buf[i + j] & 0x3F);
        if (len == 1 && buf[i] >= 0x80) cp = 0xFFFD;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            out[k++] = (jchar)(0xD800 + (cp >> 10));
            out[k++] = (jchar)(0xDC00 + (cp & 0x3FF));
        } else {
            out[k++] = (jchar)cp;
        }
        i += len;
    }
    jstring s = (*c->env)->NewString(c->env, out, (jsize)k);
    free(buf);
    free(out);
    return s;
}

static int on_token(const char* piece, int32_t token, void* user) {
    stream_ctx* c = (stream_ctx*)user;
    if (!c->listener || c->stopped) return !c->stopped;
    jstring s = take_complete(c, piece);
    if (!s) return 0;
    jboolean go = (*c->env)->CallBooleanMethod(c->env, c->listener, c->on_token, s, (jint)token);
    (*c->env)->DeleteLocalRef(c->env, s);
    if ((*c->env)->ExceptionCheck(c->env) || !go) c->stopped = 1;
    return !c->stopped;
}

/* ---- parameters and results ---- */

typedef struct {
    glowq_generate_params p;
    glowq_sampler_params sampler;
    char** stop;
} gen_params;

static int read_params(JNIEnv* env, jobject jp, gen_params* g) {
    g->p = glowq_generate_default_params();
    g->sampler = glowq_sampler_default_params();
    g->p.sampler = &g->sampler;
    g->stop = NULL;
    if (!jp) return 1;
    jclass cls = (*env)->GetObjectClass(env, jp);
#define FIELD(name, sig) (*env)->GetFieldID(env, cls, name, sig)
    g->p.max_tokens = (uint32_t)(*env)->GetIntField(env, jp, FIELD("maxTokens", "I"));
    g->sampler.temperature = (*env)->GetFloatField(env, jp, FIELD("temperature", "F"));
    g->sampler.top_k = (*env)->GetIntField(env, jp, FIELD("topK", "I"));
    g->sampler.top_p = (*env)->GetFloatField(env, jp, FIELD("topP", "F"));
    g->sampler.min_p = (*env)->GetFloatField(env, jp, FIELD("minP", "F"));
    g->sampler.repeat_penalty = (*env)->GetFloatField(env, jp, FIELD("repeatPenalty", "F"));
    g->sampler.repeat_last_n = (*env)->GetIntField(env, jp, FIELD("repeatLastN", "I"));
    g->sampler.seed = (uint64_t)(*env)->GetLongField(env, jp, FIELD("seed", "J"));
    jobjectArray stop = (jobjectArray)(*env)->GetObjectField(env, jp, FIELD("stop", "[Ljava/lang/String;"));
#undef FIELD
    jsize n = stop ? (*env)->GetArrayLength(env, stop) : 0;
    if (n > 0) {
        g->stop = calloc((size_t)n, sizeof(char*));
        if (!g->stop) return 0;
        for (jsize i = 0; i < n; ++i) {
            jstring s = (jstring)(*env)->GetObjectArrayElement(env, stop, i);
            g->stop[i] = utf8_of(env, s);
            if (!g->stop[i]) g->stop[i] = copy_string("");
        }
        g->p.stop = (const char* const*)g->stop;
        g->p.n_stop = (size_t)n;
    }
    return 1;
}

static void free_params(gen_params* g) {
    for (size_t i = 0; g->stop && i < g->p.n_stop; ++i) free(g->stop[i]);
    free(g->stop);
}

static jobject make_result(JNIEnv* env, const glowq_generate_result* r) {
    jclass cls = (*env)->FindClass(env, "ai/glowq/GenerateResult");
    jmethodID ctor = (*env)->GetMethodID(env, cls, "<init>", "(IIIDDD)V");
    return (*env)->NewObject(env, cls, ctor, (jint)r->stop_reason, (jint)r->prompt_tokens, (jint)r->generated_tokens,
                             r->ttfb_ms, r->prefill_tokens_per_s, r->decode_tokens_per_s);
}

typedef glowq_status (*generate_fn)(void* obj, const char* text, const glowq_generate_params* p, glowq_token_fn cb,
                                    void* user, glowq_generate_result* r);

static glowq_status session_gen(void* s, const char* t, const glowq_generate_params* p, glowq_token_fn cb, void* u,
                                glowq_generate_result* r) {
    return glowq_session_generate((glowq_session*)s, t, p, cb, u, r);
}
static glowq_status chat_send(void* c, const char* t, const glowq_generate_params* p, glowq_token_fn cb, void* u,
                              glowq_generate_result* r) {
    return glowq_chat_send((glowq_chat*)c, t, p, cb, u, r);
}
static glowq_status chat_regen(void* c, const char* t, const glowq_generate_params* p, glowq_token_fn cb, void* u,
                               glowq_generate_result* r) {
    (void)t;
    return glowq_chat_regenerate((glowq_chat*)c, p, cb, u, r);
}

/* Runs a generation with a Java listener; throws on failure (a cancel included). */
static jobject generate(JNIEnv* env, generate_fn fn, void* obj, jstring text, jobject jp, jobject listener) {
    gen_params g;
    if (!read_params(env, jp, &g)) {
        free_params(&g);
        throw_status(env, GLOWQ_OUT_OF_MEMORY);
        return NULL;
    }
    char* t = utf8_of(env, text);
    stream_ctx c = {env, listener, NULL, {0}, 0, 0};
    if (listener) {
        jclass lc = (*env)->GetObjectClass(env, listener);
        c.on_token = (*env)->GetMethodID(env, lc, "onToken", "(Ljava/lang/String;I)Z");
    }
    glowq_generate_result r = glowq_generate_result_init();
    glowq_status st = fn(obj, t ? t : (text ? "" : NULL), &g.p, on_token, &c, &r);
    free(t);
    free_params(&g);
    if ((*env)->ExceptionCheck(env)) return NULL; /* the listener threw: let it propagate */
    if (st != GLOWQ_OK) {
        throw_status(env, st);
        return NULL;
    }
    return make_result(env, &r);
}

/* ---- entry points ---- */

#define JNI(ret, name) JNIEXPORT ret JNICALL Java_ai_glowq_Native_##name

JNI(jstring, version)(JNIEnv* env, jclass cls) {
    (void)cls;
    return (*env)->NewStringUTF(env, glowq_version());
}

/* Warnings the library logged (validation messages among them), for tests; Android
 * builds would forward them to logcat instead. */
static atomic_int warnings;

static void on_log(glowq_log_level level, const char* message, void* user) {
    (void)message, (void)user;
    if (level >= GLOWQ_LOG_WARNING) atomic_fetch_add(&warnings, 1);
}

JNI(jint, warningCount)(JNIEnv* env, jclass cls) {
    (void)env, (void)cls;
    return (jint)atomic_load(&warnings);
}

/* The streaming decoder alone, over pieces split anywhere (tests: a character cut across
 * two pieces must come out whole). */
JNI(jstring, joinUtf8Pieces)(JNIEnv* env, jclass cls, jobjectArray pieces) {
    (void)cls;
    stream_ctx c = {env, NULL, NULL, {0}, 0, 0};
    jsize n = pieces ? (*env)->GetArrayLength(env, pieces) : 0;
    jstring acc = (*env)->NewStringUTF(env, "");
    jclass str = (*env)->FindClass(env, "java/lang/String");
    jmethodID concat = (*env)->GetMethodID(env, str, "concat", "(Ljava/lang/String;)Ljava/lang/String;");
    for (jsize i = 0; i < n && acc; ++i) {
        jbyteArray b = (jbyteArray)(*env)->GetObjectArrayElement(env, pieces, i);
        jsize len = b ? (*env)->GetArrayLength(env, b) : 0;
        char* piece = malloc((size_t)len + 1);
        if (!piece) return NULL;
        if (b) (*env)->GetByteArrayRegion(env, b, 0, len, (jbyte*)piece);
        piece[len] = '\0';
        jstring part = take_complete(&c, piece);
        free(piece);
        if (b) (*env)->DeleteLocalRef(env, b);
        if (!part) return NULL;
        jstring next = (jstring)(*env)->CallObjectMethod(env, acc, concat, part);
        (*env)->DeleteLocalRef(env, part);
        (*env)->DeleteLocalRef(env, acc);
        acc = next;
    }
    return acc;
}

JNI(jlong, engineCreate)(JNIEnv* env, jclass cls, jstring device, jboolean validation, jboolean android_baseline,
                        jint disable_features) {
    (void)cls;
    glowq_engine_params p = glowq_engine_default_params();
    p.log = on_log;
    char* d = utf8_of(env, device);
    p.device = d;
    p.validation = validation ? 1 : 0;
    p.limits = android_baseline ? GLOWQ_LIMITS_ANDROID_BASELINE : GLOWQ_LIMITS_DEVICE;
    p.disable_features = (uint32_t)disable_features;
    glowq_engine* e = NULL;
    glowq_status st = glowq_engine_create(&p, &e);
    free(d);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jlong)(intptr_t)e;
}

JNI(void, engineDestroy)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_engine_destroy(PTR(glowq_engine, h));
}

JNI(jstring, engineDeviceName)(JNIEnv* env, jclass cls, jlong h) {
    (void)cls;
    const char* n = glowq_engine_device_name(PTR(glowq_engine, h));
    return (*env)->NewStringUTF(env, n ? n : "");
}

JNI(jlong, modelLoadFile)(JNIEnv* env, jclass cls, jlong engine, jstring path) {
    (void)cls;
    char* p = utf8_of(env, path);
    glowq_model* m = NULL;
    glowq_status st = glowq_model_load_file(PTR(glowq_engine, engine), p, NULL, &m);
    free(p);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jlong)(intptr_t)m;
}

JNI(jlong, modelLoadFd)(JNIEnv* env, jclass cls, jlong engine, jint fd, jlong offset, jlong length) {
    (void)cls;
    glowq_model* m = NULL;
    /* (Model.load refuses negative values before this.) */
    glowq_status st = glowq_model_load_fd(PTR(glowq_engine, engine), fd, (uint64_t)offset, (uint64_t)length, NULL, &m);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jlong)(intptr_t)m;
}

JNI(void, modelDestroy)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_model_destroy(PTR(glowq_model, h));
}

JNI(jlong, sessionCreate)(JNIEnv* env, jclass cls, jlong model, jint context, jint chunk) {
    (void)cls;
    glowq_session_params p = glowq_session_default_params();
    if (context > 0) p.context = (uint32_t)context;
    if (chunk > 0) p.prefill_chunk = (uint32_t)chunk;
    glowq_session* s = NULL;
    glowq_status st = glowq_session_create(PTR(glowq_model, model), &p, &s);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jlong)(intptr_t)s;
}

JNI(void, sessionDestroy)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_session_destroy(PTR(glowq_session, h));
}

JNI(jobject, sessionGenerate)(JNIEnv* env, jclass cls, jlong h, jstring prompt, jobject p, jobject l) {
    (void)cls;
    return generate(env, session_gen, PTR(glowq_session, h), prompt, p, l);
}

JNI(void, sessionCancel)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_session_cancel(PTR(glowq_session, h));
}

JNI(jbyteArray, sessionSaveState)(JNIEnv* env, jclass cls, jlong h) {
    (void)cls;
    size_t size = 0;
    glowq_status st = glowq_session_save_state(PTR(glowq_session, h), NULL, 0, &size);
    if (st != GLOWQ_OK) {
        throw_status(env, st);
        return NULL;
    }
    void* buf = malloc(size ? size : 1);
    st = buf ? glowq_session_save_state(PTR(glowq_session, h), buf, size, &size) : GLOWQ_OUT_OF_MEMORY;
    jbyteArray out = NULL;
    if (st == GLOWQ_OK) {
        out = (*env)->NewByteArray(env, (jsize)size);
        if (out) (*env)->SetByteArrayRegion(env, out, 0, (jsize)size, (const jbyte*)buf);
    } else {
        throw_status(env, st);
    }
    free(buf);
    return out;
}

JNI(void, sessionLoadState)(JNIEnv* env, jclass cls, jlong h, jbyteArray state) {
    (void)cls;
    if (!state) {
        throw_status(env, glowq_session_load_state(PTR(glowq_session, h), NULL, 0));
        return;
    }
    jsize n = (*env)->GetArrayLength(env, state);
    jbyte* b = (*env)->GetByteArrayElements(env, state, NULL);
    if (!b) return; /* OutOfMemoryError is pending */
    glowq_status st = glowq_session_load_state(PTR(glowq_session, h), b, (size_t)n);
    (*env)->ReleaseByteArrayElements(env, state, b, JNI_ABORT);
    if (st != GLOWQ_OK) throw_status(env, st);
}

JNI(void, sessionTruncate)(JNIEnv* env, jclass cls, jlong h, jint n) {
    (void)cls;
    glowq_status st = glowq_session_truncate(PTR(glowq_session, h), (uint32_t)n); /* n >= 0: Session.truncate */
    if (st != GLOWQ_OK) throw_status(env, st);
}

JNI(jint, sessionTokenCount)(JNIEnv* env, jclass cls, jlong h) {
    (void)cls;
    uint32_t n = 0;
    glowq_status st = glowq_session_context(PTR(glowq_session, h), NULL, &n);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jint)n;
}

JNI(jlong, chatCreate)(JNIEnv* env, jclass cls, jlong model, jstring system, jint context) {
    (void)cls;
    glowq_chat_params p = glowq_chat_default_params();
    char* sys = utf8_of(env, system);
    p.system_prompt = sys;
    if (context > 0) p.session.context = (uint32_t)context;
    glowq_chat* c = NULL;
    glowq_status st = glowq_chat_create(PTR(glowq_model, model), &p, &c);
    free(sys);
    if (st != GLOWQ_OK) throw_status(env, st);
    return (jlong)(intptr_t)c;
}

JNI(void, chatDestroy)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_chat_destroy(PTR(glowq_chat, h));
}

JNI(jobject, chatSend)(JNIEnv* env, jclass cls, jlong h, jstring message, jobject p, jobject l) {
    (void)cls;
    return generate(env, chat_send, PTR(glowq_chat, h), message, p, l);
}

JNI(jobject, chatRegenerate)(JNIEnv* env, jclass cls, jlong h, jobject p, jobject l) {
    (void)cls;
    return generate(env, chat_regen, PTR(glowq_chat, h), NULL, p, l);
}

JNI(void, chatCancel)(JNIEnv* env, jclass cls, jlong h) {
    (void)env, (void)cls;
    glowq_chat_cancel(PTR(glowq_chat, h));
}

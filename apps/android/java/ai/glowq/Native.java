package ai.glowq;

/** The JNI entry points (glowq_jni.c); handles are the C API's pointers as longs. */
final class Native {
    static {
        System.loadLibrary("glowq_jni");
    }

    private Native() {}

    static native String version();
    static native int warningCount();
    static native String joinUtf8Pieces(byte[][] pieces);  // the streaming decoder, for tests
    static native long engineCreate(String device, boolean validation, boolean androidBaseline, int disableFeatures);
    static native void engineDestroy(long engine);
    static native String engineDeviceName(long engine);
    static native long modelLoadFile(long engine, String path);
    static native long modelLoadFd(long engine, int fd, long offset, long length);
    static native void modelDestroy(long model);
    static native long sessionCreate(long model, int context, int prefillChunk);
    static native void sessionDestroy(long session);
    static native GenerateResult sessionGenerate(long session, String prompt, GenerateParams p, TokenListener l);
    static native void sessionCancel(long session);
    static native byte[] sessionSaveState(long session);
    static native void sessionLoadState(long session, byte[] state);
    static native void sessionTruncate(long session, int n);
    static native int sessionTokenCount(long session);
    static native long chatCreate(long model, String systemPrompt, int context);
    static native void chatDestroy(long chat);
    static native GenerateResult chatSend(long chat, String message, GenerateParams p, TokenListener l);
    static native GenerateResult chatRegenerate(long chat, GenerateParams p, TokenListener l);
    static native void chatCancel(long chat);
}

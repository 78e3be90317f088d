package ai.glowq;

/**
 * One KV cache (glowq_session): generate appends text and the reply. Used by one thread at a time;
 * cancel() may be called from any thread while the session is open.
 */
public final class Session implements AutoCloseable {
    private volatile long handle;

    public Session(Model model, int context, int prefillChunk) {
        handle = Native.sessionCreate(model.live(), context, prefillChunk);
    }

    public GenerateResult generate(String prompt, GenerateParams params, TokenListener listener) {
        return Native.sessionGenerate(live(), prompt, params, listener);
    }

    public synchronized void cancel() { Native.sessionCancel(handle); }

    public byte[] saveState() { return Native.sessionSaveState(live()); }

    public void loadState(byte[] state) { Native.sessionLoadState(live(), state); }

    public void truncate(int tokens) {
        if (tokens < 0) throw new IllegalArgumentException("tokens is negative: " + tokens);
        Native.sessionTruncate(live(), tokens);
    }

    public int tokenCount() { return Native.sessionTokenCount(live()); }

    private long live() {
        long h = handle;
        if (h == 0) throw new IllegalStateException("the session is closed");
        return h;
    }

    @Override public synchronized void close() {
        long h = handle;
        handle = 0;
        Native.sessionDestroy(h);
    }
}

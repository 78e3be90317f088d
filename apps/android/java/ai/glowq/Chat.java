package ai.glowq;

/** A conversation in the model's chat template (glowq_chat); cancel() from any thread. */
public final class Chat implements AutoCloseable {
    private volatile long handle;

    public Chat(Model model, String systemPrompt, int context) {
        handle = Native.chatCreate(model.live(), systemPrompt, context);
    }

    public GenerateResult send(String message, GenerateParams params, TokenListener listener) {
        return Native.chatSend(live(), message, params, listener);
    }

    public GenerateResult regenerate(GenerateParams params, TokenListener listener) {
        return Native.chatRegenerate(live(), params, listener);
    }

    public synchronized void cancel() { Native.chatCancel(handle); }

    private long live() {
        long h = handle;
        if (h == 0) throw new IllegalStateException("the chat is closed");
        return h;
    }

    @Override public synchronized void close() {
        long h = handle;
        handle = 0;
        Native.chatDestroy(h);
    }
}

package ai.glowq;

/** A model's weights on the device (glowq_model), shared by any number of sessions and chats. */
public final class Model implements AutoCloseable {
    long handle;

    private Model(long handle) { this.handle = handle; }

    public static Model load(Engine engine, String path) { return new Model(Native.modelLoadFile(engine.live(), path)); }

    /**
     * A GGUF inside an open file descriptor at [offset, offset + length) (length 0: to the end), as
     * Android's AssetFileDescriptor and ParcelFileDescriptor give it. The caller keeps the descriptor.
     */
    public static Model load(Engine engine, int fd, long offset, long length) {
        if (offset < 0 || length < 0) throw new IllegalArgumentException("negative offset or length");
        return new Model(Native.modelLoadFd(engine.live(), fd, offset, length));
    }

    long live() {
        if (handle == 0) throw new IllegalStateException("the model is closed");
        return handle;
    }

    @Override public synchronized void close() {
        Native.modelDestroy(handle);
        handle = 0;
    }
}

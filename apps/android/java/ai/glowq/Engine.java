package ai.glowq;

/** A Vulkan device (glowq_engine). Thread-safe; close() after every model on it. */
public final class Engine implements AutoCloseable {
    long handle;

    /** The best device present, no validation. */
    public Engine() { this(null, false); }

    /** device: index or name substring (null: the best); validation: the Khronos layer. */
    public Engine(String device, boolean validation) { handle = Native.engineCreate(device, validation); }

    public String deviceName() { return Native.engineDeviceName(live()); }

    public static String version() { return Native.version(); }

    /** Warnings the library has logged in this process (validation messages among them). */
    public static int warningCount() { return Native.warningCount(); }

    long live() {
        if (handle == 0) throw new IllegalStateException("the engine is closed");
        return handle;
    }

    @Override public synchronized void close() {
        Native.engineDestroy(handle);
        handle = 0;
    }
}

package ai.glowq;

/** A Vulkan device (glowq_engine). Thread-safe; close() after every model on it. */
public final class Engine implements AutoCloseable {
    long handle;

    /** The best device present, no validation. */
    public Engine() { this(null, false); }

    /** device: index or name substring (null: the best); validation: the Khronos layer. */
    public Engine(String device, boolean validation) { this(device, validation, false, 0); }

    /** Features that can be forced off (glowq.h's GLOWQ_FEATURE_*). */
    public static final int FEATURE_SUBGROUP_OPS = 1, FEATURE_FP16_MATH = 2, FEATURE_STORAGE_16BIT = 4,
            FEATURE_STORAGE_8BIT = 8, FEATURE_INTEGER_DOT = 16, FEATURE_COOPERATIVE_MATRIX = 32,
            FEATURE_SUBGROUP_SIZE = 64, FEATURE_HALF_CONVERSION = 128;

    /**
     * androidBaseline: use only what the Android Baseline Profile 2022 guarantees (every
     * Android 10+ device), whatever this device offers; disableFeatures: FEATURE_* bits to
     * leave unused.
     */
    public Engine(String device, boolean validation, boolean androidBaseline, int disableFeatures) {
        handle = Native.engineCreate(device, validation, androidBaseline, disableFeatures);
    }

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

package ai.glowq;

/** A failed glowq call: the C API's status code and its message (glowq_last_error). */
public final class GlowqException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The glowq_status value (GLOWQ_CANCELLED is 8, GLOWQ_CONTEXT_FULL 9, ...). */
    public final int status;
    public final String statusName;

    GlowqException(int status, String statusName, String message) {
        super(statusName + ": " + message);
        this.status = status;
        this.statusName = statusName;
    }

    public boolean cancelled() { return status == 8; }
}

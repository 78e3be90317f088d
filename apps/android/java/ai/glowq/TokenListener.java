package ai.glowq;

/** Receives each piece of generated text (whole characters) on the generating thread. */
public interface TokenListener {
    /** Returns false to stop generating. */
    boolean onToken(String piece, int token);
}

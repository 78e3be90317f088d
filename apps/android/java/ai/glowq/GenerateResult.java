package ai.glowq;

/** How a generation went (glowq_generate_result). */
public final class GenerateResult {
    public static final int STOP_EOS = 1, STOP_STRING = 2, STOP_MAX_TOKENS = 3, STOP_CONTEXT_FULL = 4,
                            STOP_CALLBACK = 5, STOP_CANCELLED = 6;
    public final int stopReason;
    public final int promptTokens, generatedTokens;
    public final double ttfbMs, prefillTokensPerS, decodeTokensPerS;

    GenerateResult(int stopReason, int promptTokens, int generatedTokens, double ttfbMs, double prefillTokensPerS,
                   double decodeTokensPerS) {
        this.stopReason = stopReason;
        this.promptTokens = promptTokens;
        this.generatedTokens = generatedTokens;
        this.ttfbMs = ttfbMs;
        this.prefillTokensPerS = prefillTokensPerS;
        this.decodeTokensPerS = decodeTokensPerS;
    }
}

package ai.glowq;

/** Sampling and length of one generation; the defaults are glowq_generate_default_params(). */
public final class GenerateParams {
    public int maxTokens = 256;
    public float temperature = 0.8f;  // 0: greedy
    public int topK = 40;
    public float topP = 0.95f;
    public float minP = 0.05f;
    public float repeatPenalty = 1.0f;
    public int repeatLastN = 64;
    public long seed = 0;
    public String[] stop = new String[0];

    public static GenerateParams greedy(int maxTokens) {
        GenerateParams p = new GenerateParams();
        p.temperature = 0;
        p.maxTokens = maxTokens;
        return p;
    }
}

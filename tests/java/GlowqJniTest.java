// The Java binding (ai.glowq over JNI over glowq.h) on the desktop JVM: SmolLM2 answers
// Paris through a chat, a model loaded from a file descriptor generates what one loaded
// from a path does, a cancel from another thread stops a generation with the cancelled
// status, session state round-trips, and errors become GlowqException with the message.
//   java -Djava.library.path=DIR --add-opens java.base/java.io=ALL-UNNAMED -cp CP GlowqJniTest MODEL
import ai.glowq.*;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

public final class GlowqJniTest {
    static int failures = 0;

    static void check(boolean ok, String what) {
        if (!ok) {
            failures++;
            System.err.println("FAILED: " + what);
        }
    }

    static List<Integer> greedyTokens(Model model, String prompt, int n, StringBuilder text) {
        List<Integer> ids = new ArrayList<>();
        try (Session s = new Session(model, 256, 32)) {
            s.generate(prompt, GenerateParams.greedy(n), (piece, token) -> {
                ids.add(token);
                if (text != null) text.append(piece);
                return true;
            });
        }
        return ids;
    }

    static int fdOf(FileInputStream in) throws Exception {
        FileDescriptor fd = in.getFD();
        Field f = FileDescriptor.class.getDeclaredField("fd");  // what Android's getFd() returns
        f.setAccessible(true);
        return f.getInt(fd);
    }

    public static void main(String[] args) throws Exception {
        String modelPath = args[0];
        String v = System.getenv("GLOWQ_VALIDATION");
        boolean validation = v != null && !v.isEmpty() && !v.equals("0");
        boolean baseline = "android-baseline".equals(System.getenv("GLOWQ_LIMITS"));
        try (Engine engine = new Engine(null, validation, baseline, 0); Model model = Model.load(engine, modelPath)) {
            System.out.println("glowq " + Engine.version() + " on " + engine.deviceName());

            // A chat answers, streamed.
            StringBuilder reply = new StringBuilder();
            try (Chat chat = new Chat(model, null, 512)) {
                GenerateResult r = chat.send("What is the capital of France?", GenerateParams.greedy(24), (p, t) -> {
                    reply.append(p);
                    return true;
                });
                check(reply.toString().contains("Paris"), "chat reply contains Paris: " + reply);
                check(r.generatedTokens > 0 && r.ttfbMs > 0, "result has tokens and a TTFB");
            }

            // A descriptor gives the same model.
            StringBuilder text = new StringBuilder();
            List<Integer> byPath = greedyTokens(model, "The capital of France is", 8, text);
            check(text.toString().contains("Paris"), "session continuation contains Paris: " + text);
            try (FileInputStream in = new FileInputStream(modelPath); Model fromFd = Model.load(engine, fdOf(in), 0, 0)) {
                check(greedyTokens(fromFd, "The capital of France is", 8, null).equals(byPath), "fd model tokens equal path model's");
            }

            // Cancel from another thread.
            try (Session s = new Session(model, 512, 32)) {
                AtomicInteger seen = new AtomicInteger();
                Thread canceller = new Thread(() -> {
                    while (seen.get() < 3) Thread.onSpinWait();
                    s.cancel();
                });
                canceller.start();
                boolean cancelled = false;
                try {
                    s.generate("Once upon a time", GenerateParams.greedy(200), (p, t) -> {
                        seen.incrementAndGet();
                        return true;
                    });
                } catch (GlowqException e) {
                    cancelled = e.cancelled();
                }
                canceller.join();
                check(cancelled, "cancel from another thread gives GLOWQ_CANCELLED");
                check(seen.get() < 200, "cancel stopped the generation early (" + seen.get() + " tokens)");
                s.truncate(0);
                check(s.tokenCount() == 0, "truncate(0) empties the session");
            }

            // Session state round trip.
            try (Session s = new Session(model, 256, 32)) {
                s.generate("The capital of France is", GenerateParams.greedy(4), null);
                byte[] state = s.saveState();
                List<Integer> a = new ArrayList<>(), b = new ArrayList<>();
                s.generate(" and the capital of Italy is", GenerateParams.greedy(6), (p, t) -> a.add(t));
                s.loadState(state);
                s.generate(" and the capital of Italy is", GenerateParams.greedy(6), (p, t) -> b.add(t));
                check(!a.isEmpty() && a.equals(b), "generation after restoring the state repeats: " + a + " vs " + b);
                state[0] ^= 0x55;
                boolean refused = false;
                try {
                    s.loadState(state);
                } catch (GlowqException e) {
                    refused = e.status == 3;
                }
                check(refused, "a corrupt state is refused with GLOWQ_INVALID_MODEL");
            }

            // Errors carry the status and the message.
            try {
                Model.load(engine, "/nonexistent/model.gguf");
                check(false, "a missing file throws");
            } catch (GlowqException e) {
                check(e.status == 2 && e.getMessage().contains("/nonexistent/model.gguf"), "missing file: " + e.getMessage());
            }
            try (Session s = new Session(model, 256, 32)) {
                s.generate("", GenerateParams.greedy(4), null);
                check(false, "an empty prompt throws");
            } catch (GlowqException e) {
                check(e.status == 1 && e.getMessage().contains("empty"), "empty prompt: " + e.getMessage());
            }
        }
        check(Engine.warningCount() == 0, "no warnings or validation messages (" + Engine.warningCount() + ")");
        if (failures > 0) {
            System.err.println(failures + " check(s) failed");
            System.exit(1);
        }
        System.out.println("java binding: all checks passed");
    }
}

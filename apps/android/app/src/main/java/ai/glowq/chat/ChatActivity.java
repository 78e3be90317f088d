package ai.glowq.chat;

import ai.glowq.Chat;
import ai.glowq.Engine;
import ai.glowq.GenerateParams;
import ai.glowq.GenerateResult;
import ai.glowq.GlowqException;
import ai.glowq.Model;
import android.app.Activity;
import android.content.Intent;
import android.net.Uri;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.os.ParcelFileDescriptor;
import android.widget.Button;
import android.widget.EditText;
import android.widget.ScrollView;
import android.widget.TextView;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A minimal chat over the Java binding: pick a GGUF model with the system file picker (it is
 * mapped from the descriptor, never copied), then talk to it. Loading and generation run on one
 * worker thread; tokens stream to the transcript; Stop cancels from the UI thread.
 */
public final class ChatActivity extends Activity {
    private static final int PICK_MODEL = 1;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler ui = new Handler(Looper.getMainLooper());
    private Engine engine;
    private Model model;
    private Chat chat;
    private ParcelFileDescriptor modelFd;
    private volatile boolean generating;

    private TextView status, transcript;
    private EditText input;
    private Button send;
    private ScrollView scroll;

    @Override protected void onCreate(Bundle saved) {
        super.onCreate(saved);
        setContentView(R.layout.activity_chat);
        status = findViewById(R.id.status);
        transcript = findViewById(R.id.transcript);
        input = findViewById(R.id.input);
        send = findViewById(R.id.send);
        scroll = findViewById(R.id.scroll);
        findViewById(R.id.open).setOnClickListener(v -> {
            Intent pick = new Intent(Intent.ACTION_OPEN_DOCUMENT).addCategory(Intent.CATEGORY_OPENABLE).setType("*/*");
            startActivityForResult(pick, PICK_MODEL);
        });
        send.setOnClickListener(v -> {
            if (generating) {
                chat.cancel();
            } else {
                sendMessage(input.getText().toString());
            }
        });
    }

    @Override protected void onActivityResult(int request, int result, Intent data) {
        if (request != PICK_MODEL || result != RESULT_OK || data == null) return;
        final Uri uri = data.getData();
        status.setText("Loading…");
        send.setEnabled(false);
        worker.execute(() -> {
            try {
                closeModel();
                if (engine == null) engine = new Engine();
                modelFd = getContentResolver().openFileDescriptor(uri, "r");
                model = Model.load(engine, modelFd.getFd(), 0, 0);
                chat = new Chat(model, null, 2048);
                final String device = engine.deviceName();
                ui.post(() -> {
                    status.setText("Ready on " + device);
                    send.setEnabled(true);
                });
            } catch (GlowqException | java.io.IOException e) {
                ui.post(() -> status.setText("Cannot load the model: " + e.getMessage()));
            }
        });
    }

    private void sendMessage(String text) {
        if (text.trim().isEmpty() || chat == null) return;
        input.setText("");
        transcript.append("\n> " + text + "\n");
        generating = true;
        send.setText(R.string.stop);
        worker.execute(() -> {
            String end;
            try {
                GenerateResult r = chat.send(text, new GenerateParams(), (piece, token) -> {
                    ui.post(() -> {
                        transcript.append(piece);
                        scroll.post(() -> scroll.fullScroll(ScrollView.FOCUS_DOWN));
                    });
                    return true;
                });
                end = "\n[" + r.stopReason + ", " + String.format("%.1f", r.decodeTokensPerS) + " tok/s]\n";
            } catch (GlowqException e) {
                end = "\n[error: " + e.getMessage() + "]\n";
            }
            final String tail = end;
            ui.post(() -> {
                transcript.append(tail);
                generating = false;
                send.setText(R.string.send);
            });
        });
    }

    private void closeModel() throws java.io.IOException {
        if (chat != null) chat.close();
        if (model != null) model.close();
        if (modelFd != null) modelFd.close();
        chat = null;
        model = null;
        modelFd = null;
    }

    @Override protected void onDestroy() {
        if (chat != null) chat.cancel();
        worker.execute(() -> {
            try {
                closeModel();
            } catch (java.io.IOException ignored) {
                // the descriptor is gone with the process anyway
            }
            if (engine != null) engine.close();
        });
        worker.shutdown();
        super.onDestroy();
    }
}

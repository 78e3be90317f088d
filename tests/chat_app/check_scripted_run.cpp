// Checks what `glowq-chat --script` left: the transcript's reply contains the expected
// word, no validation message was seen, and the screenshot has the window's size and is
// a real rendering (many distinct colors; the message area is not uniform).
//   check_scripted_run TRANSCRIPT.json SCREENSHOT.png WORD
//   check_scripted_run --expect-error TRANSCRIPT.json TEXT   (the error names TEXT)
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

int fail(const std::string& why) {
    std::fprintf(stderr, "check_scripted_run: %s\n", why.c_str());
    return 1;
}

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "--expect-error") {
        std::ifstream f(argv[2]);
        if (!f) return fail(std::string(argv[2]) + ": missing");
        const nlohmann::json t = nlohmann::json::parse(f);
        const std::string error = t.value("error", std::string());
        if (error.find(argv[3]) == std::string::npos) return fail("the error '" + error + "' does not name " + argv[3]);
        std::printf("scripted run: the window showed \"%s\"\n", error.c_str());
        return 0;
    }
    if (argc != 4) return fail("usage: check_scripted_run TRANSCRIPT.json SCREENSHOT.png WORD");
    std::ifstream f(argv[1]);
    if (!f) return fail(std::string(argv[1]) + ": missing");
    const nlohmann::json t = nlohmann::json::parse(f);
    if (t.value("validation_messages", -1) != 0) return fail("validation messages: " + t["validation_messages"].dump());
    if (!t.value("error", std::string()).empty()) return fail("the app reported: " + t["error"].get<std::string>());
    const auto& msgs = t.at("messages");
    if (msgs.size() < 2 || msgs.back().at("role") != "assistant") return fail("no reply in the transcript");
    const std::string reply = msgs.back().at("content");
    if (reply.find(argv[3]) == std::string::npos) return fail("the reply '" + reply + "' lacks '" + argv[3] + "'");

    int w = 0, h = 0, n = 0;
    unsigned char* px = stbi_load(argv[2], &w, &h, &n, 4);
    if (!px) return fail(std::string(argv[2]) + ": not a readable PNG");
    const int want_w = t.at("window")[0], want_h = t.at("window")[1];
    std::set<uint32_t> colors, area;
    for (int i = 0; i < w * h; ++i) {
        const uint32_t c = uint32_t(px[4 * i]) | uint32_t(px[4 * i + 1]) << 8 | uint32_t(px[4 * i + 2]) << 16;
        colors.insert(c);
        const int x = i % w, y = i / w;
        if (x > w / 4 && y > h / 12 && y < h / 2) area.insert(c);  // where the messages are
    }
    stbi_image_free(px);
    if (w != want_w || h != want_h)
        return fail("screenshot is " + std::to_string(w) + "x" + std::to_string(h) + ", the window " +
                    std::to_string(want_w) + "x" + std::to_string(want_h));
    if (colors.size() < 50) return fail("screenshot has only " + std::to_string(colors.size()) + " colors");
    if (area.size() < 10) return fail("the message area is nearly uniform (" + std::to_string(area.size()) + " colors)");
    std::printf("scripted run: reply \"%s\"; screenshot %dx%d, %zu colors; frame median %.1f ms while generating\n",
                reply.c_str(), w, h, colors.size(), t["frame_ms_while_generating"].value("median", 0.0));
    return 0;
}

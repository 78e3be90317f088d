// glowq-chat: the desktop chat app. GLFW window, Dear ImGui rendered with Vulkan, and the
// model on the same device and queue (the engine adopts them; one queue lock for the
// engine's submits and the window's submits and presents). Generation runs on a worker
// thread; the UI waits only for events (woken by the worker) and its own frames.
//
//   glowq-chat [--model FILE] [--ctx N] [--script FILE] [--transcript OUT.json]
//              [--screenshot OUT.png] [--exit-when-done]
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_vulkan.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "app.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "vk_window.hpp"

using namespace glowq;
using namespace glowq::chat_app;

namespace {

struct Options {
    std::string model, script, transcript, screenshot;
    uint32_t context = 2048;
    float temperature = 0.7f;
    int max_tokens = 512;
    bool exit_when_done = false, own_device = false, close_while_generating = false;
};

const char* kUsage =
    "usage: glowq-chat [--model FILE] [--ctx N] [--script FILE] [--transcript OUT.json]\n"
    "                  [--screenshot OUT.png] [--exit-when-done] [--temp T] [--max-tokens N]\n"
    "                  [--own-device]\n\n"
    "A desktop chat with a GGUF model on the GPU (Vulkan). Without --model it loads the main\n"
    "job's GlowQ SmolLM2 from the cache. Conversations are saved under\n"
    "$XDG_DATA_HOME/glowq/conversations. The scripted mode sends each line of --script as a\n"
    "user message, then writes the transcript and a screenshot of the window.\n"
    "--close-while-generating closes the window as the first reply streams (a test of a clean\n"
    "exit mid-generation). --temp sets the initial temperature (0: greedy). --own-device runs the model on a device\n"
    "of its own instead of the window's (for comparing frame times).\n"
    "GLOWQ_VALIDATION=1 turns the Vulkan validation layer on.\n";

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (a == "--model" || a == "-m") {
            o.model = value();
        } else if (a == "--ctx") {
            o.context = uint32_t(std::stoul(value()));
        } else if (a == "--script") {
            o.script = value();
        } else if (a == "--transcript") {
            o.transcript = value();
        } else if (a == "--screenshot") {
            o.screenshot = value();
        } else if (a == "--exit-when-done") {
            o.exit_when_done = true;
        } else if (a == "--close-while-generating") {
            o.close_while_generating = true;
        } else if (a == "--own-device") {
            o.own_device = true;
        } else if (a == "--max-tokens") {
            o.max_tokens = std::stoi(value());
        } else if (a == "--temp") {
            o.temperature = std::stof(value());
        } else {
            throw std::runtime_error("unknown option " + a + " (see --help)");
        }
    }
    return o;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error(path + ": cannot read the script");
    std::vector<std::string> out;
    for (std::string line; std::getline(f, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    Options opt;
    try {
        opt = parse(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "glowq-chat: %s\n", e.what());
        return 2;
    }
    const char* v = std::getenv("GLOWQ_VALIDATION");
    const bool validation = v && *v && std::strcmp(v, "0") != 0;
    std::atomic<int> validation_messages{0};
    try {
        WindowOptions wo;
        wo.validation = validation;
        wo.on_validation = [&](const std::string& m) {
            ++validation_messages;
            std::fprintf(stderr, "glowq-chat: validation: %s\n", m.c_str());
        };
        VkWindow window(wo);

        // The engine runs the model on the window's device and queue, under its queue lock.
        auto adopt = std::make_shared<vk::AdoptedDevice>();
        adopt->instance = window.instance();
        adopt->physical = window.physical_device();
        adopt->device = window.device();
        adopt->queue = window.queue();
        adopt->queue_family = window.queue_family();
        adopt->lock = [&window] { window.queue_mutex().lock(); };
        adopt->unlock = [&window] { window.queue_mutex().unlock(); };
        EngineOptions eo;
        if (opt.own_device) {
            eo.device = window.device_name();
            eo.validation = validation;
            eo.log = [&](vk::LogLevel level, const std::string& m) {
                if (level >= vk::LogLevel::Warning) wo.on_validation(m);
            };
        } else {
            eo.adopt = adopt;
        }
        auto engine = std::make_shared<Engine>(eo);

        IMGUI_CHECKVERSION();
        ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        float xs = 1, ys = 1;
        glfwGetWindowContentScale(window.glfw(), &xs, &ys);
        const float scale = std::max(1.0f, xs);
        const char* sans = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        const char* mono_path = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
        ImFont* font = std::ifstream(sans) ? io.Fonts->AddFontFromFileTTF(sans, 16.0f * scale) : nullptr;
        ImFont* mono = std::ifstream(mono_path) ? io.Fonts->AddFontFromFileTTF(mono_path, 15.0f * scale) : nullptr;
        if (!font) font = io.Fonts->AddFontDefault();
        if (!mono) mono = font;
        ImGui::StyleColorsDark();
        ImGui::GetStyle().ScaleAllSizes(scale);
        ImGui_ImplGlfw_InitForVulkan(window.glfw(), true);
        ImGui_ImplVulkan_InitInfo ii{};
        ii.Instance = window.instance();
        ii.PhysicalDevice = window.physical_device();
        ii.Device = window.device();
        ii.QueueFamily = window.queue_family();
        ii.Queue = window.queue();
        ii.DescriptorPool = window.descriptor_pool();
        ii.MinImageCount = 2;
        ii.ImageCount = std::max(2u, window.image_count());
        ii.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
        ImGui_ImplVulkan_Init(&ii, window.render_pass());
        window.submit_now([](VkCommandBuffer cmd) { ImGui_ImplVulkan_CreateFontsTexture(cmd); });
        ImGui_ImplVulkan_DestroyFontUploadObjects();

        int exit_code = 0;
        {
            ChatWorker worker(engine, opt.context, [] { glfwPostEmptyEvent(); });
            AppOptions ao;
            ao.model_path = opt.model.empty() ? default_model_path() : opt.model;
            ao.device_name = window.device_name();
            ao.conversation_dir = default_conversation_dir();
            ao.context = opt.context;
            ao.temperature = opt.temperature;
            ao.max_tokens = opt.max_tokens;
            App app(worker, ao, mono);

            std::vector<std::string> script = opt.script.empty() ? std::vector<std::string>{} : read_lines(opt.script);
            size_t sent = 0;
            bool done = false, captured = false;
            // While generating: the time between frames (paced by the tokens that wake the UI)
            // and the time each frame took to build, submit and present (what a resize or a
            // click waits for).
            std::vector<double> frames_generating, frame_work;
            auto last = std::chrono::steady_clock::now();
            float frame_ms = 0;
            while (!glfwWindowShouldClose(window.glfw()) && !done) {
                // Idle: sleep until input or a worker event; generating: a frame per event.
                // (The scripted mode polls: its next message depends on state the frame updates.)
                if (app.generating() || worker.busy() || !script.empty()) glfwWaitEventsTimeout(0.05);
                else glfwWaitEvents();
                if (!script.empty() && app.model_ready() && !app.generating() && sent == app.replies_done() &&
                    sent < script.size()) {
                    app.send(script[sent]);
                    ++sent;
                }
                if (opt.close_while_generating && app.generating() && !app.current().messages.back().content.empty())
                    glfwSetWindowShouldClose(window.glfw(), GLFW_TRUE);
                const bool script_done = !script.empty() && sent == script.size() && app.replies_done() == sent &&
                                         !app.generating();
                const bool failed = !script.empty() && app.failed() && !worker.busy();
                const bool capture = (script_done || failed) && !captured && !opt.screenshot.empty();
                const auto work_start = std::chrono::steady_clock::now();
                ImGui_ImplVulkan_NewFrame();
                ImGui_ImplGlfw_NewFrame();
                ImGui::NewFrame();
                app.draw(frame_ms);
                ImGui::Render();
                window.frame([](VkCommandBuffer cmd) { ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), cmd); },
                             capture);
                const auto now = std::chrono::steady_clock::now();
                frame_ms = float(std::chrono::duration<double, std::milli>(now - last).count());
                last = now;
                if (app.generating()) {
                    frames_generating.push_back(frame_ms);
                    frame_work.push_back(std::chrono::duration<double, std::milli>(now - work_start).count());
                }
                if (capture) {
                    captured = true;
                    if (!stbi_write_png(opt.screenshot.c_str(), int(window.capture_width()), int(window.capture_height()),
                                        4, window.capture_rgba().data(), int(window.capture_width()) * 4))
                        std::fprintf(stderr, "glowq-chat: cannot write %s\n", opt.screenshot.c_str());
                }
                if ((script_done || failed) && (captured || opt.screenshot.empty())) {
                    if (failed) exit_code = 1;
                    if (!opt.transcript.empty()) {
                        nlohmann::json t;
                        t["device"] = window.device_name();
                        t["model_device"] = opt.own_device ? "own device" : "the window's device (adopted)";
                        t["model"] = app.facts().path;
                        t["error"] = app.last_error();
                        t["validation_messages"] = validation_messages.load();
                        t["frame_ms_while_generating"] = {{"median", median(frames_generating)},
                                                          {"max", frames_generating.empty() ? 0.0 : *std::max_element(frames_generating.begin(), frames_generating.end())},
                                                          {"frames", frames_generating.size()}};
                        t["frame_work_ms_while_generating"] = {
                            {"median", median(frame_work)},
                            {"max", frame_work.empty() ? 0.0 : *std::max_element(frame_work.begin(), frame_work.end())}};
                        t["window"] = {window.capture_width(), window.capture_height()};
                        t["messages"] = nlohmann::json::array();
                        for (const Message& m : app.current().messages)
                            t["messages"].push_back({{"role", m.role}, {"content", m.content}, {"ttfb_ms", m.ttfb_ms},
                                                     {"tokens_per_s", m.tokens_per_s}, {"tokens", m.tokens}});
                        glowq::write_file_atomic(opt.transcript, t.dump(2) + "\n");
                    }
                    if (opt.exit_when_done) done = true;
                    script.clear();
                }
            }
            // Closing while generating: the worker's destructor cancels and joins.
        }
        window.wait_idle();
        ImGui_ImplVulkan_Shutdown();
        ImGui_ImplGlfw_Shutdown();
        ImGui::DestroyContext();
        engine.reset();
        if (validation_messages.load()) exit_code = exit_code ? exit_code : 3;
        return exit_code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "glowq-chat: %s\n", e.what());
        return 1;
    }
}

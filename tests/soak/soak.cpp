// The soak (issue 17, docs/reliability.md): what a chat app left open for a day meets, in
// three phases on one engine, with host memory (RSS) and the engine's device memory sampled
// after every step:
//   chat      one conversation generating --tokens tokens over many turns in a small
//             context, so it outgrows it and is trimmed as the Chat API does;
//   sessions  --sessions sessions created on one loaded model, each generating a few
//             tokens, and destroyed;
//   loads     --loads loads of the model file, each with a session generating a token,
//             and unloads.
// Each phase's growth is its last sample against the sample after its warm-up (the first
// tenth of its steps, at least one; for the chat, at least until its conversation first
// filled the context: on a CPU driver device memory is host memory committed on first
// write, so the KV cache's pages count as they are first reached), and the device memory
// must be back where it started after the sessions and the loads. Exits 1 if RSS grew more
// than --max-growth percent (plus 1 MiB for the allocator's rounding) or device memory
// leaked.
//
// usage: glowq_soak MODEL.gguf [--tokens N] [--turn N] [--context N] [--sessions N]
//                              [--loads N] [--max-growth PCT]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "glowq/chat.hpp"
#include "glowq/engine.hpp"
#include "glowq/error.hpp"
#include "glowq/model.hpp"
#include "glowq/session.hpp"

using namespace glowq;

namespace {

uint64_t rss_bytes() {
    std::ifstream f("/proc/self/statm");
    uint64_t pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * uint64_t(::sysconf(_SC_PAGESIZE));
}

struct Sample {
    uint64_t rss, device_bytes;
    uint32_t device_allocations;
};

struct Phase {
    std::string name;
    std::vector<Sample> samples;
    Sample before{};
    size_t warm_until = 0;  // the warm-up lasts at least until this sample
};

Sample sample(Engine& e) {
    return {rss_bytes(), e.context().allocated_bytes(), e.context().allocation_count()};
}

double mib(uint64_t b) { return double(b) / (1 << 20); }

}  // namespace

int main(int argc, char** argv) try {
    if (argc < 2) {
        std::fprintf(stderr, "usage: glowq_soak MODEL.gguf [--tokens N] [--turn N] [--context N] [--sessions N] "
                             "[--loads N] [--max-growth PCT]\n");
        return 2;
    }
    const std::string path = argv[1];
    uint64_t tokens = 10000, turn = 200, context = 512, sessions = 200, loads = 200;
    double max_growth = 1.0;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        const double v = std::atof(argv[i + 1]);
        if (k == "--tokens") tokens = uint64_t(v);
        else if (k == "--turn") turn = uint64_t(v);
        else if (k == "--context") context = uint64_t(v);
        else if (k == "--sessions") sessions = uint64_t(v);
        else if (k == "--loads") loads = uint64_t(v);
        else if (k == "--max-growth") max_growth = v;
        else {
            std::fprintf(stderr, "glowq_soak: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    auto engine = std::make_shared<Engine>();
    std::vector<Phase> phases;

    {  // one long conversation, trimmed as it outgrows its context
        auto model = Model::load_file(engine, path);
        ChatOptions co;
        co.session.context = uint32_t(context);
        Chat chat(model, co);
        Phase ph{"chat", {}, sample(*engine)};
        SamplerParams sp;
        GenerateOptions go;
        uint64_t generated = 0;
        uint32_t turns = 0, trims = 0;
        size_t longest = 0;
        while (generated < tokens) {
            sp.seed = turns;  // sampled, so replies differ and the conversation moves on
            // Replies of varied length (turn/2 to turn tokens), as in a real chat: prompts of
            // many lengths, so the session records prefill graphs for many (up to its cache's 8).
            go.max_tokens = uint32_t(turn / 2 + (uint64_t(turns) * 37) % (turn / 2 + 1));
            const size_t before = chat.messages().size();
            const GenerateResult r =
                chat.send("Tell me something new about the number " + std::to_string(turns) + ".", sp, go);
            generated += r.tokens.size() + (r.tokens.empty() ? 1 : 0);
            const bool trimmed = chat.messages().size() < before + 2;
            trims += trimmed;
            longest = std::max(longest, size_t(chat.tokens_used()));
            ++turns;
            ph.samples.push_back(sample(*engine));
            if (trimmed && trims == 1) ph.warm_until = ph.samples.size() - 1;
            std::fprintf(stderr, "chat turn %u: %zu tokens (%s), %llu in all, %u held, RSS %.1f MiB\n", turns,
                         r.tokens.size(), stop_reason_name(r.stop_reason), (unsigned long long)generated,
                         chat.tokens_used(), mib(ph.samples.back().rss));
        }
        std::printf("chat: %llu tokens in %u turns, context %u, %u turns trimmed older messages, at most %zu "
                    "tokens held\n",
                    (unsigned long long)generated, turns, chat.context(), trims, longest);
        phases.push_back(ph);
    }
    {  // many sessions on one model
        auto model = Model::load_file(engine, path);
        Phase ph{"sessions", {}, sample(*engine)};
        SamplerParams greedy;
        greedy.temperature = 0;
        GenerateOptions go;
        go.max_tokens = 4;
        const std::vector<int32_t> prompt = model->tokenizer().encode("Hello there", true);
        for (uint64_t i = 0; i < sessions; ++i) {
            {
                SessionOptions so;
                so.context = 256;
                Session s(model, so);
                s.generate(prompt, greedy, go);
            }
            ph.samples.push_back(sample(*engine));
        }
        std::printf("sessions: %llu created, generated 4 tokens each, destroyed\n", (unsigned long long)sessions);
        phases.push_back(ph);
    }
    {  // many loads
        Phase ph{"loads", {}, sample(*engine)};
        SamplerParams greedy;
        greedy.temperature = 0;
        GenerateOptions go;
        go.max_tokens = 1;
        for (uint64_t i = 0; i < loads; ++i) {
            {
                auto model = Model::load_file(engine, path);
                SessionOptions so;
                so.context = 64;
                Session s(model, so);
                s.generate(model->tokenizer().encode("Hi", true), greedy, go);
            }
            ph.samples.push_back(sample(*engine));
        }
        std::printf("loads: %llu loads, a session and a token each, unloads\n", (unsigned long long)loads);
        phases.push_back(ph);
    }

    std::printf("\n| phase | steps | RSS after warm-up MiB | RSS peak MiB | RSS last MiB | growth after warm-up | "
                "device MiB before / peak / after | device allocations before / after |\n");
    std::printf("|---|---:|---:|---:|---:|---:|---|---|\n");
    int problems = 0;
    for (const Phase& ph : phases) {
        const size_t warm =
            std::min(ph.samples.size() - 1, std::max(std::max<size_t>(1, ph.samples.size() / 10) - 1, ph.warm_until));
        const Sample& w = ph.samples[warm];
        const Sample& last = ph.samples.back();
        uint64_t peak = 0, device_peak = 0;
        for (size_t i = warm; i < ph.samples.size(); ++i) {
            peak = std::max(peak, ph.samples[i].rss);
            device_peak = std::max(device_peak, ph.samples[i].device_bytes);
        }
        const double growth = 100.0 * (double(last.rss) - double(w.rss)) / double(w.rss);
        std::printf("| %s | %zu | %.1f | %.1f | %.1f | %+.2f%% | %.1f / %.1f / %.1f | %u / %u |\n", ph.name.c_str(),
                    ph.samples.size(), mib(w.rss), mib(peak), mib(last.rss), growth, mib(ph.before.device_bytes),
                    mib(device_peak), mib(last.device_bytes), ph.before.device_allocations, last.device_allocations);
        if (last.rss > w.rss + uint64_t(double(w.rss) * max_growth / 100.0) + (1u << 20)) {
            std::fprintf(stderr, "glowq_soak: %s: RSS grew %.2f%% after warm-up (bound %.2f%%)\n", ph.name.c_str(),
                         growth, max_growth);
            ++problems;
        }
        if (ph.name != "chat" && (last.device_bytes != ph.before.device_bytes ||
                                  last.device_allocations != ph.before.device_allocations)) {
            std::fprintf(stderr, "glowq_soak: %s: device memory %.1f MiB in %u allocations before, %.1f in %u after\n",
                         ph.name.c_str(), mib(ph.before.device_bytes), ph.before.device_allocations,
                         mib(last.device_bytes), last.device_allocations);
            ++problems;
        }
    }
    std::printf("\n%s\n", problems ? "FAILED" : "flat: every phase within its bound");
    return problems ? 1 : 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "glowq_soak: %s\n", e.what());
    return 1;
}

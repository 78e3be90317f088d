#include "glowq/generate.hpp"

#include <chrono>

#include "glowq/error.hpp"

namespace glowq {

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Holds back the tail of the text that could still become a stop string, so a stop string
// is never half-printed.
class StopFilter {
public:
    explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {}
    // Returns the text that is safe to emit; sets hit when a stop string completed.
    std::string push(const std::string& piece, bool& hit) {
        pending_ += piece;
        for (const auto& s : stops_) {
            if (s.empty()) continue;
            const auto at = pending_.find(s);
            if (at != std::string::npos) {
                hit = true;
                std::string out = pending_.substr(0, at);
                pending_.clear();
                return out;
            }
        }
        size_t keep = 0;  // longest suffix of pending_ that is a prefix of a stop string
        for (const auto& s : stops_)
            for (size_t n = std::min(s.size() - 1, pending_.size()); n > keep; --n)
                if (pending_.compare(pending_.size() - n, n, s, 0, n) == 0) {
                    keep = n;
                    break;
                }
        std::string out = pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
    }
    std::string flush() {
        std::string out;
        out.swap(pending_);
        return out;
    }

private:
    const std::vector<std::string>& stops_;
    std::string pending_;
};

}  // namespace

const char* stop_reason_name(StopReason r) {
    switch (r) {
        case StopReason::None: return "none";
        case StopReason::Eos: return "eos";
        case StopReason::StopString: return "stop string";
        case StopReason::MaxTokens: return "max tokens";
        case StopReason::ContextFull: return "context full";
        case StopReason::Callback: return "callback";
        case StopReason::Cancelled: return "cancelled";
    }
    return "unknown";
}

GenerateResult generate(Forward& model, const Tokenizer& tokenizer, Sampler& sampler,
                        const std::vector<int32_t>& prompt, uint32_t pos, const GenerateOptions& options,
                        const TokenCallback& on_token) {
    if (prompt.empty()) throw Error(ErrorKind::InvalidArgument, "the prompt is empty");
    const uint32_t ctx = model.max_context();
    if (uint64_t(pos) + prompt.size() >= ctx)
        throw Error(ErrorKind::ContextFull, "prompt of " + std::to_string(prompt.size()) + " tokens (at position " +
                                                    std::to_string(pos) + ") does not fit the context of " +
                                                    std::to_string(ctx) + " tokens; shorten it or raise --ctx");
    const uint32_t V = model.config().n_vocab;
    std::vector<float> logits(V);
    GenerateResult r;
    r.prompt_tokens = uint32_t(prompt.size());
    for (int32_t t : prompt) sampler.accept(t);

    const auto t0 = std::chrono::steady_clock::now();
    model.eval(prompt.data(), uint32_t(prompt.size()), pos, logits.data(), false);
    r.prefill_ms = ms_since(t0);
    pos += uint32_t(prompt.size());

    StreamDecoder stream(tokenizer);
    StopFilter stop(options.stop);
    auto emit = [&](const std::string& text, int32_t token) {
        r.text += text;
        return !on_token || on_token(text, token);
    };
    std::chrono::steady_clock::time_point decode_start;
    r.stop_reason = StopReason::MaxTokens;
    for (uint32_t i = 0; i < options.max_tokens; ++i) {
        const int32_t next = sampler.sample(logits.data(), V);
        if (i == 0) {
            r.ttfb_ms = ms_since(t0);
            decode_start = std::chrono::steady_clock::now();
        }
        if (tokenizer.is_eog(next)) {
            r.stop_reason = StopReason::Eos;
            break;
        }
        sampler.accept(next);
        r.tokens.push_back(next);
        bool hit = false;
        const std::string text = stop.push(stream.push(next), hit);
        if (!emit(text, next)) {
            r.stop_reason = StopReason::Callback;
            break;
        }
        if (hit) {
            r.stop_reason = StopReason::StopString;
            break;
        }
        if (i + 1 == options.max_tokens) break;
        if (pos + 1 >= ctx) {
            r.stop_reason = StopReason::ContextFull;
            break;
        }
        if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
            r.stop_reason = StopReason::Cancelled;
            break;
        }
        try {
            model.eval(&next, 1, pos, logits.data(), false);
        } catch (const Error& e) {
            // The model's own cancel check may see a cancel that arrived after ours.
            if (e.kind() != ErrorKind::Cancelled) throw;
            r.stop_reason = StopReason::Cancelled;
            break;
        }
        ++pos;
    }
    if (!r.tokens.empty()) r.decode_ms = ms_since(decode_start);
    if (r.stop_reason != StopReason::StopString && r.stop_reason != StopReason::Callback) {
        bool hit = false;
        const std::string tail = stop.push(stream.flush(), hit) + stop.flush();
        if (!tail.empty()) emit(tail, r.tokens.empty() ? -1 : r.tokens.back());
    }
    return r;
}

}  // namespace glowq

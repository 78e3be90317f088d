// Session: prefix reuse, generation and evaluation over one VulkanLlama executor.
#include "glowq/session.hpp"

#include <algorithm>

#include "glowq/error.hpp"

namespace glowq {

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options) : model_(std::move(model)) {
    if (!model_) throw Error(ErrorKind::InvalidArgument, "no model");
    if (options.context < 2) throw Error(ErrorKind::InvalidArgument, "a session's context must be at least 2 tokens");
    VulkanModelOptions vo;
    vo.max_context = options.context;
    vo.chunk = options.chunk;
    vo.int_dot = options.int_dot;
    exec_ = std::make_unique<VulkanLlama>(model_->weights(), vo);
    exec_->set_cancel_flag(&cancel_);
}

// Rewinds the cache to the longest prefix it shares with `sequence` (keeping at least one
// token to evaluate, whose logits the next step needs) and returns what is left to run.
std::vector<int32_t> Session::prepare(const std::vector<int32_t>& sequence) {
    if (sequence.empty()) throw Error(ErrorKind::InvalidArgument, "the prompt is empty");
    const uint32_t cached = exec_->cached();
    size_t keep = 0;
    while (keep < cached && keep < sequence.size() && tokens_[keep] == sequence[keep]) ++keep;
    keep = std::min(keep, sequence.size() - 1);
    exec_->truncate(uint32_t(keep));
    tokens_.assign(sequence.begin(), sequence.begin() + long(keep));
    return std::vector<int32_t>(sequence.begin() + long(keep), sequence.end());
}

GenerateResult Session::generate(const std::vector<int32_t>& sequence, const SamplerParams& sp, GenerateOptions options,
                                 const TokenCallback& on_token) {
    cancel_.store(false);
    if (sequence.size() >= context())
        throw Error(ErrorKind::ContextFull, "prompt of " + std::to_string(sequence.size()) +
                                                " tokens does not fit the context of " + std::to_string(context()) +
                                                " tokens; shorten it or make the context larger");
    const std::vector<int32_t> fresh = prepare(sequence);
    const uint32_t pos = uint32_t(tokens_.size());
    Sampler sampler(sp);
    for (int32_t t : tokens_) sampler.accept(t);  // generate() accepts the fresh ones
    options.cancel = &cancel_;
    try {
        GenerateResult r = glowq::generate(*exec_, model_->tokenizer(), sampler, fresh, pos, options, on_token);
        tokens_.insert(tokens_.end(), fresh.begin(), fresh.end());
        tokens_.insert(tokens_.end(), r.tokens.begin(), r.tokens.end());
        return r;
    } catch (...) {
        // What the cache holds of the prompt stays: a cancelled prefill resumes from there.
        // (A failure while decoding loses the generated tokens: forget their positions.)
        const size_t kept = std::min<size_t>(exec_->cached() - pos, fresh.size());
        exec_->truncate(pos + uint32_t(kept));
        tokens_.insert(tokens_.end(), fresh.begin(), fresh.begin() + long(kept));
        throw;
    }
}

void Session::eval(const std::vector<int32_t>& tokens, float* logits) {
    cancel_.store(false);
    if (tokens.empty()) throw Error(ErrorKind::InvalidArgument, "no tokens to evaluate");
    std::vector<int32_t> all = tokens_;
    all.insert(all.end(), tokens.begin(), tokens.end());
    if (all.size() > context())
        throw Error(ErrorKind::ContextFull, std::to_string(all.size()) + " tokens do not fit the context of " +
                                                std::to_string(context()) + " tokens");
    const uint32_t pos = exec_->cached();
    const size_t had = tokens_.size();
    const std::vector<int32_t> fresh(all.begin() + pos, all.end());
    std::vector<float> last(model_->config().n_vocab);
    try {
        exec_->eval(fresh.data(), uint32_t(fresh.size()), pos, last.data(), false);
    } catch (...) {
        // Keep what the cache holds; the session's own tokens stay while the cache still
        // holds all of them but the last (a refused call changes nothing).
        const size_t cached = exec_->cached();
        tokens_.assign(all.begin(), all.begin() + long(cached + 1 >= had ? std::max(cached, had) : cached));
        throw;
    }
    tokens_ = std::move(all);
    if (logits) std::copy(last.begin(), last.end(), logits);
}

void Session::truncate(uint32_t n) {
    if (n >= tokens_.size()) return;
    tokens_.resize(n);
    exec_->truncate(n);
}

}  // namespace glowq

#include "glowq/model/perplexity.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "glowq/error.hpp"

namespace glowq {

double token_nll(const float* logits, uint32_t n_vocab, int32_t target) {
    const float mx = *std::max_element(logits, logits + n_vocab);
    double sum_exp = 0.0;
    for (uint32_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - mx);
    return -(double(logits[target] - mx) - std::log(sum_exp));
}

PerplexityResult perplexity(Forward& forward, const std::vector<int32_t>& tokens, const PerplexityOptions& o) {
    if (o.ctx < 2) throw Error(ErrorKind::InvalidArgument, "perplexity: window of " + std::to_string(o.ctx) + " tokens is too short");
    if (o.ctx > forward.max_context())
        throw Error(ErrorKind::InvalidArgument, "perplexity: window of " + std::to_string(o.ctx) +
                                                    " tokens exceeds the model's context of " + std::to_string(forward.max_context()));
    const bool llama_cpp = o.protocol == PplProtocol::LlamaCpp;
    // llama-perplexity refuses text shorter than two windows even when asked for one.
    const size_t needed = size_t(o.ctx) * (llama_cpp ? 2 : 1);
    if (tokens.size() < needed)
        throw Error(ErrorKind::InvalidArgument, "perplexity: " + std::to_string(tokens.size()) + " tokens, need at least " +
                                                    std::to_string(needed) + " for windows of " + std::to_string(o.ctx));

    const uint32_t n_vocab = forward.config().n_vocab;
    uint32_t n_windows = uint32_t(tokens.size() / o.ctx);
    if (o.max_windows >= 0) n_windows = std::min(n_windows, uint32_t(o.max_windows));
    const uint32_t first = llama_cpp ? o.ctx / 2 : 0;  // first position whose logits are scored

    std::vector<int32_t> window(o.ctx);
    std::vector<float> logits(size_t(o.ctx) * n_vocab);
    double nll = 0.0, nll2 = 0.0;
    uint64_t count = 0;
    for (uint32_t w = 0; w < n_windows; ++w) {
        const int32_t* src = tokens.data() + size_t(w) * o.ctx;
        std::copy_n(src, o.ctx, window.begin());
        if (o.bos >= 0) window[0] = o.bos;
        forward.eval(window.data(), o.ctx, 0, logits.data(), true);
        // Targets are the window's own tokens (the original first token is never a target).
        for (uint32_t i = first; i + 1 < o.ctx; ++i) {
            const double v = token_nll(logits.data() + size_t(i) * n_vocab, n_vocab, src[i + 1]);
            nll += v;
            nll2 += v * v;
            ++count;
        }
        if (o.progress) o.progress(w + 1, n_windows, std::exp(nll / double(count)));
    }

    PerplexityResult r;
    r.n_windows = n_windows;
    r.n_scored = count;
    if (count == 0) return r;
    r.mean_nll = nll / double(count);
    r.ppl = std::exp(r.mean_nll);
    const double var = nll2 / double(count) - r.mean_nll * r.mean_nll;
    r.ppl_stderr = var > 0.0 && count > 1 ? std::sqrt(var / double(count - 1)) * r.ppl : 0.0;
    return r;
}

}  // namespace glowq

// The kernel variants other architectures than Llama need, against CPU loops in double:
// rope_kv's HEADS form (NEOX pairs, q/k/v biases, per-head q/k RMSNorm, with and without a
// GlowQ correction), sliding-window attention, GELU times up, and RMSNorm added to the
// residual stream (post-norms).
#include <cmath>

#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "support/rope_kv_check.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

void run_nodes(vk::Graph& g, std::vector<vk::Dispatch> ds) {
    for (auto& d : ds) g.add(std::move(d));
    g.run();
}

double max_abs_error(const std::vector<float>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    return worst;
}

// RoPE of one head in double: pair i (i < rope_dim / 2) is (2i, 2i+1), or (i, i + rope_dim/2)
// for NEOX, turned by pos * scale * base^(-2i / rope_dim).
void rope_head(double* v, uint32_t rope_dim, bool neox, double pos, double base, double scale) {
    for (uint32_t i = 0; 2 * i < rope_dim; ++i) {
        const double theta = pos * scale * std::pow(base, -double(2 * i) / rope_dim);
        const uint32_t x = neox ? i : 2 * i, y = neox ? i + rope_dim / 2 : 2 * i + 1;
        const double a = v[x], b = v[y];
        v[x] = a * std::cos(theta) - b * std::sin(theta);
        v[y] = a * std::sin(theta) + b * std::cos(theta);
    }
}

void rms_head(double* v, uint32_t n, const float* w, double eps) {
    double ss = 0;
    for (uint32_t i = 0; i < n; ++i) ss += v[i] * v[i];
    const double inv = 1.0 / std::sqrt(ss / n + eps);
    for (uint32_t i = 0; i < n; ++i) v[i] *= inv * w[i];
}

struct RopeCase {
    ops::AttentionShape s;
    bool bias, norm;
    uint32_t rank;            // 0: no correction
    bool own_buffer = false;  // the sections in a buffer of their own, not the matrix's
};

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "RoPE with NEOX pairs, q/k/v biases and q/k norms matches the CPU loop",
                 "[ops][attention]") {
    const RopeCase cases[] = {
        {{4, 2, 32, 32, 10000.0f, 1.0f, true}, false, false, 0},      // NEOX alone
        {{14, 2, 64, 64, 1000000.0f, 1.0f, true}, true, false, 0},    // qwen2: biases
        {{4, 1, 256, 256, 10000.0f, 1.0f, true}, false, true, 0},     // gemma3: q/k norms, wide heads
        {{3, 3, 40, 24, 500000.0f, 0.5f, true}, true, true, 22},      // partial rotation, everything, corrected
        {{6, 2, 34, 34, 10000.0f, 1.0f, false}, true, false, 8},      // adjacent pairs with biases, odd pair count
        {{4, 2, 64, 64, 10000.0f, 1.0f, true}, true, true, 0, true},  // sections in their own buffer
    };
    for (const RopeCase& c : cases) {
        const auto& s = c.s;
        for (uint32_t T : {1u, 5u, 64u}) {
            DYNAMIC_SECTION("heads " << s.n_heads << "/" << s.n_kv << " hd " << s.head_dim << " rope " << s.rope_dim
                                     << (s.neox ? " neox" : "") << (c.bias ? " bias" : "") << (c.norm ? " norm" : "")
                                     << " rank " << c.rank << (c.own_buffer ? " own buffer" : "") << " T " << T) {
                const uint32_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv * hd, row = qd + 2 * kvd;
                const uint32_t pos0 = 9, rank = c.rank;
                const uint32_t r_word = T * row + 3, r_stride = rank + 1;
                auto in = test::random_floats(r_word + size_t(T) * r_stride, T * 31 + hd, -2, 2);
                const auto bias = test::random_floats(row, hd + 1, -1, 1);
                const auto norms = test::random_floats(2 * hd, hd + 2, 0.5f, 1.5f);
                const auto a_f = test::random_floats(size_t(row) * std::max(1u, rank), rank + 3, -0.3f, 0.3f);
                std::vector<uint16_t> a(size_t(row) * rank);
                for (size_t i = 0; i < a.size(); ++i) a[i] = float_to_half(a_f[i]);

                // The qkv product's matrix: its codes are never read here, only its sections.
                std::vector<float> zeros(size_t(row) * 32, 0.0f);
                ops::DeviceMatrix m = ops::DeviceMatrix::upload_int4(alloc, quantize_rtn(zeros.data(), row, 32, 32));
                if (rank) m.attach_lowrank(alloc, a, rank, {0});
                ops::QkvSections sec{nullptr, 0, 0, 1e-6f};
                vk::Buffer own;
                if (c.own_buffer) {  // as the model keeps them for a matrix of several parts
                    std::vector<float> words(4, 0.0f);
                    if (c.bias) sec.bias_word = uint32_t(words.size()), words.insert(words.end(), bias.begin(), bias.end());
                    if (c.norm) sec.norm_word = uint32_t(words.size()), words.insert(words.end(), norms.begin(), norms.end());
                    own = alloc.upload(words.data(), words.size() * 4);
                    sec.binding = &own;
                } else {
                    if (c.bias) sec.bias_word = m.attach_consumer_section(alloc, bias);
                    if (c.norm) sec.norm_word = m.attach_consumer_section(alloc, norms);
                    sec.binding = &m.parts[0].weights;
                }

                std::vector<double> Q(size_t(T) * qd), K(size_t(T) * kvd), V(size_t(T) * kvd);
                for (uint32_t t = 0; t < T; ++t) {
                    std::vector<double> x(row);
                    for (uint32_t n = 0; n < row; ++n) {
                        x[n] = in[size_t(t) * row + n] + (c.bias ? bias[n] : 0.0);
                        for (uint32_t j = 0; j < rank; ++j)
                            x[n] += double(half_to_float(a[size_t(n) * rank + j])) * in[r_word + size_t(t) * r_stride + j];
                    }
                    for (uint32_t h = 0; h < s.n_heads + s.n_kv; ++h) {
                        double* head = &x[h * hd];
                        if (c.norm) rms_head(head, hd, &norms[h < s.n_heads ? 0 : hd], 1e-6);
                        rope_head(head, s.rope_dim, s.neox, pos0 + t, s.freq_base, s.freq_scale);
                    }
                    std::copy(x.begin(), x.begin() + qd, Q.begin() + size_t(t) * qd);
                    std::copy(x.begin() + qd, x.begin() + qd + kvd, K.begin() + size_t(t) * kvd);
                    std::copy(x.begin() + qd + kvd, x.end(), V.begin() + size_t(t) * kvd);
                }

                const ops::LowrankInput lr{&m, r_word, r_stride};
                const test::RopeKvErrors e = test::run_rope_kv(*this, in, s, T, pos0, rank ? &lr : nullptr, &sec, Q, K, V);
                INFO("max q error " << e.q_abs << ", worst cache error in fp16 rounding units " << e.cache_ulps);
                // Values of a few units (a norm's output is ~1 times weights up to 1.5).
                CHECK(e.q_abs <= 2e-5 * (1 + rank / 8.0) * (c.norm ? 3 : 4));
                CHECK(e.cache_ulps <= 1.0);
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "sliding-window attention sees only the last window positions", "[ops][attention]") {
    struct Case {
        uint32_t heads, kv, hd, T, pos0, window, splits;
    };
    const Case cases[] = {
        {4, 2, 32, 1, 40, 5, 1},  {4, 2, 32, 1, 40, 5, 3},   {4, 1, 256, 7, 20, 1, 1},
        {3, 3, 34, 64, 3, 16, 1}, {2, 1, 64, 5, 2, 512, 2},  // a window past the start: all positions
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION("heads " << c.heads << "/" << c.kv << " hd " << c.hd << " T " << c.T << " pos " << c.pos0
                                 << " window " << c.window << " splits " << c.splits) {
            const ops::AttentionShape s{c.heads, c.kv, c.hd, c.hd, 10000.0f, 1.0f, false, 0.125f, c.window};
            const uint32_t qd = c.heads * c.hd, kvd = c.kv * c.hd, row = qd + 2 * kvd, n_ctx = c.pos0 + c.T;
            auto qkv = test::random_floats(size_t(c.T) * row, c.T + c.window, -2, 2);
            auto cache = test::random_floats(size_t(n_ctx) * kvd * 2, n_ctx + 1, -2, 2);
            std::vector<uint32_t> words(size_t(n_ctx) * kvd);  // K then V, fp16 pairs
            std::vector<double> K(size_t(n_ctx) * kvd), V(size_t(n_ctx) * kvd);
            for (size_t i = 0; i < K.size(); i += 2) {
                for (int which = 0; which < 2; ++which) {
                    const float* src = &cache[(which ? K.size() : 0) + i];
                    words[(which ? K.size() / 2 : 0) + i / 2] = float_to_half(src[0]) | uint32_t(float_to_half(src[1])) << 16;
                    auto& dst = which ? V : K;
                    dst[i] = round_to_half(src[0]);
                    dst[i + 1] = round_to_half(src[1]);
                }
            }
            std::vector<double> want(size_t(c.T) * qd);
            for (uint32_t t = 0; t < c.T; ++t)
                for (uint32_t h = 0; h < c.heads; ++h) {
                    const uint32_t kh = h / (c.heads / c.kv), n_pos = c.pos0 + t + 1;
                    const uint32_t first = n_pos > c.window ? n_pos - c.window : 0;
                    std::vector<double> sc(n_pos, 0.0);
                    double mx = -1e300, sum = 0;
                    for (uint32_t p = first; p < n_pos; ++p) {
                        for (uint32_t i = 0; i < c.hd; ++i) sc[p] += qkv[size_t(t) * row + h * c.hd + i] * K[p * kvd + kh * c.hd + i];
                        sc[p] *= 0.125;
                        mx = std::max(mx, sc[p]);
                    }
                    for (uint32_t p = first; p < n_pos; ++p) sum += (sc[p] = std::exp(sc[p] - mx));
                    for (uint32_t i = 0; i < c.hd; ++i) {
                        double acc = 0;
                        for (uint32_t p = first; p < n_pos; ++p) acc += sc[p] * V[p * kvd + kh * c.hd + i];
                        want[size_t(t) * qd + h * c.hd + i] = acc / sum;
                    }
                }
            // The new tokens' K/V are in the cache already (the test skips rope_kv): only the
            // attention kernel and its window are under test.
            vk::Buffer qkvb = alloc.upload(qkv.data(), qkv.size() * 4), kvb = alloc.upload(words.data(), words.size() * 4);
            const uint64_t scratch = ops::attention_scratch_words(s, c.T, c.splits);
            vk::Buffer out = alloc.upload(std::vector<float>(c.T * qd + scratch, 0.0f).data(), (c.T * qd + scratch) * 4);
            vk::Graph g(ctx, alloc);
            g.step()[0] = c.pos0;
            const ops::KvCache kv{&kvb, uint32_t(K.size() / 2)};
            run_nodes(g, {ops::attention(ctx, g.step_buffer(), qkvb, kv, out, s, c.T, c.splits, c.T * qd)});
            const auto got = alloc.read_all<float>(out);
            CHECK(max_abs_error(std::vector<float>(got.begin(), got.begin() + c.T * qd), want) <= 1e-5);
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "GELU times up matches the CPU loop", "[ops]") {
    for (uint32_t n_ff : {1u, 97u, 1536u}) {
        for (uint32_t T : {1u, 5u}) {
            // Up to +-12: tanh saturates, and a naive exp(2z) would overflow at z ~ 44.
            auto gu = test::random_floats(size_t(T) * 2 * n_ff, n_ff + T, -12, 12);
            vk::Buffer in = alloc.upload(gu.data(), gu.size() * 4), out = alloc.allocate(size_t(T) * n_ff * 4);
            vk::Graph g(ctx, alloc);
            run_nodes(g, {ops::silu_mul(ctx, in, out, n_ff, T, nullptr, true)});
            std::vector<double> want(size_t(T) * n_ff);
            for (uint32_t t = 0; t < T; ++t)
                for (uint32_t i = 0; i < n_ff; ++i) {
                    const double x = gu[size_t(t) * 2 * n_ff + i];
                    const double gelu = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
                    want[size_t(t) * n_ff + i] = gelu * gu[size_t(t) * 2 * n_ff + n_ff + i];
                }
            CHECK(max_abs_error(alloc.read_all<float>(out), want) <= 1e-4);  // products up to ~144
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "RMSNorm added to the residual stream matches the CPU loop", "[ops]") {
    for (uint32_t dim : {1u, 63u, 640u, 1001u}) {
        const uint32_t n = 3;
        auto x = test::random_floats(size_t(n) * dim, dim, -4, 4);
        auto w = test::random_floats(dim, dim + 1);
        auto resid = test::random_floats(size_t(n) * dim, dim + 2, -10, 10);
        vk::Buffer xb = alloc.upload(x.data(), x.size() * 4), wb = alloc.upload(w.data(), w.size() * 4);
        vk::Buffer out = alloc.upload(resid.data(), resid.size() * 4);
        vk::Graph g(ctx, alloc);
        run_nodes(g, {ops::rmsnorm(ctx, xb, wb, out, dim, n, 0, 1e-6f, true)});
        std::vector<double> want(size_t(n) * dim);
        for (uint32_t t = 0; t < n; ++t) {
            double ss = 0;
            for (uint32_t i = 0; i < dim; ++i) ss += double(x[t * dim + i]) * x[t * dim + i];
            const double inv = 1.0 / std::sqrt(ss / dim + 1e-6);
            for (uint32_t i = 0; i < dim; ++i) want[t * dim + i] = resid[t * dim + i] + x[t * dim + i] * inv * w[i];
        }
        CHECK(max_abs_error(alloc.read_all<float>(out), want) <= 1e-5 * 10);
    }
}

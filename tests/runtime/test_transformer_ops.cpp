// Decoder-layer kernels against CPU loops: embedding gather, RMSNorm, RoPE + KV store,
// split attention (with GQA, causal masking, several splits), SiLU*mul; RoPE + KV store and
// SiLU*mul adding a GlowQ correction A R to their inputs.
#include <cmath>
#include <tuple>

#include "glowq/error.hpp"
#include "glowq/fp16.hpp"
#include "glowq/int4_matrix.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "glowq/vk/kernel.hpp"
#include "support/rope_kv_check.hpp"
#include "support/q4_0_offsets.hpp"
#include "support/vk_fixture.hpp"

using namespace glowq;

namespace {

void run_nodes(test::VkFixture& f, vk::Graph& g, std::vector<vk::Dispatch> ds) {
    for (auto& d : ds) g.add(std::move(d));
    g.run();
}

void check_close(const std::vector<float>& got, const std::vector<double>& want, double tol) {
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    INFO("max abs error " << worst << " tolerance " << tol);
    CHECK(worst <= tol);
}

// Llama RoPE on adjacent pairs, as GGUF llama files expect.
void rope_cpu(double* v, uint32_t head_dim, uint32_t rope_dim, double pos, double base, double scale) {
    for (uint32_t i = 0; 2 * i < rope_dim; ++i) {
        const double theta = pos * scale * std::pow(base, -double(2 * i) / rope_dim);
        const double a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * std::cos(theta) - b * std::sin(theta);
        v[2 * i + 1] = a * std::sin(theta) + b * std::cos(theta);
    }
}

}  // namespace

TEST_CASE_METHOD(test::VkFixture, "embedding gather from int4, Q8 and fp16 tables, whole and in parts, scaled", "[ops]") {
    const uint32_t rows = 50, dim = 100;  // dim: not a multiple of 32 (a Q8 row ends in a short block)
    auto w = test::random_floats(size_t(rows) * dim, 1);
    const std::vector<int32_t> ids = {3, 0, 49, 7, 3, -1, 50};  // the last two are out of range
    vk::Buffer tok = alloc.upload(ids.data(), ids.size() * 4);
    const Int4Matrix q_rtn = quantize_rtn(w.data(), rows, dim, 32);
    const Int4Matrix q_sym = test::with_q4_0_offsets(q_rtn);  // the scale-only form
    const Q8Matrix q8 = quantize_q8(w.data(), rows, dim);
    const std::vector<float> q8w = q8.dequantize();
    // Parts of about 1 KiB: 12-20 rows each, so the ids fall in different parts.
    for (auto [type, part_bytes, sym] :
         {std::tuple{ops::WeightType::Int4, 0, false}, {ops::WeightType::Q8, 0, false}, {ops::WeightType::F16, 0, false},
          {ops::WeightType::Int4, 1024, false}, {ops::WeightType::Q8, 1024, false}, {ops::WeightType::F16, 4096, false},
          {ops::WeightType::Int4, 0, true}, {ops::WeightType::Int4, 1024, true}}) {
        const Int4Matrix& q = sym ? q_sym : q_rtn;
        const auto table = type == ops::WeightType::F16  ? ops::DeviceMatrix::upload_dense(alloc, w.data(), rows, dim, true, part_bytes)
                           : type == ops::WeightType::Q8 ? ops::DeviceMatrix::upload_q8(alloc, q8, part_bytes)
                                                         : ops::DeviceMatrix::upload_int4(alloc, q, part_bytes);
        INFO("type " << int(type) << ", " << table.parts.size() << " parts, q4_0 offsets " << sym);
        CHECK(table.scale_only == sym);
        if (part_bytes) REQUIRE(table.parts.size() >= 3);
        const float scale = part_bytes ? 2.5f : 1.0f;
        vk::Buffer out = alloc.allocate(ids.size() * dim * 4);
        vk::Graph g(ctx, alloc);
        run_nodes(*this, g, ops::embed(ctx, tok, table, out, uint32_t(ids.size()), scale));
        auto got = alloc.read_all<float>(out);
        for (size_t t = 0; t < ids.size(); ++t)
            for (uint32_t k = 0; k < dim; ++k) {
                const bool valid = ids[t] >= 0 && uint32_t(ids[t]) < rows;
                const size_t at = size_t(valid ? ids[t] : 0) * dim + k;
                const float want = !valid                           ? 0.0f
                                   : type == ops::WeightType::F16   ? round_to_half(w[at])
                                   : type == ops::WeightType::Q8    ? q8w[at]
                                                                    : q.weight(ids[t], k);
                CHECK(got[t * dim + k] == want * scale);
            }
    }
}

TEST_CASE_METHOD(test::VkFixture, "RMSNorm matches the CPU loop", "[ops]") {
    // The last shape's squares sum to ~1e12, far past fp16's 65504: fp32 accumulation.
    for (uint32_t dim : {1u, 63u, 576u, 1001u, 4096u}) {
        const uint32_t rows = 5, row0 = 2, n = 3;
        const float amp = dim == 4096 ? 30000.0f : 3.0f;
        auto x = test::random_floats(size_t(rows) * dim, dim, -amp, amp);
        auto w = test::random_floats(dim, dim + 1);
        vk::Buffer xb = alloc.upload(x.data(), x.size() * 4), wb = alloc.upload(w.data(), w.size() * 4);
        vk::Buffer out = alloc.allocate(size_t(n) * dim * 4);
        vk::Graph g(ctx, alloc);
        run_nodes(*this, g, {ops::rmsnorm(ctx, xb, wb, out, dim, n, row0, 1e-5f)});
        std::vector<double> want(size_t(n) * dim);
        for (uint32_t t = 0; t < n; ++t) {
            double ss = 0;
            for (uint32_t i = 0; i < dim; ++i) ss += double(x[(row0 + t) * dim + i]) * x[(row0 + t) * dim + i];
            const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
            for (uint32_t i = 0; i < dim; ++i) want[t * dim + i] = x[(row0 + t) * dim + i] * inv * w[i];
        }
        check_close(alloc.read_all<float>(out), want, 1e-5 * 3 * 3);
    }
}

TEST_CASE_METHOD(test::VkFixture, "RoPE, KV store and split attention match the CPU reference", "[ops][attention]") {
    struct Case {
        ops::AttentionShape s;
        uint32_t T, pos0, splits;
        // Values in [-amp, amp]. At 40, scores reach ~1e4 and q.k sums ~1e5: past fp16's
        // range, so the softmax and the dot products must be fp32 (and max-subtracted).
        float amp = 1.0f;
    };
    const Case cases[] = {
        {{4, 2, 64, 64, 10000.0f, 1.0f}, 1, 0, 1},    {{4, 2, 64, 64, 10000.0f, 1.0f}, 1, 37, 3},
        {{9, 3, 64, 64, 100000.0f, 1.0f}, 5, 20, 1},  {{9, 3, 64, 64, 100000.0f, 1.0f}, 7, 0, 4},
        {{2, 1, 128, 96, 500000.0f, 0.5f}, 3, 130, 8}, {{3, 3, 32, 32, 10000.0f, 1.0f}, 64, 10, 2},
        {{8, 2, 256, 256, 10000.0f, 1.0f}, 1, 200, 5},  {{4, 2, 64, 64, 10000.0f, 1.0f}, 3, 50, 2, 40.0f},
    };
    for (const Case& c : cases) {
        const auto& s = c.s;
        DYNAMIC_SECTION("heads " << s.n_heads << "/" << s.n_kv << " hd " << s.head_dim << " T " << c.T << " pos "
                                 << c.pos0 << " splits " << c.splits << " amp " << c.amp) {
            const uint32_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv * hd, row = qd + 2 * kvd;
            const uint32_t ctx_len = c.pos0 + c.T + 3;
            auto qkv = test::random_floats(size_t(c.T) * row, c.T * 100 + c.pos0, -c.amp, c.amp);
            // Earlier positions already in the cache (fp16 values, already rotated).
            auto kv_prev = test::random_floats(size_t(c.pos0) * kvd * 2, c.pos0 + 5, -c.amp, c.amp);
            std::vector<uint32_t> kc(size_t(ctx_len) * kvd / 2, 0), vc(size_t(ctx_len) * kvd / 2, 0);
            std::vector<double> K(size_t(ctx_len) * kvd), V(size_t(ctx_len) * kvd);
            for (uint32_t p = 0; p < c.pos0; ++p)
                for (uint32_t i = 0; i < kvd; i += 2) {
                    const float* src = &kv_prev[(size_t(p) * kvd + i) * 2];
                    kc[(p * kvd + i) / 2] = float_to_half(src[0]) | uint32_t(float_to_half(src[1])) << 16;
                    vc[(p * kvd + i) / 2] = float_to_half(src[2]) | uint32_t(float_to_half(src[3])) << 16;
                    K[p * kvd + i] = round_to_half(src[0]);
                    K[p * kvd + i + 1] = round_to_half(src[1]);
                    V[p * kvd + i] = round_to_half(src[2]);
                    V[p * kvd + i + 1] = round_to_half(src[3]);
                }
            // CPU: rotate q and k of the new tokens; k and v go to the cache as fp16.
            std::vector<double> Q(size_t(c.T) * qd);
            for (uint32_t t = 0; t < c.T; ++t) {
                const double pos = c.pos0 + t;
                for (uint32_t i = 0; i < qd; ++i) Q[t * qd + i] = qkv[t * row + i];
                for (uint32_t h = 0; h < s.n_heads; ++h) rope_cpu(&Q[t * qd + h * hd], hd, s.rope_dim, pos, s.freq_base, s.freq_scale);
                std::vector<double> k(kvd);
                for (uint32_t i = 0; i < kvd; ++i) k[i] = qkv[t * row + qd + i];
                for (uint32_t h = 0; h < s.n_kv; ++h) rope_cpu(&k[h * hd], hd, s.rope_dim, pos, s.freq_base, s.freq_scale);
                for (uint32_t i = 0; i < kvd; ++i) {
                    K[(c.pos0 + t) * kvd + i] = round_to_half(float(k[i]));
                    V[(c.pos0 + t) * kvd + i] = round_to_half(qkv[t * row + qd + kvd + i]);
                }
            }
            std::vector<double> want(size_t(c.T) * qd);
            for (uint32_t t = 0; t < c.T; ++t)
                for (uint32_t h = 0; h < s.n_heads; ++h) {
                    const uint32_t kh = h / (s.n_heads / s.n_kv), n_pos = c.pos0 + t + 1;
                    std::vector<double> sc(n_pos);
                    double mx = -1e300;
                    for (uint32_t p = 0; p < n_pos; ++p) {
                        double d = 0;
                        for (uint32_t i = 0; i < hd; ++i) d += Q[t * qd + h * hd + i] * K[p * kvd + kh * hd + i];
                        sc[p] = d / std::sqrt(double(hd));
                        mx = std::max(mx, sc[p]);
                    }
                    double sum = 0;
                    for (double& v : sc) sum += (v = std::exp(v - mx));
                    for (uint32_t i = 0; i < hd; ++i) {
                        double acc = 0;
                        for (uint32_t p = 0; p < n_pos; ++p) acc += sc[p] * V[p * kvd + kh * hd + i];
                        want[t * qd + h * hd + i] = acc / sum;
                    }
                }

            vk::Buffer qkvb = alloc.upload(qkv.data(), qkv.size() * 4);
            // One buffer: K, then V from word kc.size() (ops::KvCache).
            std::vector<uint32_t> kv_words = kc;
            kv_words.insert(kv_words.end(), vc.begin(), vc.end());
            vk::Buffer kvb = alloc.upload(kv_words.data(), kv_words.size() * 4);
            const ops::KvCache kv{&kvb, uint32_t(kc.size())};
            // The output, then the splits' scratch (zeros: its counters start there).
            const uint32_t scratch_word = c.T * qd + 5;
            const uint64_t scratch = ops::attention_scratch_words(s, c.T, c.splits);
            vk::Buffer out = alloc.upload(std::vector<float>(scratch_word + scratch, 0.0f).data(), (scratch_word + scratch) * 4);
            vk::Graph g(ctx, alloc);
            g.step()[0] = c.pos0;
            run_nodes(*this, g, {ops::rope_kv(ctx, g.step_buffer(), qkvb, kv, s, c.T),
                                 ops::attention(ctx, g.step_buffer(), qkvb, kv, out, s, c.T, c.splits, scratch_word)});
            CHECK(g.barrier_count() == 1u);  // the splits merge in the attention dispatch
            // fp16 cache values are compared exactly above; the attention output carries
            // fp32 softmax and accumulation error only.
            const auto got = alloc.read_all<float>(out);
            check_close(std::vector<float>(got.begin(), got.begin() + c.T * qd), want, 2e-5 * c.amp);
            // The last split set every counter back to zero, and the same step again gives
            // the same output (a recorded graph replays it every token).
            for (uint64_t i = 0; c.splits > 1 && i < uint64_t(c.T) * s.n_heads; ++i)
                CHECK(reinterpret_cast<const uint32_t&>(got[scratch_word + scratch - uint64_t(c.T) * s.n_heads + i]) == 0u);
            vk::Graph again(ctx, alloc);
            again.step()[0] = c.pos0;
            run_nodes(*this, again, {ops::attention(ctx, again.step_buffer(), qkvb, kv, out, s, c.T, c.splits, scratch_word)});
            const auto got2 = alloc.read_all<float>(out);
            CHECK(std::equal(got.begin(), got.begin() + c.T * qd, got2.begin()));
            // The rotated k written to the cache equals the CPU's fp16 rounding of it, up to
            // one fp16 ulp where float and double trigonometry straddle a rounding, plus an
            // absolute 1e-5: GPU sin/cos are approximations with an absolute error bound
            // (NVIDIA's ~1e-6), which shows where x cos - y sin cancels to a small value.
            auto kc_got = alloc.read_all<uint32_t>(kvb);
            size_t off_by_more = 0;
            for (uint32_t p = 0; p < c.pos0 + c.T; ++p)
                for (uint32_t i = 0; i < kvd; ++i) {
                    const uint32_t wbits = kc_got[(p * kvd + i) / 2];
                    const float got = half_to_float(uint16_t(i % 2 ? wbits >> 16 : wbits & 0xffff));
                    const double ulp = std::fabs(K[p * kvd + i]) / 512.0 + 1e-5 * c.amp;  // 2^-9: one ulp plus its edge
                    if (std::fabs(got - K[p * kvd + i]) > ulp) ++off_by_more;
                }
            CHECK(off_by_more == 0);
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "SiLU times up matches the CPU loop", "[ops]") {
    for (uint32_t n_ff : {1u, 97u, 1536u}) {
        const uint32_t T = 3;
        auto gu = test::random_floats(size_t(T) * 2 * n_ff, n_ff, -6, 6);
        vk::Buffer in = alloc.upload(gu.data(), gu.size() * 4), out = alloc.allocate(size_t(T) * n_ff * 4);
        vk::Graph g(ctx, alloc);
        run_nodes(*this, g, {ops::silu_mul(ctx, in, out, n_ff, T)});
        std::vector<double> want(size_t(T) * n_ff);
        for (uint32_t t = 0; t < T; ++t)
            for (uint32_t i = 0; i < n_ff; ++i) {
                const double x = gu[t * 2 * n_ff + i];
                want[t * n_ff + i] = x / (1 + std::exp(-x)) * gu[t * 2 * n_ff + n_ff + i];
            }
        check_close(alloc.read_all<float>(out), want, 1e-5);
    }
}

namespace {

// A one-part int4 matrix of `rows` rows carrying A (rows x rank halves), as the consumers
// of a corrected product read it; its codes are never used here.
ops::DeviceMatrix matrix_with_a(vk::Allocator& alloc, uint32_t rows, const std::vector<uint16_t>& a, uint32_t rank) {
    std::vector<float> w(size_t(rows) * 32, 0.0f);
    ops::DeviceMatrix m = ops::DeviceMatrix::upload_int4(alloc, quantize_rtn(w.data(), rows, 32, 32));
    m.attach_lowrank(alloc, a, rank, {0});
    return m;
}

std::vector<uint16_t> halves(size_t n, uint32_t seed, float scale) {
    auto f = test::random_floats(n, seed, -scale, scale);
    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_half(f[i]);
    return h;
}

// in[t][row] + sum_j A[row][j] R[t][j] in double, R at word r_word + t * r_stride of in.
double corrected(const std::vector<float>& in, uint32_t t, uint32_t in_stride, uint32_t row,
                 const std::vector<uint16_t>& a, uint32_t rank, uint32_t r_word, uint32_t r_stride) {
    double v = in[size_t(t) * in_stride + row];
    for (uint32_t j = 0; j < rank; ++j)
        v += double(half_to_float(a[size_t(row) * rank + j])) * in[r_word + size_t(t) * r_stride + j];
    return v;
}

// Whether the device can run the consumers' broadcast A R: subgroup shuffles over 8 lanes
// or more that fill the 64-lane workgroups (lavapipe can, the Android baseline limits
// cannot).
bool broadcast_capable(const vk::Context& ctx) {
    const auto& c = ctx.caps();
    return c.subgroup_shuffle && c.subgroup_min_size >= 8 && c.subgroup_max_size > 0 && 64 % c.subgroup_max_size == 0;
}
}  // namespace

TEST_CASE_METHOD(test::VkFixture, "RoPE and KV store add a GlowQ correction to q, k and v first", "[ops][lowrank]") {
    // The cooperative form takes 16 pairs per workgroup: 5 heads of 24 end q mid-workgroup.
    const ops::AttentionShape shapes[] = {
        {9, 3, 64, 64, 10000.0f, 1.0f}, {4, 2, 32, 24, 500000.0f, 0.5f}, {5, 1, 24, 24, 10000.0f, 1.0f}};
    for (const auto& s : shapes) {
        for (uint32_t rank : {8u, 22u, 64u}) {
            for (uint32_t T : {1u, 5u, 64u}) {
                for (ops::LowrankForm form :
                     {ops::LowrankForm::PerLane, ops::LowrankForm::Cooperative, ops::LowrankForm::Broadcast}) {
                DYNAMIC_SECTION("heads " << s.n_heads << "/" << s.n_kv << " hd " << s.head_dim << " rank " << rank
                                         << " T " << T << " form " << int(form)) {
                    const uint32_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv * hd, row = qd + 2 * kvd;
                    const uint32_t pos0 = 7, r_stride = rank + 2, r_word = T * row + 1;
                    auto in = test::random_floats(r_word + size_t(T) * r_stride, rank * 10 + T);
                    const auto a = halves(size_t(row) * rank, rank + T, 0.3f);
                    const ops::DeviceMatrix am = matrix_with_a(alloc, row, a, rank);
                    // CPU: correct, rotate q and k; k and v to the cache as fp16.
                    std::vector<double> Q(size_t(T) * qd), K(size_t(T) * kvd), V(size_t(T) * kvd);
                    for (uint32_t t = 0; t < T; ++t) {
                        for (uint32_t i = 0; i < qd; ++i) Q[t * qd + i] = corrected(in, t, row, i, a, rank, r_word, r_stride);
                        for (uint32_t i = 0; i < kvd; ++i) {
                            K[t * kvd + i] = corrected(in, t, row, qd + i, a, rank, r_word, r_stride);
                            V[t * kvd + i] = corrected(in, t, row, qd + kvd + i, a, rank, r_word, r_stride);
                        }
                        for (uint32_t h = 0; h < s.n_heads; ++h)
                            rope_cpu(&Q[t * qd + h * hd], hd, s.rope_dim, pos0 + t, s.freq_base, s.freq_scale);
                        for (uint32_t h = 0; h < s.n_kv; ++h)
                            rope_cpu(&K[t * kvd + h * hd], hd, s.rope_dim, pos0 + t, s.freq_base, s.freq_scale);
                    }
                    const ops::LowrankInput lr{&am, r_word, r_stride, form};
                    if ((form == ops::LowrankForm::Cooperative && rank % 8) ||
                        (form == ops::LowrankForm::Broadcast && !broadcast_capable(ctx))) {
                        CHECK_THROWS_AS(test::run_rope_kv(*this, in, s, T, pos0, &lr, nullptr, Q, K, V), Error);
                        continue;
                    }
                    const test::RopeKvErrors e = test::run_rope_kv(*this, in, s, T, pos0, &lr, nullptr, Q, K, V);
                    INFO("max q error " << e.q_abs << ", worst cache error in fp16 rounding units " << e.cache_ulps);
                    CHECK(e.q_abs <= 2e-5 * (1 + rank / 8.0));
                    // The cache holds fp16: within one rounding of the CPU's values.
                    CHECK(e.cache_ulps <= 1.0);
                }
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "SiLU times up adds a GlowQ correction to gate and up first", "[ops][lowrank]") {
    for (uint32_t n_ff : {1u, 97u, 1536u}) {
        // 40: whole 16-rank chunks, then a tail of 8 (the broadcast form's two loops)
        for (uint32_t rank : {8u, 30u, 40u, 64u}) {
            for (uint32_t T : {1u, 5u, 64u}) {
                for (ops::LowrankForm form :
                     {ops::LowrankForm::PerLane, ops::LowrankForm::Cooperative, ops::LowrankForm::Broadcast}) {
                DYNAMIC_SECTION("n_ff " << n_ff << " rank " << rank << " T " << T << " form " << int(form)) {
                    const uint32_t r_word = T * 2 * n_ff, r_stride = rank;
                    auto in = test::random_floats(r_word + size_t(T) * r_stride, n_ff + rank + T, -3, 3);
                    const auto a = halves(size_t(2 * n_ff) * rank, n_ff * rank, 0.2f);
                    const ops::DeviceMatrix am = matrix_with_a(alloc, 2 * n_ff, a, rank);
                    vk::Buffer inb = alloc.upload(in.data(), in.size() * 4), out = alloc.allocate(size_t(T) * n_ff * 4);
                    vk::Graph g(ctx, alloc);
                    const ops::LowrankInput lr{&am, r_word, r_stride, form};
                    if ((form == ops::LowrankForm::Cooperative && rank % 8) ||
                        (form == ops::LowrankForm::Broadcast && !broadcast_capable(ctx))) {
                        CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff, T, &lr), Error);
                        continue;
                    }
                    run_nodes(*this, g, {ops::silu_mul(ctx, inb, out, n_ff, T, &lr)});
                    std::vector<double> want(size_t(T) * n_ff);
                    for (uint32_t t = 0; t < T; ++t)
                        for (uint32_t i = 0; i < n_ff; ++i) {
                            const double x = corrected(in, t, 2 * n_ff, i, a, rank, r_word, r_stride);
                            const double u = corrected(in, t, 2 * n_ff, n_ff + i, a, rank, r_word, r_stride);
                            want[t * n_ff + i] = x / (1 + std::exp(-x)) * u;
                        }
                    check_close(alloc.read_all<float>(out), want, 1e-4);
                }
                }
            }
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "SiLU times up writes the next product's R in parts", "[ops][lowrank]") {
    if (!broadcast_capable(ctx)) {  // the Android baseline limits: no subgroups
        const uint32_t n_ff = 64;
        const ops::DeviceMatrix bm = ops::DeviceMatrix::upload_f16(alloc, halves(8 * n_ff, 1, 0.1f).data(), 8, n_ff);
        CHECK_FALSE(ops::partial_r_supported(ctx, bm, n_ff));
        vk::Buffer inb = alloc.allocate(2 * n_ff * 4), out = alloc.allocate((n_ff + 8) * 4);
        const ops::PartialR next{&bm, n_ff};
        CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff, 1, nullptr, false, &next), Error);
        return;
    }
    // 100: rows of B not on 16 bytes; 200: three whole workgroups and 8 columns; 96: a last
    // workgroup of 32 columns (still by uvec4); rank 72: more rows of B than lanes.
    for (uint32_t n_ff : {1u, 96u, 97u, 100u, 200u, 1536u}) {
        for (uint32_t b_rank : {8u, 30u, 64u, 72u}) {
            for (uint32_t T : {1u, 5u}) {
                for (bool with_lr : {false, true}) {
                    DYNAMIC_SECTION("n_ff " << n_ff << " B rank " << b_rank << " T " << T << " A R " << with_lr) {
                        const uint32_t rank = 40, r_word = T * 2 * n_ff;
                        auto in = test::random_floats(r_word + size_t(T) * rank, n_ff + b_rank + T, -3, 3);
                        const auto a = halves(size_t(2 * n_ff) * rank, n_ff * rank, 0.2f);
                        const ops::DeviceMatrix am = matrix_with_a(alloc, 2 * n_ff, a, rank);
                        const auto b = halves(size_t(b_rank) * n_ff, n_ff + 3 * b_rank, 0.1f);
                        const ops::DeviceMatrix bm = ops::DeviceMatrix::upload_f16(alloc, b.data(), b_rank, n_ff);
                        const uint32_t parts = ops::silu_mul_parts(n_ff), word = T * n_ff + 5;
                        vk::Buffer inb = alloc.upload(in.data(), in.size() * 4);
                        vk::Buffer out = alloc.allocate((word + size_t(parts) * T * b_rank) * 4);
                        const ops::LowrankInput lr{&am, r_word, rank};
                        const ops::PartialR next{&bm, word};
                        vk::Graph g(ctx, alloc);
                        run_nodes(*this, g, {ops::silu_mul(ctx, inb, out, n_ff, T, with_lr ? &lr : nullptr, false, &next)});
                        const auto got = alloc.read_all<float>(out);
                        std::vector<double> act(size_t(T) * n_ff);
                        std::vector<float> got_act(size_t(T) * n_ff), got_parts(size_t(parts) * T * b_rank);
                        std::vector<double> want_parts(got_parts.size());
                        for (uint32_t t = 0; t < T; ++t)
                            for (uint32_t i = 0; i < n_ff; ++i) {
                                const double x = with_lr ? corrected(in, t, 2 * n_ff, i, a, rank, r_word, rank) : in[t * 2 * n_ff + i];
                                const double u = with_lr ? corrected(in, t, 2 * n_ff, n_ff + i, a, rank, r_word, rank)
                                                         : in[t * 2 * n_ff + n_ff + i];
                                act[t * n_ff + i] = x / (1 + std::exp(-x)) * u;
                                got_act[t * n_ff + i] = got[t * n_ff + i];
                            }
                        // Part p of token t: B's rows times the 64 columns of workgroup p.
                        for (uint32_t p = 0; p < parts; ++p)
                            for (uint32_t t = 0; t < T; ++t)
                                for (uint32_t j = 0; j < b_rank; ++j) {
                                    const size_t o = (size_t(p) * T + t) * b_rank + j;
                                    for (uint32_t i = p * 64; i < std::min(n_ff, p * 64 + 64); ++i)
                                        want_parts[o] += double(half_to_float(b[size_t(j) * n_ff + i])) * act[t * n_ff + i];
                                    got_parts[o] = got[word + o];
                                }
                        check_close(got_act, act, 1e-4);
                        check_close(got_parts, want_parts, 1e-3);  // 64 columns of B (0.1) times act within 1e-4
                    }
                }
            }
        }
    }
    // Where the parts may not go: over the output, past the buffer; B with other columns.
    const uint32_t n_ff = 64;
    const ops::DeviceMatrix bm = ops::DeviceMatrix::upload_f16(alloc, halves(8 * n_ff, 1, 0.1f).data(), 8, n_ff);
    vk::Buffer inb = alloc.allocate(2 * n_ff * 4), out = alloc.allocate((n_ff + 8) * 4);
    const ops::PartialR over{&bm, n_ff - 1}, past{&bm, n_ff + 1}, fits{&bm, n_ff};
    CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff, 1, nullptr, false, &over), Error);
    CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff, 1, nullptr, false, &past), Error);
    CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff - 8, 1, nullptr, false, &fits), Error);
    CHECK_NOTHROW(ops::silu_mul(ctx, inb, out, n_ff, 1, nullptr, false, &fits));
    // With A R: only its broadcast form computes the parts too.
    const uint32_t rank = 8;
    const ops::DeviceMatrix am = matrix_with_a(alloc, 2 * n_ff, halves(2 * n_ff * rank, 2, 0.1f), rank);
    vk::Buffer inr = alloc.allocate((2 * n_ff + rank) * 4);
    for (ops::LowrankForm form : {ops::LowrankForm::Auto, ops::LowrankForm::Broadcast, ops::LowrankForm::PerLane,
                                  ops::LowrankForm::Cooperative}) {
        const ops::LowrankInput lr{&am, 2 * n_ff, rank, form};
        const bool ok = form == ops::LowrankForm::Auto || form == ops::LowrankForm::Broadcast;
        if (ok) {
            CHECK(std::string(ops::silu_mul(ctx, inr, out, n_ff, 1, &lr, false, &fits).kernel->name()) == "silu_mul_lr_bcast_bpart");
        } else {
            CHECK_THROWS_AS(ops::silu_mul(ctx, inr, out, n_ff, 1, &lr, false, &fits), Error);
        }
    }
}

TEST_CASE_METHOD(test::VkFixture, "attention writes the next product's R in parts, a part per head", "[ops][attention][lowrank]") {
    const ops::AttentionShape small{2, 1, 64, 64, 10000.0f, 1.0f};
    if (!broadcast_capable(ctx)) {  // the Android baseline limits: no subgroups
        CHECK_FALSE(ops::attention_partial_r_supported(ctx));
        vk::Graph g(ctx, alloc);
        vk::Buffer qkvb = alloc.allocate(256 * 4), kvb = alloc.allocate(4096 * 4), out = alloc.allocate(1024 * 4);
        const ops::AttentionPartialR next{8, 256, 128};
        CHECK_THROWS_AS(ops::attention(ctx, g.step_buffer(), qkvb, {&kvb, 64}, out, small, 1, 1, 0, &next), Error);
        return;
    }
    struct Case {
        ops::AttentionShape s;
        uint32_t T, pos0, rank;
    };
    // SmolLM2's shape at rank 64; Gemma 3's head of 256; heads of 32; heads of 40 and of 6
    // (rows and columns of B off 16 bytes: column by column); rank 72: more rows than lanes,
    // column by column and by uvec4.
    const Case cases[] = {
        {{9, 3, 64, 64, 10000.0f, 1.0f}, 1, 20, 64}, {{4, 1, 256, 256, 10000.0f, 1.0f}, 1, 7, 30},
        {{3, 3, 32, 32, 10000.0f, 1.0f}, 3, 0, 8},   {{2, 2, 40, 40, 10000.0f, 1.0f}, 2, 5, 72},
        {{5, 5, 6, 6, 10000.0f, 1.0f}, 1, 3, 22},    {{4, 2, 64, 64, 10000.0f, 1.0f}, 2, 9, 72},
    };
    for (const Case& c : cases) {
        const auto& s = c.s;
        DYNAMIC_SECTION("heads " << s.n_heads << "/" << s.n_kv << " hd " << s.head_dim << " T " << c.T << " rank "
                                 << c.rank) {
            const uint32_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv * hd, row = qd + 2 * kvd;
            const uint32_t n_pos = c.pos0 + c.T, rw = (qd + 1) / 2;
            const auto qkv = test::random_floats(size_t(c.T) * row, qd + c.T, -1, 1);
            // The cache already holds every position the tokens see (attention reads q as
            // it is; rope_kv is tested above). K, V, then B from a multiple of 4 words.
            const auto k = halves(size_t(n_pos) * kvd, kvd + 1, 1.0f), v = halves(size_t(n_pos) * kvd, kvd + 2, 1.0f);
            const auto b = halves(size_t(c.rank) * qd, qd + c.rank, 0.1f);
            const uint32_t v_word = n_pos * kvd / 2 + 3, b_word = (2 * v_word + 4) / 4 * 4;
            std::vector<uint32_t> words(b_word + size_t(c.rank) * rw, 0u);
            auto put = [&](const std::vector<uint16_t>& h, size_t word0, size_t n, size_t stride, size_t rows) {
                for (size_t r = 0; r < rows; ++r)
                    for (size_t i = 0; i < n; ++i)
                        words[word0 + r * stride + i / 2] |= uint32_t(h[r * n + i]) << (i % 2 * 16);
            };
            put(k, 0, kvd, kvd / 2, n_pos);
            put(v, v_word, kvd, kvd / 2, n_pos);
            put(b, b_word, qd, rw, c.rank);
            std::vector<double> want(size_t(c.T) * qd), want_parts(size_t(s.n_heads) * c.T * c.rank);
            for (uint32_t t = 0; t < c.T; ++t)
                for (uint32_t h = 0; h < s.n_heads; ++h) {
                    const uint32_t kh = h / (s.n_heads / s.n_kv), seen = c.pos0 + t + 1;
                    std::vector<double> sc(seen);
                    double mx = -1e300, sum = 0;
                    for (uint32_t p = 0; p < seen; ++p) {
                        double d = 0;
                        for (uint32_t i = 0; i < hd; ++i)
                            d += double(qkv[size_t(t) * row + h * hd + i]) * half_to_float(k[size_t(p) * kvd + kh * hd + i]);
                        mx = std::max(mx, sc[p] = d / std::sqrt(double(hd)));
                    }
                    for (double& e : sc) sum += (e = std::exp(e - mx));
                    for (uint32_t i = 0; i < hd; ++i) {
                        double acc = 0;
                        for (uint32_t p = 0; p < seen; ++p) acc += sc[p] * half_to_float(v[size_t(p) * kvd + kh * hd + i]);
                        want[size_t(t) * qd + h * hd + i] = acc / sum;
                    }
                    // Part h of token t: B's rows times head h's columns of the output.
                    for (uint32_t j = 0; j < c.rank; ++j)
                        for (uint32_t i = 0; i < hd; ++i)
                            want_parts[(size_t(h) * c.T + t) * c.rank + j] +=
                                double(half_to_float(b[size_t(j) * qd + h * hd + i])) * want[size_t(t) * qd + h * hd + i];
                }
            vk::Buffer qkvb = alloc.upload(qkv.data(), qkv.size() * 4);
            vk::Buffer kvb = alloc.upload(words.data(), words.size() * 4);
            const uint32_t word = c.T * qd + 5;
            vk::Buffer out = alloc.allocate((word + size_t(s.n_heads) * c.T * c.rank) * 4);
            const ops::AttentionPartialR next{c.rank, b_word, word};
            vk::Graph g(ctx, alloc);
            g.step()[0] = c.pos0;
            vk::Dispatch a = ops::attention(ctx, g.step_buffer(), qkvb, {&kvb, v_word}, out, s, c.T, 1, 0, &next);
            CHECK(std::string(a.kernel->name()) == "attention_bcast_bpart");
            run_nodes(*this, g, {std::move(a)});
            const auto got = alloc.read_all<float>(out);
            check_close(std::vector<float>(got.begin(), got.begin() + want.size()), want, 2e-5);
            check_close(std::vector<float>(got.begin() + word, got.begin() + word + want_parts.size()), want_parts, 1e-4);
        }
    }
    // Where the parts and B may not go: over the output; past the buffer; B over V, off 4
    // words or past the cache's buffer; with several splits.
    const uint32_t v_word = 64, b_word = 128, rank = 8;
    vk::Buffer qkvb = alloc.allocate(256 * 4), kvb = alloc.allocate((b_word + rank * 64) * 4);
    vk::Buffer out = alloc.allocate((128 + 2 * rank) * 4);
    vk::Graph g(ctx, alloc);
    auto attend = [&](const ops::AttentionPartialR& next) {
        return ops::attention(ctx, g.step_buffer(), qkvb, {&kvb, v_word}, out, small, 1, 1, 0, &next);
    };
    CHECK_THROWS_AS(attend({rank, b_word, 127}), Error);
    CHECK_THROWS_AS(attend({rank, b_word, 129}), Error);
    CHECK_THROWS_AS(attend({rank, 124, 128}), Error);
    CHECK_THROWS_AS(attend({rank, 130, 128}), Error);
    CHECK_THROWS_AS(attend({rank + 1, b_word, 128}), Error);
    CHECK_THROWS_AS(attend({0, b_word, 128}), Error);
    CHECK_NOTHROW(attend({rank, b_word, 128}));
    // Two splits, their scratch in place: only the last split has the head's output.
    const uint32_t scratch = uint32_t(ops::attention_scratch_words(small, 1, 2));
    vk::Buffer out2 = alloc.allocate((128 + scratch + 2 * rank) * 4);
    const ops::AttentionPartialR after_scratch{rank, b_word, 128 + scratch};
    CHECK_THROWS_AS(ops::attention(ctx, g.step_buffer(), qkvb, {&kvb, v_word}, out2, small, 1, 2, 128, &after_scratch),
                    Error);
}

TEST_CASE_METHOD(test::VkFixture, "a consumer's low-rank input is checked", "[ops][lowrank]") {
    const uint32_t n_ff = 16, rank = 8;
    const ops::DeviceMatrix am = matrix_with_a(alloc, 2 * n_ff, halves(2 * n_ff * rank, 1, 0.1f), rank);
    vk::Buffer inb = alloc.allocate((2 * n_ff + rank) * 4), out = alloc.allocate(n_ff * 4);
    const ops::LowrankInput past_end{&am, 2 * n_ff + 1, rank};  // R runs past the buffer
    CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff, 1, &past_end), Error);
    const ops::LowrankInput wrong_rows{&am, 2 * n_ff, rank};
    CHECK_THROWS_AS(ops::silu_mul(ctx, inb, out, n_ff + 1, 1, &wrong_rows), Error);
    const ops::LowrankInput ok{&am, 2 * n_ff, rank};
    CHECK_NOTHROW(ops::silu_mul(ctx, inb, out, n_ff, 1, &ok));
}

// Runs rope_kv on T tokens of fused qkv rows and measures it against expected q, k and v
// (double, computed by the caller's CPU loop): the q written back in place, and the K/V
// cache's fp16 values in units of one fp16 rounding. Shared by the Llama and the other
// architectures' RoPE tests.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "glowq/fp16.hpp"
#include "glowq/ops/transformer_ops.hpp"
#include "support/vk_fixture.hpp"

namespace glowq::test {

struct RopeKvErrors {
    double q_abs = 0;       // max |q - Q|
    double cache_ulps = 0;  // max |cache - K or V| / (|K or V| / 1024 + 1e-4)
};

inline RopeKvErrors run_rope_kv(VkFixture& f, const std::vector<float>& in, const ops::AttentionShape& s, uint32_t T,
                                uint32_t pos0, const ops::LowrankInput* lr, const ops::QkvSections* sections,
                                const std::vector<double>& Q, const std::vector<double>& K,
                                const std::vector<double>& V) {
    const uint32_t hd = s.head_dim, qd = s.n_heads * hd, kvd = s.n_kv * hd, row = qd + 2 * kvd;
    vk::Buffer inb = f.alloc.upload(in.data(), in.size() * 4);
    const uint32_t half_words = (pos0 + T) * kvd / 2;
    vk::Buffer kvb = f.alloc.allocate(uint64_t(half_words) * 2 * 4);
    const ops::KvCache kv{&kvb, half_words};
    vk::Graph g(f.ctx, f.alloc);
    g.step()[0] = pos0;
    g.add(ops::rope_kv(f.ctx, g.step_buffer(), inb, kv, s, T, lr, sections));
    g.run();
    RopeKvErrors e;
    const auto got = f.alloc.read_all<float>(inb);
    for (uint32_t t = 0; t < T; ++t)
        for (uint32_t i = 0; i < qd; ++i)
            e.q_abs = std::max(e.q_abs, std::fabs(got[size_t(t) * row + i] - Q[size_t(t) * qd + i]));
    const auto words = f.alloc.read_all<uint32_t>(kvb);
    for (uint32_t t = 0; t < T; ++t)
        for (uint32_t i = 0; i < kvd; ++i)
            for (int which = 0; which < 2; ++which) {
                const uint32_t bits = words[size_t(pos0 + t) * kvd / 2 + i / 2 + (which ? half_words : 0)];
                const double got_h = half_to_float(uint16_t(i % 2 ? bits >> 16 : bits & 0xffff));
                const double want = which ? V[size_t(t) * kvd + i] : K[size_t(t) * kvd + i];
                e.cache_ulps = std::max(e.cache_ulps, std::fabs(got_h - want) / (std::fabs(want) / 1024.0 + 1e-4));
            }
    return e;
}

}  // namespace glowq::test

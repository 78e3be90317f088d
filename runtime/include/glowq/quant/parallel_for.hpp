// The quantizer's one way to use every core: independent pieces of work, each computed
// alone, so results never depend on the thread count. (That also relies on Eigen running
// single-threaded inside each piece, as it does without OpenMP: its blocking could
// otherwise follow the thread count.)
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

namespace glowq::quant {

// fn(i) for every i in [0, n) on up to `threads` threads (this one included); the first
// exception any of them threw is rethrown once all have stopped.
void parallel_for(size_t n, uint32_t threads, const std::function<void(size_t)>& fn);

}  // namespace glowq::quant

// The merge loop shared by the BPE and SentencePiece models: symbols form a linked list
// over a vector, candidate pairs wait in a priority queue, and the best pair is merged
// until none is left.
#pragma once
#include <cstdint>
#include <queue>
#include <vector>

namespace glowq::detail {

struct MergeSymbol {
    uint32_t start;  // into the text being encoded
    uint32_t size;   // 0 once merged into its left neighbour
    int32_t prev, next;
};

// Candidate: has left, right (symbol indices) and size (left.size + right.size when it was
// queued). consider(l, r) queues the pair l, r if the model would merge it; it is called
// for every adjacent pair first, then for the new neighbours of each merged symbol.
template <class Candidate, class Consider>
void merge_symbols(std::vector<MergeSymbol>& sym, std::priority_queue<Candidate>& queue, Consider&& consider) {
    for (size_t i = 1; i < sym.size(); ++i) consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        MergeSymbol& a = sym[static_cast<size_t>(c.left)];
        MergeSymbol& b = sym[static_cast<size_t>(c.right)];
        // Stale if either side merged since: right no longer follows left, or sizes moved.
        if (a.size == 0 || b.size == 0 || a.next != c.right || a.size + b.size != c.size) continue;
        a.size += b.size;
        b.size = 0;
        a.next = b.next;
        if (b.next >= 0) sym[static_cast<size_t>(b.next)].prev = c.left;
        consider(a.prev, c.left);
        consider(c.left, a.next);
    }
}

}  // namespace glowq::detail

// The int4 tensors of a streamed quantization, parked on disk between the layer that made
// them and the writer. The output's header needs every tensor's size before any data, and a
// budget's ranks are known only after the last layer, so the codes (nearly all of a
// quantized model's bytes) wait here instead of in memory.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "glowq/int4_matrix.hpp"

namespace glowq::quant {

class Int4Spill {
public:
    // Creates a new file `prefix`.XXXXXX (mkstemp) and unlinks it at once: the bytes live as
    // long as this object, and a run that dies leaves nothing behind. It needs as much free
    // space as the int4 codes (about a quarter of an f16 input). Throws Error(Io) naming it.
    explicit Int4Spill(const std::string& prefix);
    ~Int4Spill();
    Int4Spill(const Int4Spill&) = delete;
    Int4Spill& operator=(const Int4Spill&) = delete;

    // Appends q's codes and packed scales and frees q's vectors (its shape stays). Throws
    // Error(Io) on a write error (a full disk), Error(InvalidArgument) for a module put twice
    // or vectors that disagree with the shape.
    void put(uint32_t layer, const std::string& module, Int4Matrix& q);
    bool has(uint32_t layer, const std::string& module) const;

    // What put wrote: codes into dst (`words` of them, which must be what was put), or the
    // packed scales and offsets. Throws Error(InvalidArgument) for a module never put or a
    // size that disagrees, Error(Io) on a read error.
    void read_codes(uint32_t layer, const std::string& module, uint32_t* dst, uint64_t words) const;
    std::vector<uint32_t> read_scale_offset(uint32_t layer, const std::string& module) const;

    uint64_t bytes() const { return end_; }

private:
    struct Entry {
        uint64_t codes_at, codes_words, scales_at, scales_words;
    };
    const Entry& entry(uint32_t layer, const std::string& module) const;
    void write_at(const void* p, uint64_t n);
    void read_at(uint64_t at, void* p, uint64_t n) const;

    std::string path_;
    int fd_ = -1;
    uint64_t end_ = 0;
    std::map<std::pair<uint32_t, std::string>, Entry> entries_;
};

}  // namespace glowq::quant

// UTF-8 decoding and the few Unicode character classes that tokenizers need. Internal to
// the loader: the public API speaks UTF-8 strings only.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glowq::unicode {

enum Flag : uint16_t {
    kLetter = 0x01,     // \p{L}
    kNumber = 0x02,     // \p{N}
    kMark = 0x04,       // \p{M}
    kPunct = 0x08,      // \p{P}
    kSymbol = 0x10,     // \p{S}
    kSeparator = 0x20,  // \p{Z}
    kControl = 0x40,    // \p{C} except unassigned
    kUndefined = 0x80,  // unassigned (Cn)
    kWhitespace = 0x100,  // \s: the White_Space property
};

struct CategoryRange {
    uint32_t first;
    uint16_t flags;
};
extern const CategoryRange kCategoryRanges[];
extern const size_t kCategoryRangeCount;

uint16_t flags(uint32_t cp);

// One decoded character and where its bytes lie in the source string. Bytes that do not
// form valid UTF-8 become one "character" each with code point kInvalid, so that splitting
// never loses or reorders input bytes (byte-level BPE can still encode them).
struct Char {
    uint32_t cp;
    uint32_t offset;
    uint16_t flags;
    uint8_t size;
};
constexpr uint32_t kInvalid = 0xFFFFFFFF;

std::vector<Char> decode(std::string_view text);

// Length of a complete, valid UTF-8 sequence at the start of s, or 0 if s starts with an
// invalid one, or -1 if s is a valid but truncated prefix of a sequence.
int sequence_length(std::string_view s);

void append_utf8(std::string& out, uint32_t cp);

}  // namespace glowq::unicode

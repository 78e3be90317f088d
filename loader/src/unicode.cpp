#include "unicode.hpp"

#include <algorithm>
#include <array>

namespace glowq::unicode {

namespace {

// Most tokenized text is ASCII; a direct table keeps the binary search off that path.
std::array<uint16_t, 128> make_ascii_flags() {
    std::array<uint16_t, 128> t{};
    for (uint32_t c = 0; c < 128; ++c) {
        auto it = std::upper_bound(kCategoryRanges, kCategoryRanges + kCategoryRangeCount, c,
                                   [](uint32_t v, const CategoryRange& r) { return v < r.first; });
        t[c] = (it - 1)->flags;
    }
    return t;
}

}  // namespace

uint16_t flags(uint32_t cp) {
    static const std::array<uint16_t, 128> ascii = make_ascii_flags();
    if (cp < 128) return ascii[cp];
    if (cp > 0x10FFFF) return kUndefined;
    auto it = std::upper_bound(kCategoryRanges, kCategoryRanges + kCategoryRangeCount, cp,
                               [](uint32_t v, const CategoryRange& r) { return v < r.first; });
    return (it - 1)->flags;
}

int sequence_length(std::string_view s) {
    if (s.empty()) return -1;
    const auto b0 = static_cast<unsigned char>(s[0]);
    if (b0 < 0x80) return 1;
    int len;
    uint32_t min_cp;
    if ((b0 & 0xE0) == 0xC0) { len = 2; min_cp = 0x80; }
    else if ((b0 & 0xF0) == 0xE0) { len = 3; min_cp = 0x800; }
    else if ((b0 & 0xF8) == 0xF0) { len = 4; min_cp = 0x10000; }
    else return 0;
    uint32_t cp = b0 & (0x7F >> len);
    for (int i = 1; i < len; ++i) {
        if (static_cast<size_t>(i) >= s.size()) {
            // A truncated sequence is only "incomplete" if some continuation could still
            // make it valid; otherwise a streaming decoder would wait forever on it.
            const int shift = 6 * (len - i);
            const uint32_t lo = cp << shift, hi = lo | ((1u << shift) - 1);
            if (hi < min_cp || lo > 0x10FFFF || (lo >= 0xD800 && hi <= 0xDFFF)) return 0;
            return -1;
        }
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

std::vector<Char> decode(std::string_view text) {
    std::vector<Char> out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const auto b0 = static_cast<unsigned char>(text[i]);
        if (b0 < 0x80) {
            out.push_back({b0, static_cast<uint32_t>(i), flags(b0), 1});
            ++i;
            continue;
        }
        const int len = sequence_length(text.substr(i));
        if (len <= 0) {
            out.push_back({kInvalid, static_cast<uint32_t>(i), kUndefined, 1});
            ++i;
            continue;
        }
        uint32_t cp = b0 & (0x7F >> len);
        for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        out.push_back({cp, static_cast<uint32_t>(i), flags(cp), static_cast<uint8_t>(len)});
        i += static_cast<size_t>(len);
    }
    return out;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace glowq::unicode

// SHA-256 (FIPS 180-4), written here so the calibration provenance of a GlowQ file needs no
// crypto library: the text's digest is recorded in glowq.calibration.text_sha256.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glowq::quant {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t n);
    std::array<uint8_t, 32> digest();  // finishes the hash; update() after it is an error
    std::string hex_digest();

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> h_;
    std::array<uint8_t, 64> buf_{};
    size_t buf_len_ = 0;
    uint64_t total_ = 0;
    bool finished_ = false;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace glowq::quant

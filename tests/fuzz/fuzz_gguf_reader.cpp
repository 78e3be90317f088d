// libFuzzer target for the GGUF reader: any input must either parse or throw LoadError;
// whatever parses must be safe to walk (metadata, arrays, tensors, decoding, config).
#include <cstddef>
#include <cstdint>

#include "glowq/loader/dequant.hpp"
#include "glowq/loader/gguf.hpp"
#include "glowq/loader/model_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const glowq::GgufFile f = glowq::GgufFile::from_memory(data, size, "fuzz");
        size_t sink = 0;
        for (const auto& kv : f.metadata()) {
            const glowq::GgufValue& v = kv.second;
            if (v.type() == glowq::GgufType::ARRAY) {
                for (const glowq::GgufValue& item : v.items()) sink += size_t(item.raw_size());
                if (v.array_type() == glowq::GgufType::STRING) sink += v.get_array<std::string>().size();
            } else if (v.type() == glowq::GgufType::STRING) {
                sink += v.get<std::string>().size();
            }
        }
        for (const glowq::GgufTensor& t : f.tensors()) {
            // Decode small tensors only: a valid header may describe gigabytes of zeros.
            if (glowq::can_dequantize(t.type) && t.n_elements <= (1u << 16)) {
                const std::vector<float> w = glowq::dequantize(t);
                sink += w.size();
            }
            if (f.find_tensor(t.name) != &t) __builtin_trap();
        }
        try {
            (void)glowq::read_model_config(f);
        } catch (const glowq::LoadError&) {
        }
        (void)sink;
    } catch (const glowq::LoadError&) {
    }
    return 0;
}

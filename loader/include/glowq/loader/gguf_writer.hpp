// Writing GGUF v3 files: metadata of every type (nested arrays included) and tensors placed
// at the file's alignment, the same packing ggml and gguf-py use, so copying a file
// through GgufReader -> GgufWriter reproduces it byte for byte.
//
// Tensor data can be given up front or produced at write time by a callback, so a writer
// of a multi-gigabyte model holds only one tensor in memory at a time.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "glowq/loader/gguf.hpp"

namespace glowq {

// An owned metadata value.
struct GgufWriteValue {
    GgufType type = GgufType::U8;
    GgufType elem_type = GgufType::U8;  // ARRAY: the type of every item
    uint64_t bits = 0;                  // scalars: the value's little-endian bytes
    std::string str;                    // STRING
    std::vector<GgufWriteValue> items;  // ARRAY

    template <typename T> static GgufWriteValue of(T v) {
        static_assert(!std::is_same_v<T, std::string>, "use of(std::string)");
        GgufWriteValue w;
        w.type = GgufTypeOf<T>::value;
        if constexpr (std::is_same_v<T, bool>) {
            w.bits = v ? 1 : 0;
        } else {
            std::memcpy(&w.bits, &v, sizeof(T));
        }
        return w;
    }
    static GgufWriteValue of(std::string s) {
        GgufWriteValue w;
        w.type = GgufType::STRING;
        w.str = std::move(s);
        return w;
    }
    static GgufWriteValue of(const char* s) { return of(std::string(s)); }

    template <typename T> static GgufWriteValue array(const std::vector<T>& v) {
        GgufWriteValue w;
        w.type = GgufType::ARRAY;
        w.elem_type = GgufTypeOf<T>::value;
        w.items.reserve(v.size());
        for (const auto& x : v) w.items.push_back(of(T(x)));
        return w;
    }
    // An array of arrays (or of any values): every item must have type elem.
    static GgufWriteValue array_of(GgufType elem, std::vector<GgufWriteValue> items);
    // A copy of a value read from a file.
    static GgufWriteValue copy_of(const GgufValue& v);
};

class GgufWriter {
public:
    // Fills dst (n_bytes long) with a tensor's encoded data.
    using Fill = std::function<void(uint8_t* dst, uint64_t n_bytes)>;

    // An alignment other than 32 is recorded as general.alignment (u32), as readers expect:
    // first among the keys unless set() placed it elsewhere.
    explicit GgufWriter(uint32_t alignment = 32);

    // Adds a key, or replaces its value keeping its position. Throws Error(InvalidArgument)
    // for a general.alignment that disagrees with the writer's.
    void set(const std::string& key, GgufWriteValue v);
    template <typename T> void set(const std::string& key, T v) { set(key, GgufWriteValue::of(v)); }
    template <typename T> void set_array(const std::string& key, const std::vector<T>& v) {
        set(key, GgufWriteValue::array(v));
    }

    // ne[0] is the row length (varies fastest), as in the reader. Throws
    // Error(InvalidArgument) for a duplicate name, 0 or more than 4 dims, a row length that
    // is not a whole number of blocks, or data of the wrong size.
    void add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne,
                    std::vector<uint8_t> data);
    void add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne, Fill fill);
    void add_tensor_f32(const std::string& name, std::vector<uint64_t> ne, const std::vector<float>& v);

    uint32_t alignment() const { return alignment_; }
    size_t tensor_count() const { return tensors_.size(); }

    // Writes to path + ".tmp" and renames, so a reader never sees half a file.
    // Throws Error(Io) naming the path on an I/O error. progress(tensors written, tensors)
    // after each tensor.
    void write_file(const std::string& path,
                    const std::function<void(size_t, size_t)>& progress = {}) const;
    std::vector<uint8_t> to_bytes() const;

private:
    struct PendingTensor {
        std::string name;
        GgmlType type;
        std::vector<uint64_t> ne;
        uint64_t n_bytes;
        std::vector<uint8_t> data;  // used when fill is empty
        Fill fill;
    };
    void write(const std::function<void(const void*, size_t)>& sink,
               const std::function<void(size_t, size_t)>& progress = {}) const;
    uint64_t check_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& ne) const;

    uint32_t alignment_;
    std::vector<std::pair<std::string, GgufWriteValue>> kv_;
    std::vector<PendingTensor> tensors_;
};

}  // namespace glowq

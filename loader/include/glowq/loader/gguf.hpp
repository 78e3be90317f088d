// Reading GGUF v2/v3 files: the whole file is mapped read-only and parsed once, fully
// validated, before anything is returned; metadata and tensors are then views into the
// mapping (no copies), valid as long as the GgufFile lives.
//
// Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv key/value
// pairs, n_tensors tensor infos (name, n_dims, dims, type, offset), padding to
// general.alignment (default 32), then the data section that tensor offsets point into.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "glowq/loader/gguf_types.hpp"
#include "glowq/loader/load_error.hpp"

namespace glowq {

// Maps a C++ type to the GGUF type that holds it exactly (the typed getters insist on it).
template <typename T> struct GgufTypeOf;
template <> struct GgufTypeOf<uint8_t>  { static constexpr GgufType value = GgufType::U8; };
template <> struct GgufTypeOf<int8_t>   { static constexpr GgufType value = GgufType::I8; };
template <> struct GgufTypeOf<uint16_t> { static constexpr GgufType value = GgufType::U16; };
template <> struct GgufTypeOf<int16_t>  { static constexpr GgufType value = GgufType::I16; };
template <> struct GgufTypeOf<uint32_t> { static constexpr GgufType value = GgufType::U32; };
template <> struct GgufTypeOf<int32_t>  { static constexpr GgufType value = GgufType::I32; };
template <> struct GgufTypeOf<uint64_t> { static constexpr GgufType value = GgufType::U64; };
template <> struct GgufTypeOf<int64_t>  { static constexpr GgufType value = GgufType::I64; };
template <> struct GgufTypeOf<float>    { static constexpr GgufType value = GgufType::F32; };
template <> struct GgufTypeOf<double>   { static constexpr GgufType value = GgufType::F64; };
template <> struct GgufTypeOf<bool>     { static constexpr GgufType value = GgufType::BOOL; };
template <> struct GgufTypeOf<std::string> { static constexpr GgufType value = GgufType::STRING; };
template <> struct GgufTypeOf<std::string_view> { static constexpr GgufType value = GgufType::STRING; };

// A metadata value: a view of its encoded bytes inside the file. Scalars decode on access;
// arrays (of anything, arrays included) were validated at open and decode on request.
class GgufValue {
public:
    GgufType type() const { return type_; }
    // ARRAY only: the element type and count.
    GgufType array_type() const { return elem_type_; }
    uint64_t array_size() const { return type_ == GgufType::ARRAY ? count_ : 0; }

    // Exact-type access; throws MetadataTypeError on any other type.
    template <typename T> T get() const;
    // Any integer type whose value fits; MetadataTypeError otherwise (lenient for the keys
    // whose integer width differs between converters).
    uint64_t to_uint() const;
    int64_t to_int() const;
    // F32 or F64.
    double to_double() const;

    // The elements of an array; the element type must be exactly GgufTypeOf<T>.
    template <typename T> std::vector<T> get_array() const;
    // Elements as values, for arrays of arrays or heterogeneous handling.
    std::vector<GgufValue> items() const;

    // Encoded bytes of the value (for copying it into a writer unchanged).
    const uint8_t* raw() const { return data_; }
    uint64_t raw_size() const { return size_; }

private:
    friend class GgufParser;
    template <typename T> T scalar() const {
        T v;
        std::memcpy(&v, data_, sizeof(T));
        return v;
    }
    [[noreturn]] void type_error(const char* wanted) const;

    GgufType type_ = GgufType::U8;
    GgufType elem_type_ = GgufType::U8;
    uint64_t count_ = 0;  // string length or array element count
    const uint8_t* data_ = nullptr;  // scalar bytes, string chars, or first array element
    uint64_t size_ = 0;   // encoded bytes of the payload (after any length/type prefix)
};

struct GgufTensor {
    std::string_view name;
    GgmlType type = GgmlType::F32;
    uint32_t n_dims = 0;
    std::array<uint64_t, 4> ne{1, 1, 1, 1};  // ne[0] varies fastest (row length)
    uint64_t n_elements = 0;
    uint64_t offset = 0;   // from the start of the data section
    uint64_t n_bytes = 0;
    const uint8_t* data = nullptr;  // into the mapping

    uint64_t cols() const { return ne[0]; }
    uint64_t rows() const { return ne[0] ? n_elements / ne[0] : 0; }
};

// Bytes the parser reads; either a mapped file, a buffer it owns, or a caller's buffer.
class ByteSource;

class GgufFile {
public:
    // Maps and parses a file. Throws LoadError (message starts with the path).
    static GgufFile open(const std::string& path);
    // Maps and parses bytes [offset, offset + length) of an open file descriptor (length 0:
    // to the end of the file), as Android hands over assets. The descriptor is not kept.
    static GgufFile open_fd(int fd, uint64_t offset, uint64_t length, std::string name = "<fd>");
    // Parses a caller's buffer without copying it; the buffer must outlive the GgufFile.
    static GgufFile from_memory(const void* data, size_t size, std::string name = "<memory>");
    // Parses a buffer the GgufFile takes ownership of.
    static GgufFile from_bytes(std::vector<uint8_t> bytes, std::string name = "<memory>");

    GgufFile(GgufFile&&) noexcept;
    GgufFile& operator=(GgufFile&&) noexcept;
    ~GgufFile();

    const std::string& name() const { return name_; }
    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // start of the data section
    uint64_t file_size() const { return size_; }
    const uint8_t* bytes() const { return base_; }

    // Metadata in file order.
    const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const { return kv_; }
    bool has(std::string_view key) const { return find(key) != nullptr; }
    const GgufValue* find(std::string_view key) const;
    // Throws MissingKeyError naming the file and key.
    const GgufValue& value(std::string_view key) const;

    // Exact-type getters: MissingKeyError if absent, MetadataTypeError if another type.
    template <typename T> T get(std::string_view key) const;
    template <typename T> std::vector<T> get_array(std::string_view key) const;
    uint8_t get_u8(std::string_view key) const { return get<uint8_t>(key); }
    int8_t get_i8(std::string_view key) const { return get<int8_t>(key); }
    uint16_t get_u16(std::string_view key) const { return get<uint16_t>(key); }
    int16_t get_i16(std::string_view key) const { return get<int16_t>(key); }
    uint32_t get_u32(std::string_view key) const { return get<uint32_t>(key); }
    int32_t get_i32(std::string_view key) const { return get<int32_t>(key); }
    uint64_t get_u64(std::string_view key) const { return get<uint64_t>(key); }
    int64_t get_i64(std::string_view key) const { return get<int64_t>(key); }
    float get_f32(std::string_view key) const { return get<float>(key); }
    double get_f64(std::string_view key) const { return get<double>(key); }
    bool get_bool(std::string_view key) const { return get<bool>(key); }
    std::string get_string(std::string_view key) const { return get<std::string>(key); }
    // Lenient numeric getters (any fitting integer type; f32 or f64).
    uint64_t get_uint(std::string_view key) const;
    double get_float(std::string_view key) const;

    const std::vector<GgufTensor>& tensors() const { return tensors_; }
    const GgufTensor* find_tensor(std::string_view name) const;
    // Throws MissingKeyError naming the file and tensor.
    const GgufTensor& tensor(std::string_view name) const;
    // Drops a mapped tensor's pages from memory once it has been copied elsewhere (a model
    // upload), so loading holds about one tensor of the file at a time, not all of it. The
    // bytes stay readable (re-read from the file); a no-op for in-memory files.
    void evict(const GgufTensor& t) const;

private:
    friend class GgufParser;
    GgufFile() = default;
    [[noreturn]] void rethrow_with_key(std::string_view key, const LoadError& e) const;

    std::shared_ptr<ByteSource> source_;
    std::string name_;
    const uint8_t* base_ = nullptr;
    uint64_t size_ = 0;
    uint32_t version_ = 0;
    uint32_t alignment_ = 32;
    uint64_t data_offset_ = 0;
    std::vector<std::pair<std::string_view, GgufValue>> kv_;
    std::unordered_map<std::string_view, size_t> kv_index_;
    std::vector<GgufTensor> tensors_;
    std::unordered_map<std::string_view, size_t> tensor_index_;
};

// ---- template definitions ----

template <typename T> T GgufValue::get() const {
    if (type_ != GgufTypeOf<T>::value) type_error(gguf_type_name(GgufTypeOf<T>::value).c_str());
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
        return T(reinterpret_cast<const char*>(data_), size_t(count_));
    } else if constexpr (std::is_same_v<T, bool>) {
        return data_[0] != 0;
    } else {
        return scalar<T>();
    }
}

template <typename T> std::vector<T> GgufValue::get_array() const {
    if (type_ != GgufType::ARRAY || elem_type_ != GgufTypeOf<T>::value)
        type_error(("array of " + gguf_type_name(GgufTypeOf<T>::value)).c_str());
    std::vector<T> out;
    out.reserve(size_t(count_));  // count was checked against the bytes present at open
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view>) {
        const uint8_t* p = data_;
        for (uint64_t i = 0; i < count_; ++i) {
            uint64_t len;
            std::memcpy(&len, p, 8);
            out.emplace_back(reinterpret_cast<const char*>(p + 8), size_t(len));
            p += 8 + len;
        }
    } else if constexpr (std::is_same_v<T, bool>) {
        for (uint64_t i = 0; i < count_; ++i) out.push_back(data_[i] != 0);
    } else {
        out.resize(size_t(count_));
        if (count_) std::memcpy(out.data(), data_, size_t(count_) * sizeof(T));
    }
    return out;
}

template <typename T> T GgufFile::get(std::string_view key) const {
    const GgufValue& v = value(key);
    try {
        return v.get<T>();
    } catch (const LoadError& e) {
        rethrow_with_key(key, e);
    }
}

template <typename T> std::vector<T> GgufFile::get_array(std::string_view key) const {
    const GgufValue& v = value(key);
    try {
        return v.get_array<T>();
    } catch (const LoadError& e) {
        rethrow_with_key(key, e);
    }
}

}  // namespace glowq

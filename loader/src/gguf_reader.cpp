// GGUF parsing. The file is hostile until proven otherwise: every count is checked against
// the bytes that remain before anything is reserved for it, every size computation is
// overflow-checked, and the whole structure (metadata, tensor infos, tensor extents) is
// validated at open so that the accessors afterwards never need to check bounds.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "glowq/loader/gguf.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "GGUF values are decoded with memcpy: a little-endian host is assumed");

namespace glowq {

namespace {
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
// Nested arrays recurse; a bound keeps a crafted file from exhausting the stack.
constexpr int kMaxArrayDepth = 16;
// Smallest encodings, used to bound counts by the bytes left: a key/value pair is at least
// an 8-byte key length, a 4-byte type and a 1-byte value; a tensor info at least a name
// length, n_dims, one dim, a type and an offset.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
}  // namespace

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Mapped sources drop the whole pages inside [p, p + n) from memory; the file's bytes
    // come back on the next touch. Memory sources have nothing to drop.
    virtual void drop(const uint8_t* p, uint64_t n) const {}
    const uint8_t* data = nullptr;
    uint64_t size = 0;
};

// MADV_DONTNEED on a read-only private file mapping that was never written only discards
// clean page-cache references: nothing is lost, and RSS falls back.
static void drop_mapped_pages(const uint8_t* p, uint64_t n) {
    const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(p) + page - 1) / page * page, end = (uintptr_t(p) + n) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), size_t(end - begin), MADV_DONTNEED);
}

namespace {

class MappedSource : public ByteSource {
public:
    explicit MappedSource(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw LoadError(path + ": cannot open: " + std::strerror(errno), ErrorKind::Io);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            throw LoadError(path + ": cannot stat: " + std::strerror(err), ErrorKind::Io);
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            throw LoadError(path + ": not a regular file");
        }
        size = uint64_t(st.st_size);
        if (size > 0) {  // mmap of length 0 fails; an empty file is reported as truncated
            void* p = ::mmap(nullptr, size_t(size), PROT_READ, MAP_PRIVATE, fd, 0);
            const int err = errno;
            ::close(fd);
            if (p == MAP_FAILED) throw LoadError(path + ": cannot map: " + std::strerror(err));
            data = static_cast<const uint8_t*>(p);
        } else {
            ::close(fd);
        }
    }
    ~MappedSource() override {
        if (data) ::munmap(const_cast<uint8_t*>(data), size_t(size));
    }
    void drop(const uint8_t* p, uint64_t n) const override { drop_mapped_pages(p, n); }
};

// A page-aligned mapping of a byte range of a descriptor; data points at the range.
class FdRangeSource : public ByteSource {
public:
    FdRangeSource(int fd, uint64_t offset, uint64_t length, const std::string& name) {
        struct stat st {};
        if (fd < 0 || ::fstat(fd, &st) != 0) throw LoadError(name + ": not an open file descriptor", ErrorKind::Io);
        if (!S_ISREG(st.st_mode)) throw LoadError(name + ": the descriptor is not a regular file", ErrorKind::Io);
        const uint64_t file_size = uint64_t(st.st_size);
        if (offset > file_size)
            throw LoadError(name + ": offset " + std::to_string(offset) + " is past the end of the file (" +
                            std::to_string(file_size) + " bytes)", ErrorKind::Io);
        if (length == 0) length = file_size - offset;
        if (length > file_size - offset)
            throw LoadError(name + ": range of " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                            " exceeds the file (" + std::to_string(file_size) + " bytes)", ErrorKind::Io);
        size = length;
        if (length == 0) return;  // reported as truncated by the parser
        const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
        const uint64_t start = offset / page * page;
        map_size_ = size_t(offset - start + length);
        void* p = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, off_t(start));
        if (p == MAP_FAILED) throw LoadError(name + ": cannot map: " + std::strerror(errno), ErrorKind::Io);
        map_ = p;
        data = static_cast<const uint8_t*>(p) + (offset - start);
    }
    ~FdRangeSource() override {
        if (map_) ::munmap(map_, map_size_);
    }
    void drop(const uint8_t* p, uint64_t n) const override { drop_mapped_pages(p, n); }

private:
    void* map_ = nullptr;
    size_t map_size_ = 0;
};

class OwnedSource : public ByteSource {
public:
    explicit OwnedSource(std::vector<uint8_t> b) : bytes(std::move(b)) {
        data = bytes.data();
        size = bytes.size();
    }
    std::vector<uint8_t> bytes;
};

class BorrowedSource : public ByteSource {
public:
    BorrowedSource(const void* p, size_t n) {
        data = static_cast<const uint8_t*>(p);
        size = n;
    }
};

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

}  // namespace

// Reads the buffer front to back; every read is bounds-checked and failures name the
// file, the problem and the byte offset.
class GgufParser {
public:
    GgufParser(GgufFile& f) : f_(f), base_(f.base_), size_(f.size_) {}

    void parse() {
        if (size_ < 4) fail("truncated: " + std::to_string(size_) + " bytes is too short for a GGUF header");
        if (std::memcmp(base_, "GGUF", 4) != 0) {
            fail("not a GGUF file (magic is " + hex_magic() + ", expected \"GGUF\")");
        }
        pos_ = 4;
        const uint32_t version = read<uint32_t>("version");
        if (version != 2 && version != 3) {
            std::string hint;
            if (version == 1) hint = " (GGUF v1 is obsolete: reconvert the model)";
            else if ((version & 0xffffu) == 0 && version != 0) hint = " (a big-endian GGUF file?)";
            fail("unsupported GGUF version " + std::to_string(version) + hint +
                 "; versions 2 and 3 are supported");
        }
        f_.version_ = version;
        const uint64_t n_tensors = read<uint64_t>("tensor count");
        const uint64_t n_kv = read<uint64_t>("metadata count");
        if (n_kv > left() / kMinKvBytes)
            fail("metadata count " + std::to_string(n_kv) + " is impossible for a file of " +
                 std::to_string(size_) + " bytes");
        if (n_tensors > left() / kMinTensorInfoBytes)
            fail("tensor count " + std::to_string(n_tensors) + " is impossible for a file of " +
                 std::to_string(size_) + " bytes");

        f_.kv_.reserve(size_t(n_kv));
        for (uint64_t i = 0; i < n_kv; ++i) parse_kv(i);
        resolve_alignment();

        f_.tensors_.reserve(size_t(n_tensors));
        for (uint64_t i = 0; i < n_tensors; ++i) parse_tensor_info(i);
        place_tensors();
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw LoadError(f_.name_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
    }
    std::string hex_magic() const {
        static const char* digits = "0123456789abcdef";
        std::string s;
        for (int i = 0; i < 4; ++i) {
            s += digits[base_[i] >> 4];
            s += digits[base_[i] & 15];
        }
        return "0x" + s;
    }
    uint64_t left() const { return size_ - pos_; }
    void need(uint64_t n, const std::string& what) const {
        if (n > left())
            fail("truncated: " + what + " needs " + std::to_string(n) + " bytes but only " +
                 std::to_string(left()) + " remain");
    }
    template <typename T> T read(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, base_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    std::string_view read_string(const std::string& what) {
        const uint64_t len = read<uint64_t>(what + " length");
        if (len > left())
            fail(what + " claims " + std::to_string(len) + " bytes but only " +
                 std::to_string(left()) + " remain in the file");
        std::string_view s(reinterpret_cast<const char*>(base_ + pos_), size_t(len));
        pos_ += len;
        return s;
    }

    // Validates one value of type t at pos_ and fills v with a view of it.
    void parse_value(GgufType t, GgufValue& v, const std::string& key, int depth) {
        v.type_ = t;
        if (const uint32_t sz = gguf_scalar_size(t)) {
            need(sz, "value of '" + key + "'");
            v.data_ = base_ + pos_;
            v.size_ = sz;
            pos_ += sz;
            return;
        }
        if (t == GgufType::STRING) {
            const std::string_view s = read_string("string value of '" + key + "'");
            v.data_ = reinterpret_cast<const uint8_t*>(s.data());
            v.count_ = s.size();
            v.size_ = s.size();
            return;
        }
        if (t != GgufType::ARRAY) fail("metadata '" + key + "' has unknown value type " + std::to_string(uint32_t(t)));
        if (depth >= kMaxArrayDepth) fail("metadata '" + key + "' nests arrays deeper than " + std::to_string(kMaxArrayDepth));
        const uint32_t et = read<uint32_t>("array type of '" + key + "'");
        if (!gguf_type_known(et)) fail("metadata '" + key + "' is an array of unknown type " + std::to_string(et));
        const uint64_t count = read<uint64_t>("array length of '" + key + "'");
        v.elem_type_ = GgufType(et);
        v.count_ = count;
        v.data_ = base_ + pos_;
        const uint64_t start = pos_;
        const uint32_t esz = gguf_scalar_size(GgufType(et));
        // Smallest element encoding: its scalar size, a string's length, an array's header.
        const uint64_t min_elem = esz ? esz : (GgufType(et) == GgufType::STRING ? 8 : 12);
        if (count > left() / min_elem)
            fail("array '" + key + "' claims " + std::to_string(count) + " elements but only " +
                 std::to_string(left()) + " bytes remain");
        if (esz) {
            pos_ += count * esz;
        } else {
            GgufValue item;
            for (uint64_t i = 0; i < count; ++i) parse_value(GgufType(et), item, key, depth + 1);
        }
        v.size_ = pos_ - start;
    }

    void parse_kv(uint64_t index) {
        const std::string_view key = read_string("key of metadata entry " + std::to_string(index));
        const std::string k(key);
        const uint32_t t = read<uint32_t>("value type of '" + k + "'");
        if (!gguf_type_known(t)) fail("metadata '" + k + "' has unknown value type " + std::to_string(t));
        GgufValue v;
        parse_value(GgufType(t), v, k, 0);
        if (!f_.kv_index_.emplace(key, f_.kv_.size()).second) fail("duplicate metadata key '" + k + "'");
        f_.kv_.emplace_back(key, v);
    }

    void resolve_alignment() {
        f_.alignment_ = kDefaultAlignment;
        const GgufValue* a = f_.find("general.alignment");
        if (!a) return;
        if (a->type() != GgufType::U32)
            throw MetadataTypeError(f_.name_ + ": metadata key 'general.alignment' has type " +
                                    gguf_type_name(a->type()) + ", expected u32");
        const uint32_t al = a->get<uint32_t>();
        if (al == 0 || (al & (al - 1)) != 0)
            throw LoadError(f_.name_ + ": general.alignment is " + std::to_string(al) +
                            ", expected a power of two");
        f_.alignment_ = al;
    }

    void parse_tensor_info(uint64_t index) {
        GgufTensor t;
        t.name = read_string("name of tensor " + std::to_string(index));
        const std::string n(t.name);
        t.n_dims = read<uint32_t>("dimension count of tensor '" + n + "'");
        if (t.n_dims == 0 || t.n_dims > kMaxDims)
            fail("tensor '" + n + "' has " + std::to_string(t.n_dims) + " dimensions; 1 to 4 are allowed");
        for (uint32_t d = 0; d < t.n_dims; ++d) {
            t.ne[d] = read<uint64_t>("dimensions of tensor '" + n + "'");
            if (t.ne[d] > uint64_t(std::numeric_limits<int64_t>::max()))
                fail("tensor '" + n + "' has a negative dimension");
        }
        const uint32_t type = read<uint32_t>("type of tensor '" + n + "'");
        const GgmlTypeTraits* tr = ggml_type_traits(type);
        if (!tr) fail("tensor '" + n + "' has unknown ggml type " + std::to_string(type));
        t.type = GgmlType(type);
        t.offset = read<uint64_t>("data offset of tensor '" + n + "'");

        uint64_t ne = 1;
        for (uint32_t d = 0; d < kMaxDims; ++d)
            if (mul_overflows(ne, t.ne[d], &ne)) fail("tensor '" + n + "': element count overflows 64 bits");
        if (t.ne[0] % tr->block_size != 0)
            fail("tensor '" + n + "': row length " + std::to_string(t.ne[0]) + " is not a multiple of the " +
                 tr->name + " block size " + std::to_string(tr->block_size));
        t.n_elements = ne;
        if (mul_overflows(ne / tr->block_size, tr->type_size, &t.n_bytes))
            fail("tensor '" + n + "': byte size overflows 64 bits");
        if (!f_.tensor_index_.emplace(t.name, f_.tensors_.size()).second) fail("duplicate tensor name '" + n + "'");
        f_.tensors_.push_back(t);
    }

    // Checks every tensor's extent against the data section and the alignment, and that no
    // two tensors share bytes (a writer bug that would alias two weights).
    void place_tensors() {
        const uint64_t al = f_.alignment_;
        uint64_t data_start = pos_ + (al - pos_ % al) % al;
        if (f_.tensors_.empty()) {
            f_.data_offset_ = std::min(data_start, size_);
            return;
        }
        if (data_start > size_)
            fail("truncated: tensor data section would start at byte " + std::to_string(data_start) +
                 " but the file has " + std::to_string(size_));
        f_.data_offset_ = data_start;
        const uint64_t data_size = size_ - data_start;
        std::vector<size_t> order(f_.tensors_.size());
        for (size_t i = 0; i < order.size(); ++i) {
            GgufTensor& t = f_.tensors_[i];
            const std::string n(t.name);
            if (t.offset % al != 0)
                throw LoadError(f_.name_ + ": tensor '" + n + "' data offset " + std::to_string(t.offset) +
                                " is not a multiple of the alignment " + std::to_string(al));
            if (t.offset > data_size || t.n_bytes > data_size - t.offset)
                throw LoadError(f_.name_ + ": tensor '" + n + "' (" + std::to_string(t.n_bytes) +
                                " bytes at data offset " + std::to_string(t.offset) +
                                ") extends past the end of the file (data section holds " +
                                std::to_string(data_size) + " bytes)");
            t.data = base_ + data_start + t.offset;
            order[i] = i;
        }
        std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return f_.tensors_[a].offset < f_.tensors_[b].offset;
        });
        for (size_t i = 1; i < order.size(); ++i) {
            const GgufTensor& a = f_.tensors_[order[i - 1]];
            const GgufTensor& b = f_.tensors_[order[i]];
            if (a.n_bytes && b.n_bytes && a.offset + a.n_bytes > b.offset)
                throw LoadError(f_.name_ + ": tensors '" + std::string(a.name) + "' and '" +
                                std::string(b.name) + "' overlap in the data section");
        }
    }

    GgufFile& f_;
    const uint8_t* base_;
    uint64_t size_;
    uint64_t pos_ = 0;
};

// ---- GgufValue ----

namespace {
// Bytes of an already-validated array payload (recursion depth was bounded at open).
uint64_t array_payload_size(GgufType et, uint64_t count, const uint8_t* data) {
    if (const uint32_t esz = gguf_scalar_size(et)) return count * esz;
    const uint8_t* p = data;
    for (uint64_t i = 0; i < count; ++i) {
        if (et == GgufType::STRING) {
            uint64_t len;
            std::memcpy(&len, p, 8);
            p += 8 + len;
        } else {
            uint32_t sub_type;
            uint64_t sub_count;
            std::memcpy(&sub_type, p, 4);
            std::memcpy(&sub_count, p + 4, 8);
            p += 12;
            p += array_payload_size(GgufType(sub_type), sub_count, p);
        }
    }
    return uint64_t(p - data);
}
}  // namespace

void GgufValue::type_error(const char* wanted) const {
    std::string have = gguf_type_name(type_);
    if (type_ == GgufType::ARRAY) have = "array of " + gguf_type_name(elem_type_);
    throw MetadataTypeError("value has type " + have + ", expected " + wanted);
}

uint64_t GgufValue::to_uint() const {
    switch (type_) {
        case GgufType::U8: return scalar<uint8_t>();
        case GgufType::U16: return scalar<uint16_t>();
        case GgufType::U32: return scalar<uint32_t>();
        case GgufType::U64: return scalar<uint64_t>();
        case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64: {
            const int64_t v = to_int();
            if (v < 0) throw MetadataTypeError("value " + std::to_string(v) + " is negative, expected an unsigned integer");
            return uint64_t(v);
        }
        default: type_error("an unsigned integer");
    }
}

int64_t GgufValue::to_int() const {
    switch (type_) {
        case GgufType::I8: return scalar<int8_t>();
        case GgufType::I16: return scalar<int16_t>();
        case GgufType::I32: return scalar<int32_t>();
        case GgufType::I64: return scalar<int64_t>();
        case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64: {
            const uint64_t v = to_uint();
            if (v > uint64_t(std::numeric_limits<int64_t>::max()))
                throw MetadataTypeError("value " + std::to_string(v) + " does not fit a signed 64-bit integer");
            return int64_t(v);
        }
        default: type_error("an integer");
    }
}

double GgufValue::to_double() const {
    if (type_ == GgufType::F32) return scalar<float>();
    if (type_ == GgufType::F64) return scalar<double>();
    type_error("f32 or f64");
}

std::vector<GgufValue> GgufValue::items() const {
    if (type_ != GgufType::ARRAY) type_error("array");
    std::vector<GgufValue> out;
    out.reserve(size_t(count_));
    const uint8_t* p = data_;
    for (uint64_t i = 0; i < count_; ++i) {
        GgufValue v;
        v.type_ = elem_type_;
        if (const uint32_t sz = gguf_scalar_size(elem_type_)) {
            v.data_ = p;
            v.size_ = sz;
            p += sz;
        } else if (elem_type_ == GgufType::STRING) {
            uint64_t len;
            std::memcpy(&len, p, 8);
            v.data_ = p + 8;
            v.count_ = v.size_ = len;
            p += 8 + len;
        } else {  // nested array: header re-read here; its layout was validated at open
            uint32_t et;
            std::memcpy(&et, p, 4);
            std::memcpy(&v.count_, p + 4, 8);
            v.elem_type_ = GgufType(et);
            v.data_ = p + 12;
            v.size_ = array_payload_size(v.elem_type_, v.count_, v.data_);
            p = v.data_ + v.size_;
        }
        out.push_back(v);
    }
    return out;
}

// ---- GgufFile ----

GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

GgufFile GgufFile::open(const std::string& path) {
    GgufFile f;
    f.name_ = path;
    f.source_ = std::make_shared<MappedSource>(path);
    f.base_ = f.source_->data;
    f.size_ = f.source_->size;
    GgufParser(f).parse();
    return f;
}

GgufFile GgufFile::open_fd(int fd, uint64_t offset, uint64_t length, std::string name) {
    GgufFile f;
    f.source_ = std::make_shared<FdRangeSource>(fd, offset, length, name);
    f.name_ = std::move(name);
    f.base_ = f.source_->data;
    f.size_ = f.source_->size;
    GgufParser(f).parse();
    return f;
}

GgufFile GgufFile::from_memory(const void* data, size_t size, std::string name) {
    GgufFile f;
    f.name_ = std::move(name);
    f.source_ = std::make_shared<BorrowedSource>(data, size);
    f.base_ = f.source_->data;
    f.size_ = f.source_->size;
    GgufParser(f).parse();
    return f;
}

GgufFile GgufFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
    GgufFile f;
    f.name_ = std::move(name);
    f.source_ = std::make_shared<OwnedSource>(std::move(bytes));
    f.base_ = f.source_->data;
    f.size_ = f.source_->size;
    GgufParser(f).parse();
    return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
    const auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

const GgufValue& GgufFile::value(std::string_view key) const {
    if (const GgufValue* v = find(key)) return *v;
    throw MissingKeyError(name_ + ": metadata key '" + std::string(key) + "' is missing");
}

void GgufFile::rethrow_with_key(std::string_view key, const LoadError& e) const {
    const std::string msg = name_ + ": metadata key '" + std::string(key) + "': " + e.what();
    if (dynamic_cast<const MetadataTypeError*>(&e)) throw MetadataTypeError(msg);
    throw LoadError(msg);
}

uint64_t GgufFile::get_uint(std::string_view key) const {
    try {
        return value(key).to_uint();
    } catch (const MissingKeyError&) {
        throw;
    } catch (const LoadError& e) {
        rethrow_with_key(key, e);
    }
}

double GgufFile::get_float(std::string_view key) const {
    try {
        return value(key).to_double();
    } catch (const MissingKeyError&) {
        throw;
    } catch (const LoadError& e) {
        rethrow_with_key(key, e);
    }
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
    if (const GgufTensor* t = find_tensor(name)) return *t;
    throw MissingKeyError(name_ + ": tensor '" + std::string(name) + "' is missing");
}

void GgufFile::evict(const GgufTensor& t) const {
    if (source_ && t.data && t.n_bytes) source_->drop(t.data, t.n_bytes);
}

}  // namespace glowq

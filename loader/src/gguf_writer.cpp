// GGUF v3 serialization. Offsets are assigned in insertion order, each tensor starting at
// the next multiple of the alignment (zero padding), matching ggml's own writer.
#include "glowq/loader/gguf_writer.hpp"

#include <cstdio>
#include "glowq/error.hpp"
#include "glowq/loader/atomic_file.hpp"

namespace glowq {

namespace {

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
}
template <typename T> void put(std::vector<uint8_t>& out, T v) { put_bytes(out, &v, sizeof(T)); }
void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    put_bytes(out, s.data(), s.size());
}

void put_value(std::vector<uint8_t>& out, const GgufWriteValue& v) {
    if (const uint32_t sz = gguf_scalar_size(v.type)) {
        put_bytes(out, &v.bits, sz);
    } else if (v.type == GgufType::STRING) {
        put_string(out, v.str);
    } else if (v.type == GgufType::ARRAY) {
        put<uint32_t>(out, uint32_t(v.elem_type));
        put<uint64_t>(out, v.items.size());
        for (const GgufWriteValue& item : v.items) put_value(out, item);
    } else {
        throw Error(ErrorKind::InvalidArgument, "GGUF writer: unknown value type " + gguf_type_name(v.type));
    }
}

uint64_t pad_to(uint64_t n, uint64_t align) { return (align - n % align) % align; }

}  // namespace

GgufWriteValue GgufWriteValue::array_of(GgufType elem, std::vector<GgufWriteValue> items) {
    for (const GgufWriteValue& item : items)
        if (item.type != elem)
            throw Error(ErrorKind::InvalidArgument, "GGUF array of " + gguf_type_name(elem) + " given an item of type " +
                                        gguf_type_name(item.type));
    GgufWriteValue w;
    w.type = GgufType::ARRAY;
    w.elem_type = elem;
    w.items = std::move(items);
    return w;
}

GgufWriteValue GgufWriteValue::copy_of(const GgufValue& v) {
    GgufWriteValue w;
    w.type = v.type();
    if (v.type() == GgufType::STRING) {
        w.str = v.get<std::string>();
    } else if (v.type() == GgufType::ARRAY) {
        w.elem_type = v.array_type();
        const std::vector<GgufValue> items = v.items();
        w.items.reserve(items.size());
        for (const GgufValue& item : items) w.items.push_back(copy_of(item));
    } else {
        std::memcpy(&w.bits, v.raw(), size_t(v.raw_size()));
    }
    return w;
}

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        throw Error(ErrorKind::InvalidArgument, "GGUF alignment must be a power of two, got " + std::to_string(alignment));
}

void GgufWriter::set(const std::string& key, GgufWriteValue v) {
    if (key == "general.alignment" &&
        (v.type != GgufType::U32 || uint32_t(v.bits) != alignment_))
        throw Error(ErrorKind::InvalidArgument, "general.alignment must be the writer's alignment (a u32 " +
                                    std::to_string(alignment_) + ")");
    for (auto& kv : kv_)
        if (kv.first == key) {
            kv.second = std::move(v);
            return;
        }
    kv_.emplace_back(key, std::move(v));
}

uint64_t GgufWriter::check_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& ne) const {
    for (const PendingTensor& t : tensors_)
        if (t.name == name) throw Error(ErrorKind::InvalidArgument, "GGUF writer: duplicate tensor '" + name + "'");
    const GgmlTypeTraits* tr = ggml_type_traits(uint32_t(type));
    if (!tr) throw Error(ErrorKind::InvalidArgument, "GGUF writer: tensor '" + name + "' has unknown type");
    if (ne.empty() || ne.size() > 4)
        throw Error(ErrorKind::InvalidArgument, "GGUF writer: tensor '" + name + "' needs 1 to 4 dimensions");
    if (ne[0] % tr->block_size != 0)
        throw Error(ErrorKind::InvalidArgument, "GGUF writer: tensor '" + name + "' row length " + std::to_string(ne[0]) +
                                    " is not a multiple of the " + tr->name + " block size");
    uint64_t n = 1;
    for (uint64_t d : ne)
        if (__builtin_mul_overflow(n, d, &n))
            throw Error(ErrorKind::InvalidArgument, "GGUF writer: tensor '" + name + "' is too large");
    return n / tr->block_size * tr->type_size;
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne,
                            std::vector<uint8_t> data) {
    const uint64_t n_bytes = check_tensor(name, type, ne);
    if (data.size() != n_bytes)
        throw Error(ErrorKind::InvalidArgument, "GGUF writer: tensor '" + name + "' needs " + std::to_string(n_bytes) +
                                    " bytes of data, got " + std::to_string(data.size()));
    tensors_.push_back({name, type, std::move(ne), n_bytes, std::move(data), nullptr});
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> ne, Fill fill) {
    const uint64_t n_bytes = check_tensor(name, type, ne);
    tensors_.push_back({name, type, std::move(ne), n_bytes, {}, std::move(fill)});
}

void GgufWriter::add_tensor_f32(const std::string& name, std::vector<uint64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    if (!v.empty()) std::memcpy(bytes.data(), v.data(), bytes.size());
    add_tensor(name, GgmlType::F32, std::move(ne), std::move(bytes));
}

void GgufWriter::write(const std::function<void(const void*, size_t)>& sink,
                       const std::function<void(size_t, size_t)>& progress) const {
    std::vector<uint8_t> head;
    put_bytes(head, "GGUF", 4);
    put<uint32_t>(head, 3);
    put<uint64_t>(head, tensors_.size());
    // A non-default alignment must be recorded; it goes first unless the caller placed it.
    bool has_alignment_key = false;
    for (const auto& kv : kv_) has_alignment_key = has_alignment_key || kv.first == "general.alignment";
    const bool add_alignment_key = alignment_ != 32 && !has_alignment_key;
    put<uint64_t>(head, kv_.size() + (add_alignment_key ? 1 : 0));
    if (add_alignment_key) {
        put_string(head, "general.alignment");
        put<uint32_t>(head, uint32_t(GgufType::U32));
        put<uint32_t>(head, alignment_);
    }
    for (const auto& kv : kv_) {
        put_string(head, kv.first);
        put<uint32_t>(head, uint32_t(kv.second.type));
        put_value(head, kv.second);
    }
    uint64_t offset = 0;
    for (const PendingTensor& t : tensors_) {
        put_string(head, t.name);
        put<uint32_t>(head, uint32_t(t.ne.size()));
        for (uint64_t d : t.ne) put<uint64_t>(head, d);
        put<uint32_t>(head, uint32_t(t.type));
        put<uint64_t>(head, offset);
        offset += t.n_bytes + pad_to(t.n_bytes, alignment_);
    }
    head.resize(head.size() + pad_to(head.size(), alignment_), 0);
    sink(head.data(), head.size());

    static const uint8_t zeros[256] = {};
    std::vector<uint8_t> scratch;
    size_t written = 0;
    for (const PendingTensor& t : tensors_) {
        if (t.fill) {
            scratch.assign(size_t(t.n_bytes), 0);
            t.fill(scratch.data(), t.n_bytes);
            sink(scratch.data(), scratch.size());
        } else {
            sink(t.data.data(), t.data.size());
        }
        for (uint64_t pad = pad_to(t.n_bytes, alignment_); pad > 0;) {
            const size_t n = size_t(std::min<uint64_t>(pad, sizeof(zeros)));
            sink(zeros, n);
            pad -= n;
        }
        if (progress) progress(++written, tensors_.size());
    }
}

void GgufWriter::write_file(const std::string& path, const std::function<void(size_t, size_t)>& progress) const {
    AtomicFile f(path);
    write([&](const void* p, size_t n) { f.write(p, n); }, progress);
    f.commit();
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    std::vector<uint8_t> out;
    write([&](const void* p, size_t n) { put_bytes(out, p, n); });
    return out;
}

}  // namespace glowq

// Session state as bytes: a versioned header naming the model, the tokens, the KV cache of
// the evaluated positions, and a checksum. Everything is checked before anything changes.

#include <cerrno>
#include <cstring>
#include <fstream>

#include "glowq/error.hpp"
#include "glowq/loader/atomic_file.hpp"
#include "glowq/session.hpp"

namespace glowq {

namespace {

constexpr char kMagic[8] = {'G', 'L', 'O', 'W', 'Q', 'S', 'T', '\0'};
constexpr uint32_t kStateVersion = 1;

struct StateHeader {
    char magic[8];
    uint32_t version;
    uint32_t n_layers;
    uint64_t model;     // Model::fingerprint()
    uint32_t kv_width;  // n_kv_heads * head_dim
    uint32_t n_tokens;  // tokens of the session
    uint32_t n_cached;  // of which the KV cache holds the first n_cached
    uint32_t reserved;
    uint64_t kv_bytes;
};
static_assert(sizeof(StateHeader) == 48, "the header is part of the file format");

uint64_t checksum(const uint8_t* p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

}  // namespace

std::vector<uint8_t> Session::save_state() {
    const ModelConfig& c = model_->config();
    StateHeader h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kStateVersion;
    h.n_layers = c.n_layers;
    h.model = model_->fingerprint();
    h.kv_width = c.n_kv_heads * c.head_dim;
    h.n_tokens = uint32_t(tokens_.size());
    h.n_cached = exec_->cached();
    h.kv_bytes = exec_->kv_bytes(h.n_cached);
    std::vector<uint8_t> out(sizeof h + size_t(h.n_tokens) * 4 + h.kv_bytes + 8);
    uint8_t* p = out.data();
    std::memcpy(p, &h, sizeof h);
    p += sizeof h;
    if (!tokens_.empty()) std::memcpy(p, tokens_.data(), tokens_.size() * 4);  // (no NULL source)
    p += tokens_.size() * 4;
    exec_->read_kv(h.n_cached, p);
    const uint64_t sum = checksum(out.data(), out.size() - 8);
    std::memcpy(out.data() + out.size() - 8, &sum, 8);
    return out;
}

void Session::load_state(const uint8_t* data, size_t size) {
    if (!data) throw Error(ErrorKind::InvalidArgument, "no state given (NULL)");
    StateHeader h{};
    if (size < sizeof h + 8 || std::memcmp(data, kMagic, sizeof kMagic) != 0)
        throw Error(ErrorKind::InvalidModel, "not a glowq session state (bad magic or only " + std::to_string(size) + " bytes)");
    std::memcpy(&h, data, sizeof h);
    if (h.version != kStateVersion)
        throw Error(ErrorKind::InvalidModel, "session state version " + std::to_string(h.version) +
                                                 " is not supported (this library reads version " +
                                                 std::to_string(kStateVersion) + ")");
    const ModelConfig& c = model_->config();
    if (h.model != model_->fingerprint() || h.n_layers != c.n_layers || h.kv_width != c.n_kv_heads * c.head_dim)
        throw Error(ErrorKind::InvalidArgument, "the session state was saved from another model than " + model_->name());
    if (h.n_cached > h.n_tokens || h.kv_bytes != exec_->kv_bytes(h.n_cached))
        throw Error(ErrorKind::InvalidModel, "corrupt session state: inconsistent token and cache sizes");
    if (h.n_tokens > context())
        throw Error(ErrorKind::InvalidArgument, "the session state holds " + std::to_string(h.n_tokens) +
                                                    " tokens, more than this session's context of " +
                                                    std::to_string(context()));
    const uint64_t expect = sizeof h + uint64_t(h.n_tokens) * 4 + h.kv_bytes + 8;
    if (size != expect)
        throw Error(ErrorKind::InvalidModel, "corrupt session state: " + std::to_string(size) + " bytes, the header says " +
                                                 std::to_string(expect));
    uint64_t sum = 0;
    std::memcpy(&sum, data + size - 8, 8);
    if (sum != checksum(data, size - 8)) throw Error(ErrorKind::InvalidModel, "corrupt session state: checksum mismatch");
    std::vector<int32_t> tokens(h.n_tokens);
    if (!tokens.empty()) std::memcpy(tokens.data(), data + sizeof h, tokens.size() * 4);
    for (int32_t t : tokens)
        if (t < 0 || uint32_t(t) >= c.n_vocab)
            throw Error(ErrorKind::InvalidModel, "corrupt session state: token id " + std::to_string(t) +
                                                     " is outside the vocabulary");
    // From here the old state is gone: a failure while writing leaves an empty session, never
    // a cache that disagrees with its tokens.
    exec_->truncate(0);
    tokens_.clear();
    exec_->write_kv(h.n_cached, data + sizeof h + tokens.size() * 4);
    tokens_ = std::move(tokens);
}

void Session::save_file(const std::string& path) {
    const std::vector<uint8_t> bytes = save_state();
    write_file_atomic(path, bytes.data(), bytes.size());
}

void Session::load_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) throw Error(ErrorKind::Io, path + ": cannot open: " + std::strerror(errno));
    const uint64_t size = uint64_t(f.tellg());
    // A state never exceeds what this session's context can hold: refuse before reading.
    const uint64_t most = sizeof(StateHeader) + uint64_t(context()) * 4 + exec_->kv_bytes(context()) + 8;
    if (size > most)
        throw Error(ErrorKind::InvalidModel, path + ": " + std::to_string(size) +
                                                 " bytes is larger than any state of this session (" +
                                                 std::to_string(most) + ")");
    std::vector<uint8_t> bytes(size);
    f.seekg(0);
    if (!f.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size)))
        throw Error(ErrorKind::Io, path + ": read failed");
    try {
        load_state(bytes.data(), bytes.size());
    } catch (const Error& e) {
        throw Error(e.kind(), path + ": " + e.what());
    }
}

}  // namespace glowq

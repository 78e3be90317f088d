// Loading a model: parse the GGUF (mapped file, descriptor range or memory), build the
// tokenizer and chat template, upload the weights, fingerprint what was loaded.
#include "glowq/model.hpp"

#include <cstring>

#include "glowq/error.hpp"

namespace glowq {

namespace {

struct Fnv1a {
    uint64_t h = 1469598103934665603ull;
    void add(const void* p, size_t n) {
        const uint8_t* b = static_cast<const uint8_t*>(p);
        for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    }
    void add(std::string_view s) {
        add(s.data(), s.size());
        add("\0", 1);
    }
    template <class T> void add_value(T v) { add(&v, sizeof v); }
};

// Hashing every byte of a multi-GiB model would cost seconds per load; the metadata (keys
// and values), the tensor layout and the first and last KiB of every tensor tell files apart.
uint64_t fingerprint_of(const GgufFile& f) {
    Fnv1a h;
    h.add_value(f.file_size());
    for (const auto& [key, value] : f.metadata()) {
        h.add(key);
        h.add(value.raw(), size_t(value.raw_size()));  // vocabularies included: a few MB at most
    }
    for (const GgufTensor& t : f.tensors()) {
        h.add(t.name);
        h.add_value(uint32_t(t.type));
        for (uint32_t d = 0; d < t.n_dims; ++d) h.add_value(t.ne[d]);
        const uint64_t sample = std::min<uint64_t>(t.n_bytes, 1024);
        h.add(t.data, size_t(sample));
        h.add(t.data + (t.n_bytes - sample), size_t(sample));
    }
    return h.h;
}

}  // namespace

Model::Model(std::shared_ptr<Engine> engine, const GgufFile& file, const ModelLoadOptions& options)
    : engine_(std::move(engine)), name_(file.name()) {
    if (!engine_) throw Error(ErrorKind::InvalidArgument, "no engine");
    tokenizer_ = std::make_unique<Tokenizer>(vocab_from_gguf(file));
    if (!tokenizer_->vocab().chat_template.empty())
        chat_template_ = ChatTemplate::from_jinja(tokenizer_->vocab().chat_template, tokenizer_->vocab().tokens);
    weights_ = std::make_shared<const VulkanLlamaWeights>(engine_->context(), file, options.progress);
    fingerprint_ = fingerprint_of(file);
}

const ChatTemplate& Model::chat_template() const {
    if (!chat_template_) throw Error(ErrorKind::Unsupported, name_ + " has no chat template (tokenizer.chat_template)");
    return *chat_template_;
}

std::shared_ptr<const Model> Model::load_file(std::shared_ptr<Engine> engine, const std::string& path,
                                              const ModelLoadOptions& options) {
    if (path.empty()) throw Error(ErrorKind::InvalidArgument, "no model path given");
    const GgufFile file = GgufFile::open(path);
    return std::make_shared<const Model>(std::move(engine), file, options);
}

std::shared_ptr<const Model> Model::load_fd(std::shared_ptr<Engine> engine, int fd, uint64_t offset, uint64_t length,
                                            const ModelLoadOptions& options) {
    if (fd < 0) throw Error(ErrorKind::InvalidArgument, "invalid file descriptor " + std::to_string(fd));
    const GgufFile file = GgufFile::open_fd(fd, offset, length, "fd " + std::to_string(fd));
    return std::make_shared<const Model>(std::move(engine), file, options);
}

std::shared_ptr<const Model> Model::load_memory(std::shared_ptr<Engine> engine, const void* data, size_t size,
                                                const ModelLoadOptions& options) {
    if (!data) throw Error(ErrorKind::InvalidArgument, "no model bytes given (NULL)");
    const GgufFile file = GgufFile::from_memory(data, size, "<memory>");
    return std::make_shared<const Model>(std::move(engine), file, options);
}

}  // namespace glowq

#include "chat_worker.hpp"

#include "glowq/error.hpp"
#include "glowq/loader/glowq_format.hpp"

namespace glowq::chat_app {

namespace {

// What the status line says about a model: its GlowQ facts from the file's metadata.
ModelFacts facts_of(const std::string& path, const Model& m, Chat& chat) {
    ModelFacts f;
    f.path = path;
    f.architecture = m.config().architecture;
    f.weight_bytes = m.weights()->weight_bytes();
    f.correction_bytes = m.weights()->correction_bytes();
    f.context = chat.context();
    f.kv_bytes = chat.session().executor().kv_bytes(chat.context());
    try {
        const GgufFile file = GgufFile::open(path);
        if (file.has(format::kMethod)) f.method = file.get_string(format::kMethod);
        if (file.has(format::kRank)) f.rank = uint32_t(file.get_uint(format::kRank));
        if (file.has(format::kRestoredUnits)) f.units_corrected = uint32_t(file.get_array<std::string>(format::kRestoredUnits).size());
    } catch (const Error&) {
    }
    return f;
}

}  // namespace

ChatWorker::ChatWorker(std::shared_ptr<Engine> engine, uint32_t context, std::function<void()> wake)
    : engine_(std::move(engine)), context_(context), events_(std::move(wake)), thread_([this] { run(); }) {}

ChatWorker::~ChatWorker() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        jobs_.clear();
    }
    cancel();
    cv_.notify_all();
    thread_.join();
}

void ChatWorker::run() {
    while (true) {
        std::function<void()> job;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (stop_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
            cancel_reply_ = false;
            cancel_load_ = false;
        }
        job();
        std::lock_guard<std::mutex> lock(mutex_);
        if (jobs_.empty()) busy_ = false;
    }
}

void ChatWorker::load(const std::string& path) {
    cancel();  // a generation in progress stops first
    std::lock_guard<std::mutex> lock(mutex_);
    busy_ = true;
    jobs_.push_back([this, path] { do_load(path); });
    cv_.notify_one();
}

void ChatWorker::generate(GenerateRequest request) {
    std::lock_guard<std::mutex> lock(mutex_);
    busy_ = true;
    jobs_.push_back([this, r = std::move(request)] { do_generate(r); });
    cv_.notify_one();
}

void ChatWorker::cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancel_load_ = true;
    cancel_reply_ = true;
    if (chat_) chat_->cancel();
}

void ChatWorker::do_load(const std::string& path) {
    try {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            chat_.reset();
        }
        model_.reset();
        ModelLoadOptions o;
        o.progress = [this](float f) {
            events_.push({Event::LoadProgress, {}, f});
            return !cancel_load_.load();
        };
        auto model = Model::load_file(engine_, path, o);
        ChatOptions co;
        co.session.context = context_;
        auto chat = std::make_unique<Chat>(model, co);
        Event e{Event::Loaded};
        e.facts = facts_of(path, *model, *chat);
        model_ = model;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            chat_ = std::move(chat);
        }
        events_.push(std::move(e));
    } catch (const std::exception& ex) {
        events_.push({Event::LoadFailed, ex.what()});
    }
}

void ChatWorker::do_generate(const GenerateRequest& r) {
    if (!chat_) {
        events_.push({Event::Failed, "no model is loaded"});
        return;
    }
    try {
        std::vector<ChatMessage> msgs;
        for (const Message& m : r.conversation.messages) msgs.push_back({m.role, m.content});
        chat_->set_system_prompt(r.conversation.system_prompt);
        chat_->set_messages(std::move(msgs));
        GenerateOptions go;
        go.max_tokens = r.max_tokens;
        Event done{Event::Done};
        done.result = chat_->regenerate(r.sampler, go, [this](const std::string& piece, int32_t) {
            if (!piece.empty()) events_.push({Event::Piece, piece});
            return !cancel_reply_.load();
        });
        done.context_used = chat_->tokens_used();
        events_.push(std::move(done));
    } catch (const Error& ex) {
        // Stopped before the first token: not an error to show, the reply is just empty.
        events_.push({ex.kind() == ErrorKind::Cancelled ? Event::Done : Event::Failed, ex.what()});
    } catch (const std::exception& ex) {
        events_.push({Event::Failed, ex.what()});
    }
}

}  // namespace glowq::chat_app

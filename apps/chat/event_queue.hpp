// A thread-safe queue from the generation worker to the UI thread: the worker pushes and
// wakes the UI (glfwPostEmptyEvent), the UI drains it once per frame and never waits.
#pragma once
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

namespace glowq::chat_app {

template <class T> class EventQueue {
public:
    explicit EventQueue(std::function<void()> wake = {}) : wake_(std::move(wake)) {}
    void push(T event) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back(std::move(event));
        }
        if (wake_) wake_();
    }
    std::vector<T> drain() {
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<T> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
        events_.clear();
        return out;
    }

private:
    std::function<void()> wake_;
    std::mutex mutex_;
    std::deque<T> events_;
};

}  // namespace glowq::chat_app

#include "glowq/loader/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "glowq/error.hpp"

namespace glowq {

namespace {

constexpr size_t kBufferBytes = size_t(1) << 20;  // the GGUF writer emits many small pieces

std::string directory_of(const std::string& path) {
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    static std::atomic<uint64_t> serial{0};
    tmp_ = path_ + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(serial++);
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw Error(ErrorKind::Io, "cannot write " + path_ + ": cannot create " + tmp_ + ": " + std::strerror(errno));
    buffer_.reserve(kBufferBytes);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
    if (fd_ < 0) return;
    ::close(fd_);
    ::unlink(tmp_.c_str());
    fd_ = -1;
}

void AtomicFile::flush_buffer() {
    size_t done = 0;
    while (!error_ && done < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) error_ = n < 0 ? errno : EIO;
        else done += size_t(n);
    }
    buffer_.clear();
}

void AtomicFile::write(const void* data, size_t n) {
    if (fd_ < 0) throw Error(ErrorKind::InvalidArgument, "write to " + path_ + " after commit");
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0 && !error_) {
        const size_t take = std::min(n, kBufferBytes - buffer_.size());
        buffer_.insert(buffer_.end(), p, p + take);
        p += take;
        n -= take;
        if (buffer_.size() == kBufferBytes) flush_buffer();
    }
}

void AtomicFile::commit() {
    if (fd_ < 0) throw Error(ErrorKind::InvalidArgument, "commit of " + path_ + " twice");
    flush_buffer();
    if (!error_ && ::fsync(fd_) != 0) error_ = errno;
    if (::close(fd_) != 0 && !error_) error_ = errno;
    fd_ = -1;
    if (!error_ && ::rename(tmp_.c_str(), path_.c_str()) != 0) error_ = errno;
    if (error_) {
        ::unlink(tmp_.c_str());
        throw Error(ErrorKind::Io, "cannot write " + path_ + ": " + std::strerror(error_));
    }
    // The rename is durable once the directory is: without this a crash of the machine
    // could bring back the old name after the caller was told the file was written.
    const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

void write_file_atomic(const std::string& path, const void* data, size_t n) {
    AtomicFile f(path);
    f.write(data, n);
    f.commit();
}

}  // namespace glowq

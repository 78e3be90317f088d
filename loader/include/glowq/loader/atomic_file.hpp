// Every file glowq writes (GGUF outputs, calibration statistics, session states, saved
// conversations, benchmark JSON) goes through AtomicFile, so that a process killed at any
// moment leaves the old file or the new one, never a torn one, and a rerun succeeds: the
// bytes go to a temporary beside the target (unique per process and call, created
// exclusively, so two writers of one path never share it), are flushed to the disk, and
// only then renamed over the target; the directory is flushed after the rename. A write
// that fails or is abandoned (an exception before commit) removes the temporary and leaves
// the target as it was. A process killed mid-write leaves its temporary behind
// (PATH.tmp<pid>.<n>): never read, and not reused, by later runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glowq {

class AtomicFile {
public:
    // Creates the temporary; throws Error (Io) naming the path and the system's reason.
    explicit AtomicFile(std::string path);
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile();  // without commit(): the temporary is removed, the target untouched

    // Buffered; the first failure is kept and reported by commit().
    void write(const void* data, size_t n);
    // Flushes, fsyncs, renames over the target, fsyncs the directory. Throws Error (Io)
    // with the target unchanged if any step (or an earlier write) failed.
    void commit();

private:
    void flush_buffer();
    void discard();
    std::string path_, tmp_;
    int fd_ = -1;
    int error_ = 0;  // errno of the first failure
    std::vector<uint8_t> buffer_;
};

// The whole file at once.
void write_file_atomic(const std::string& path, const void* data, size_t n);
inline void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, text.data(), text.size());
}

}  // namespace glowq

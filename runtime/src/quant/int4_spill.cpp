#include "glowq/quant/int4_spill.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "glowq/error.hpp"

namespace glowq::quant {

Int4Spill::Int4Spill(const std::string& prefix) {
    // A fresh name (mkstemp: created exclusively, never following a link), so two runs
    // writing next to each other and a file already there are left alone.
    std::vector<char> name(prefix.begin(), prefix.end());
    for (char c : std::string(".XXXXXX")) name.push_back(c);
    name.push_back('\0');
    fd_ = ::mkstemp(name.data());
    if (fd_ < 0)
        throw Error(ErrorKind::Io, "cannot create the scratch file " + prefix + ".XXXXXX: " + std::strerror(errno));
    path_ = name.data();
    ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
    ::unlink(path_.c_str());
}

Int4Spill::~Int4Spill() {
    if (fd_ >= 0) ::close(fd_);
}

void Int4Spill::write_at(const void* p, uint64_t n) {
    const char* b = static_cast<const char*>(p);
    for (uint64_t done = 0; done < n;) {
        const ssize_t w = ::pwrite(fd_, b + done, size_t(n - done), off_t(end_ + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            throw Error(ErrorKind::Io, "cannot write the scratch file " + path_ + " (" + std::to_string(end_ + done) +
                                           " bytes in): " + std::strerror(w < 0 ? errno : ENOSPC));
        done += uint64_t(w);
    }
    end_ += n;
}

void Int4Spill::read_at(uint64_t at, void* p, uint64_t n) const {
    char* b = static_cast<char*>(p);
    for (uint64_t done = 0; done < n;) {
        const ssize_t r = ::pread(fd_, b + done, size_t(n - done), off_t(at + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0)
            throw Error(ErrorKind::Io, "cannot read back the scratch file " + path_ + ": " +
                                           (r < 0 ? std::strerror(errno) : "it is shorter than written"));
        done += uint64_t(r);
    }
}

void Int4Spill::put(uint32_t layer, const std::string& module, Int4Matrix& q) {
    const auto key = std::make_pair(layer, module);
    if (entries_.count(key))
        throw Error(ErrorKind::InvalidArgument, "blk." + std::to_string(layer) + "." + module + " is already spilled");
    if (q.codes.size() != size_t(q.rows) * q.row_words() || q.scale_offset.size() != size_t(q.rows) * q.groups())
        throw Error(ErrorKind::InvalidArgument, "blk." + std::to_string(layer) + "." + module +
                                                    ": an int4 matrix whose codes or scales disagree with its shape");
    Entry e{end_, q.codes.size(), 0, q.scale_offset.size()};
    write_at(q.codes.data(), q.codes.size() * sizeof(uint32_t));
    e.scales_at = end_;
    write_at(q.scale_offset.data(), q.scale_offset.size() * sizeof(uint32_t));
    entries_[key] = e;
    std::vector<uint32_t>().swap(q.codes);
    std::vector<uint32_t>().swap(q.scale_offset);
}

bool Int4Spill::has(uint32_t layer, const std::string& module) const {
    return entries_.count(std::make_pair(layer, module)) != 0;
}

const Int4Spill::Entry& Int4Spill::entry(uint32_t layer, const std::string& module) const {
    const auto it = entries_.find(std::make_pair(layer, module));
    if (it == entries_.end())
        throw Error(ErrorKind::InvalidArgument, "blk." + std::to_string(layer) + "." + module + " was never spilled");
    return it->second;
}

void Int4Spill::read_codes(uint32_t layer, const std::string& module, uint32_t* dst, uint64_t words) const {
    const Entry& e = entry(layer, module);
    if (words != e.codes_words)
        throw Error(ErrorKind::InvalidArgument, "blk." + std::to_string(layer) + "." + module + " has " +
                                                    std::to_string(e.codes_words) + " code words parked, " +
                                                    std::to_string(words) + " asked for");
    read_at(e.codes_at, dst, words * sizeof(uint32_t));
}

std::vector<uint32_t> Int4Spill::read_scale_offset(uint32_t layer, const std::string& module) const {
    const Entry& e = entry(layer, module);
    std::vector<uint32_t> out(e.scales_words);
    read_at(e.scales_at, out.data(), out.size() * sizeof(uint32_t));
    return out;
}

}  // namespace glowq::quant

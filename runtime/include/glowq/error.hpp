// The one error type of the library. It is a value with a message that names what went
// wrong; the C API (glowq.h) turns its kind into a status code and the message into
// glowq_last_error(), so an embedding application never sees an exception cross its
// boundary. The loader's LoadError is one of these (kind InvalidModel or Io).
#pragma once
#include <stdexcept>
#include <string>

namespace glowq {

enum class ErrorKind {
    NoDevice,
    Vulkan,
    InvalidArgument,
    OutOfMemory,
    Unsupported,
    Io,            // a file could not be opened, read or written
    InvalidModel,  // a model or state file is corrupt, truncated or hostile
    Cancelled,     // a cancel flag or a progress callback stopped the work
    ContextFull,   // tokens do not fit the context
    Internal,
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

}  // namespace glowq

// The one error type of the C++ API. It is a value with a message that names what went
// wrong; the C API (glowq.h) turns it into a status code and a message string, so an
// embedding application never sees an exception cross its boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace glowq {

enum class ErrorKind { NoDevice, Vulkan, InvalidArgument, OutOfMemory, Unsupported, Io, Internal };

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    ErrorKind kind() const { return kind_; }

private:
    ErrorKind kind_;
};

}  // namespace glowq

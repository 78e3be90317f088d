// The loader's errors. A model file comes from outside the program, so every problem with
// one is an expected failure that a person must be able to act on: the message always
// names the file and what is wrong with it. They are glowq::Error values (one error type
// for the whole library): InvalidModel for a bad file, Io for one that cannot be read.
#pragma once
#include <string>

#include "glowq/error.hpp"

namespace glowq {

class LoadError : public Error {
public:
    explicit LoadError(const std::string& message, ErrorKind kind = ErrorKind::InvalidModel) : Error(kind, message) {}
};

// A metadata key exists but holds a different GGUF type than the caller asked for.
// Separate so a caller can fall back to another key or a default without string matching.
class MetadataTypeError : public LoadError {
public:
    using LoadError::LoadError;
};

// A metadata key or tensor the caller required is not in the file.
class MissingKeyError : public LoadError {
public:
    using LoadError::LoadError;
};

}  // namespace glowq

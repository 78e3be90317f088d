// The one exception type of the loader. A model file comes from outside the program, so
// every problem with one is an expected failure that a person must be able to act on: the
// message always names the file and what is wrong with it.
#pragma once
#include <stdexcept>
#include <string>

namespace glowq {

class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
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

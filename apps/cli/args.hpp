// A small option parser shared by the subcommands: --name VALUE, --name=VALUE, --flag.
// Unknown options and missing or malformed values are errors that name the option.
#pragma once
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "glowq/error.hpp"

namespace glowq::cli {

class Args {
public:
    // flags: options without a value; options: options that take one.
    Args(const std::vector<std::string>& argv, const std::set<std::string>& flags,
         const std::set<std::string>& options) {
        for (size_t i = 0; i < argv.size(); ++i) {
            std::string a = argv[i];
            if (a.size() < 2 || a[0] != '-') {
                positional_.push_back(a);
                continue;
            }
            std::string value;
            bool has_value = false;
            const auto eq = a.find('=');
            if (eq != std::string::npos) {
                value = a.substr(eq + 1);
                a = a.substr(0, eq);
                has_value = true;
            }
            if (flags.count(a)) {
                if (has_value) throw Error(ErrorKind::InvalidArgument, "option " + a + " takes no value");
                values_[a] = "1";
            } else if (options.count(a)) {
                if (!has_value) {
                    if (i + 1 >= argv.size()) throw Error(ErrorKind::InvalidArgument, "option " + a + " needs a value");
                    value = argv[++i];
                }
                values_[a] = value;
            } else {
                throw Error(ErrorKind::InvalidArgument, "unknown option '" + a + "' (see --help)");
            }
        }
    }

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const {
        auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    long get_int(const std::string& name, long fallback, long min, long max) const {
        if (!has(name)) return fallback;
        const std::string v = get(name);
        char* end = nullptr;
        const long x = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || x < min || x > max)
            throw Error(ErrorKind::InvalidArgument, "option " + name + " needs an integer in [" + std::to_string(min) +
                                                        ", " + std::to_string(max) + "], got '" + v + "'");
        return x;
    }
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace glowq::cli

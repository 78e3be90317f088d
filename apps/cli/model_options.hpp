// Options shared by the commands that load a model: which file, which device, context,
// sampling. One place, so `run`, `chat` and `ppl` read them the same way.
#pragma once
#include <memory>
#include <set>
#include <string>

#include "args.hpp"
#include "glowq/model.hpp"
#include "glowq/sampler.hpp"
#include "glowq/session.hpp"

namespace glowq::cli {

// Option names for Args: model/device/context, and sampling.
std::set<std::string> model_option_names();
std::set<std::string> sampler_option_names();
const char* model_options_help();
const char* sampler_options_help();

// -m, else $GLOWQ_MODEL, else the default model in the cache (scripts/fetch_model.sh).
std::string model_path(const Args& args);

// The program maps its environment to the library's options (the library reads none):
// --device, else $GLOWQ_DEVICE; validation when $GLOWQ_VALIDATION is set and not "0".
EngineOptions engine_options(const Args& args);
std::shared_ptr<Engine> make_engine(const Args& args);

struct LoadedModel {
    std::shared_ptr<Engine> engine;
    std::shared_ptr<const Model> model;
    double load_ms = 0;
};
LoadedModel load_model(const Args& args, bool verbose);
// --ctx and --chunk.
SessionOptions session_options(const Args& args);

SamplerParams sampler_params(const Args& args);

}  // namespace glowq::cli

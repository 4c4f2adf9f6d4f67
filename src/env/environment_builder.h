// EnvironmentBuilder: turns a registered environment (its spec and build hash, pinned in the
// run) into something a job can run with, on this node, once: builds live in a cache folder
// named by the hash, guarded by a file lock so that concurrent runs wait for one build
// instead of building twice, and marked ready only when complete.
//
// Materializers, chosen by the spec:
//   container image or Dockerfile   → needs docker or podman answering (otherwise an error
//                                     naming the tool; never runs on the host instead): the
//                                     image is pulled, or built from the Dockerfile once, and
//                                     the runner runs the command inside it
//   conda dependencies (not user-managed) → needs micromamba, mamba or conda on PATH
//   pip packages (not user-managed) → a venv (--system-site-packages) of the interpreter, pip
//                                     from $GANTRY_PIP_INDEX_URL or a wheel folder
//                                     $GANTRY_PIP_FIND_LINKS
//   otherwise                       → the named interpreter as it is
// `requires_modules` are imported once to check the build. Thread-safe (file locks).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/files.h"
#include "common/json.h"
#include "common/status.h"

namespace gantry::env {

struct BuiltEnvironment {
  fs::path interpreter;  // absolute; empty for a container
  // For a container environment: the engine (docker or podman) and the image to run the
  // command in; empty otherwise.
  fs::path container_engine;
  std::string container_image;
  std::map<std::string, std::string> variables;  // the spec's environment_variables
  bool cached = false;                           // true when an earlier build was reused
};

struct EnvironmentBuildOptions {
  fs::path cache_root;   // builds go to cache_root/HASH
  std::string path_env;  // PATH to look tools and interpreters up on
  // Receives the build's output, line by line (the run's log).
  std::function<void(const std::string&)> log;
};

// `environment` is the run's {"name", "version", "hash", "spec"}. FailedPrecondition naming
// the missing tool, interpreter or module; Internal with the tool's output when a build fails.
Result<BuiltEnvironment> BuildEnvironment(const Json& environment,
                                          const EnvironmentBuildOptions& options);

}  // namespace gantry::env

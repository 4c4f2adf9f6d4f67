// NewModelBackend: the in-process backends live in plugins loaded on first use, so that only
// `gantry serve` pays for loading libtorch or TensorFlow (see src/serving/CMakeLists.txt).
#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "common/files.h"
#include "common/process.h"
#include "serving/model_backend.h"

namespace gantry::serving {
namespace {

// Where a plugin may be: $GANTRY_PLUGIN_DIR, then beside the executable (the build tree),
// its parent, and ../lib/gantry (an installed tree).
std::vector<fs::path> PluginCandidates(const std::string& file) {
  std::vector<fs::path> dirs;
  if (const char* dir = std::getenv("GANTRY_PLUGIN_DIR"); dir != nullptr && *dir)
    dirs.push_back(dir);
  fs::path exe_dir = SelfExecutable().parent_path();
  dirs.push_back(exe_dir);
  dirs.push_back(exe_dir.parent_path());
  dirs.push_back(exe_dir.parent_path() / "lib" / "gantry");
  std::vector<fs::path> out;
  for (const auto& d : dirs) out.push_back(d / file);
  return out;
}

struct Plugin {
  const char* kind;
  const char* file;
  const char* entry;  // the factory's symbol
  int mode;           // dlopen flags
};

// RTLD_GLOBAL for torchscript: libtorch's BLAS joins the global scope, where the
// executable's sgemm_ forwarder (blas_gemv_forward.cc) finds the next sgemm_. The tensorflow
// plugin keeps to itself (it opens TensorFlow's library RTLD_LOCAL in turn).
constexpr Plugin kPlugins[] = {
    {"torchscript", "gantry_torchscript.so", "gantry_new_torchscript_backend",
     RTLD_NOW | RTLD_GLOBAL},
    {"tensorflow", "gantry_tensorflow.so", "gantry_new_tensorflow_backend", RTLD_NOW | RTLD_LOCAL},
};

// Loads a plugin once and returns its factory symbol.
Result<void*> PluginEntry(const Plugin& plugin) {
  static std::mutex mu;
  static std::map<std::string, Result<void*>> loaded;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded.find(plugin.kind); it != loaded.end()) return it->second;
  auto load = [&]() -> Result<void*> {
    std::string tried;
    for (const fs::path& path : PluginCandidates(plugin.file)) {
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        tried += (tried.empty() ? "" : ", ") + path.string();
        continue;
      }
      void* handle = ::dlopen(path.c_str(), plugin.mode);
      if (handle == nullptr) {
        const char* error = ::dlerror();
        return Err(FailedPreconditionError(std::string("cannot load the ") + plugin.kind +
                                           " backend " + path.string() + ": " +
                                           (error != nullptr ? error : "unknown error")));
      }
      void* entry = ::dlsym(handle, plugin.entry);
      if (entry == nullptr) {
        return Err(
            FailedPreconditionError(path.string() + " is not a gantry " + plugin.kind + " plugin"));
      }
      return entry;
    }
    return Err(FailedPreconditionError(std::string("the ") + plugin.kind + " backend (" +
                                       plugin.file + ") is not installed; looked in " + tried));
  };
  return loaded.emplace(plugin.kind, load()).first->second;
}

}  // namespace

Result<std::unique_ptr<ModelBackend>> NewModelBackend(const std::string& kind,
                                                      const ModelBackendOptions& options) {
  if (kind == "torchscript") {
    ASSIGN_OR_RETURN(void* entry, PluginEntry(kPlugins[0]));
    auto create = reinterpret_cast<ModelBackend* (*)()>(entry);
    return std::unique_ptr<ModelBackend>(create());
  }
  if (kind == "tensorflow") {
    ASSIGN_OR_RETURN(void* entry, PluginEntry(kPlugins[1]));
    auto create = reinterpret_cast<ModelBackend* (*)(const ModelBackendOptions*)>(entry);
    return std::unique_ptr<ModelBackend>(create(&options));
  }
  return Err(Status(StatusCode::kUnimplemented, "model backend '" + kind +
                                                    "' is not built; available: torchscript, "
                                                    "tensorflow"));
}

}  // namespace gantry::serving

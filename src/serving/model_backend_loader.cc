// NewModelBackend: the in-process backends live in plugins loaded on first use, so that only
// `gantry serve` pays for loading libtorch (see src/serving/CMakeLists.txt).
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "common/files.h"
#include "common/process.h"
#include "serving/model_backend.h"

namespace gantry::serving {
namespace {

constexpr char kTorchScriptPlugin[] = "gantry_torchscript.so";

// Where the plugin may be: $GANTRY_PLUGIN_DIR, then beside the executable (the build tree),
// its parent, and ../lib/gantry (an installed tree).
std::vector<fs::path> PluginCandidates() {
  std::vector<fs::path> dirs;
  if (const char* dir = std::getenv("GANTRY_PLUGIN_DIR"); dir != nullptr && *dir) dirs.push_back(dir);
  fs::path exe_dir = SelfExecutable().parent_path();
  dirs.push_back(exe_dir);
  dirs.push_back(exe_dir.parent_path());
  dirs.push_back(exe_dir.parent_path() / "lib" / "gantry");
  std::vector<fs::path> out;
  for (const auto& d : dirs) out.push_back(d / kTorchScriptPlugin);
  return out;
}

using Factory = ModelBackend* (*)();

// Loads the plugin once. RTLD_GLOBAL: libtorch's BLAS joins the global scope, where the
// executable's sgemm_ forwarder (blas_gemv_forward.cc) finds the next sgemm_.
Result<Factory> TorchScriptFactory() {
  static std::once_flag once;
  static Result<Factory> factory = Err(InternalError("not loaded"));
  std::call_once(once, [] {
    std::string tried;
    for (const fs::path& path : PluginCandidates()) {
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        tried += (tried.empty() ? "" : ", ") + path.string();
        continue;
      }
      void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
      if (handle == nullptr) {
        const char* error = ::dlerror();
        factory = Err(FailedPreconditionError("cannot load the torchscript backend " + path.string() +
                                              ": " + (error != nullptr ? error : "unknown error")));
        return;
      }
      auto create = reinterpret_cast<Factory>(::dlsym(handle, "gantry_new_torchscript_backend"));
      if (create == nullptr) {
        factory = Err(FailedPreconditionError(path.string() + " is not a gantry torchscript plugin"));
        return;
      }
      factory = create;
      return;
    }
    factory = Err(FailedPreconditionError("the torchscript backend (" + std::string(kTorchScriptPlugin) +
                                          ") is not installed; looked in " + tried));
  });
  return factory;
}

}  // namespace

Result<std::unique_ptr<ModelBackend>> NewModelBackend(const std::string& kind) {
  if (kind == "torchscript") {
    ASSIGN_OR_RETURN(Factory create, TorchScriptFactory());
    return std::unique_ptr<ModelBackend>(create());
  }
  return Err(Status(StatusCode::kUnimplemented,
                    "model backend '" + kind + "' is not built yet; available: torchscript"));
}

}  // namespace gantry::serving

#include "serving/tensorflow_c_api.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

namespace gantry::serving {

Result<const TensorFlowCApi*> LoadTensorFlowCApi(const fs::path& library) {
  // One table per library path, loaded once: dlopen is reference-counted and the library is
  // never closed (TensorFlow registers ops and thread pools that outlive any session).
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<TensorFlowCApi>> loaded;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded.find(library.string()); it != loaded.end()) return it->second.get();

  void* handle = ::dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = ::dlerror();
    return Err(FailedPreconditionError("cannot load TensorFlow's C API from " + library.string() +
                                       ": " + (error != nullptr ? error : "unknown error")));
  }
  auto api = std::make_unique<TensorFlowCApi>();
  std::string missing;
  // The symbols are version-tagged (TF_SessionRun@@tensorflow); dlsym finds the default
  // version under the plain name.
  auto resolve = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(handle, name));
    if (fn == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
#define GANTRY_TF_RESOLVE(name) resolve(api->name, #name)
  GANTRY_TF_RESOLVE(TF_Version);
  GANTRY_TF_RESOLVE(TF_NewStatus);
  GANTRY_TF_RESOLVE(TF_DeleteStatus);
  GANTRY_TF_RESOLVE(TF_GetCode);
  GANTRY_TF_RESOLVE(TF_Message);
  GANTRY_TF_RESOLVE(TF_NewBuffer);
  GANTRY_TF_RESOLVE(TF_DeleteBuffer);
  GANTRY_TF_RESOLVE(TF_NewSessionOptions);
  GANTRY_TF_RESOLVE(TF_SetConfig);
  GANTRY_TF_RESOLVE(TF_DeleteSessionOptions);
  GANTRY_TF_RESOLVE(TF_NewGraph);
  GANTRY_TF_RESOLVE(TF_DeleteGraph);
  GANTRY_TF_RESOLVE(TF_GraphOperationByName);
  GANTRY_TF_RESOLVE(TF_LoadSessionFromSavedModel);
  GANTRY_TF_RESOLVE(TF_CloseSession);
  GANTRY_TF_RESOLVE(TF_DeleteSession);
  GANTRY_TF_RESOLVE(TF_SessionRun);
  GANTRY_TF_RESOLVE(TF_AllocateTensor);
  GANTRY_TF_RESOLVE(TF_DeleteTensor);
  GANTRY_TF_RESOLVE(TF_TensorType);
  GANTRY_TF_RESOLVE(TF_NumDims);
  GANTRY_TF_RESOLVE(TF_Dim);
  GANTRY_TF_RESOLVE(TF_TensorByteSize);
  GANTRY_TF_RESOLVE(TF_TensorData);
  GANTRY_TF_RESOLVE(TF_TensorElementCount);
#undef GANTRY_TF_RESOLVE
  if (!missing.empty()) {
    return Err(FailedPreconditionError(library.string() + " lacks TensorFlow C API functions (" +
                                       missing + "); is it TensorFlow's libtensorflow_cc.so.2?"));
  }
  return (loaded[library.string()] = std::move(api)).get();
}

}  // namespace gantry::serving

// TensorFlowServing: `gantry serve --backend tensorflow-serving`. TensorFlow SavedModels are
// served by TensorFlow Serving itself: this runs its `tensorflow_model_server` (found on PATH) as a
// child process that answers TF Serving REST on the port, with the model folder laid out as
// TF Serving wants it (numbered version folders). Gantry does not proxy the requests.
// Thread-compatible: one owner thread; the destructor kills a child that still runs.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "common/files.h"
#include "common/process.h"
#include "common/status.h"

namespace gantry::serving {

struct TensorFlowServingOptions {
  // A SavedModel folder (saved_model.pb), a folder of numbered versions of one, or a folder
  // holding either one level down (a registered model keeps its folder name).
  fs::path model_dir;
  // --model_name; the model's URL is /v1/models/NAME.
  std::string name;
  // --rest_api_port; 0 picks a free one.
  int port = 0;
  // The TensorFlow Serving program; looked up on PATH when it has no slash.
  std::string program = "tensorflow_model_server";
};

class TensorFlowServing {
 public:
  // Starts the program. FailedPrecondition when it is not on PATH; NotFound or
  // InvalidArgument when the folder holds no SavedModel.
  static Result<std::unique_ptr<TensorFlowServing>> Start(TensorFlowServingOptions options);
  ~TensorFlowServing();
  TensorFlowServing(const TensorFlowServing&) = delete;
  TensorFlowServing& operator=(const TensorFlowServing&) = delete;

  // One readiness probe: true once GET /v1/models/NAME answers 200 on the REST port;
  // Unavailable when the program exited first (its log, on stderr, says why).
  Result<bool> Ready();
  // nullopt while it runs; then how it ended (reaped).
  std::optional<ExitInfo> TryWait();
  // Passes `sig` on (SIGTERM: TF Serving's own shutdown) and waits for it to end.
  ExitInfo StopWith(int sig);

  int rest_port() const { return rest_port_; }
  int grpc_port() const { return grpc_port_; }
  pid_t pid() const { return pid_; }
  // The --model_base_path it was given.
  const fs::path& base_path() const { return base_path_; }

 private:
  TensorFlowServing() = default;

  TensorFlowServingOptions options_;
  fs::path temp_dir_;  // holds the version link when the folder is a bare SavedModel
  fs::path base_path_;
  int rest_port_ = 0;
  int grpc_port_ = 0;
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

}  // namespace gantry::serving

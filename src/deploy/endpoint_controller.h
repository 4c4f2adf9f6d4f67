// EndpointController: runs the model servers of every deployment in the workspace. For each
// deployment it materializes the model (and scoring code) from the artifact store, builds the
// deployment's environment (python backend), starts `instance_count` replicas of
// `gantry serve` as children of the server, waits for each to answer its readiness check,
// then watches them: a replica that exits or fails three health checks in a row is restarted
// with exponential backoff (1 s, 2 s, 4 s ... 30 s), and every such event is written to the
// deployment's log. A deployment whose first replicas never become ready goes to Failed with
// the model server's own error. Scoring requests are forwarded to ready replicas in turn.
// An update (a new generation of a deployment that is serving) is rolled: the old replicas
// keep answering until every replica of the new generation is ready, and are stopped then;
// if the new generation fails, the old one keeps serving (the deployment shows Failed with
// the new generation's error). The controller is the replica supervisor; forwarding is the
// ReplicaRouter's (replica_router.h), which the controller tells what is ready after every
// change.
//
// All processes are started from the controller's one thread (they get SIGTERM if it ends,
// so model servers never outlive the server). The deployment records in the store are the
// desired state: Start() brings back every deployment that was not Failed, so endpoints
// survive a server restart. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "artifacts/blob_store.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/json.h"
#include "deploy/deployment_state.h"
#include "deploy/replica_router.h"
#include "deploy/rollout_policy.h"
#include "store/metadata_store.h"
#include "workspace/deployment_runtime.h"

namespace gantry::deploy {

using workspace::ForwardedResponse;
using workspace::ReplicaStatus;

struct EndpointControllerOptions {
  fs::path root;         // deployments live under root/ENDPOINT/DEPLOYMENT/
  fs::path env_cache;    // environment builds (shared with the runners of this node)
  fs::path gantry;       // the gantry binary that runs `gantry serve`
  std::string path_env;  // PATH for model servers and environment builds
  // Put first on the PYTHONPATH of entry-script model servers (the folder holding the `gantry`
  // and `azureml` packages), as for runs, so that a scoring script can import azureml.core.
  // Empty: PYTHONPATH is left alone.
  fs::path python_sdk_dir;
  int64_t tick_ms = 100;  // how often replicas are checked for exits
  int64_t health_interval_ms = 2000;
  int64_t ready_timeout_ms = 300'000;  // a replica not ready by then is a failed start
  int64_t max_backoff_ms = 30'000;
};

class EndpointController final : public workspace::DeploymentRuntime {
 public:
  EndpointController(EndpointControllerOptions options, store::MetadataStore* store,
                     artifacts::BlobStore* blobs, Clock* clock);
  ~EndpointController() override;

  // Brings back every stored deployment that is not Failed, then keeps watching.
  void Start();
  // Stops every model server (SIGTERM, then SIGKILL after 10 s) and the watcher thread.
  void Stop();

  // DeploymentRuntime. Forward picks the ready replicas in turn.
  void Apply(const std::string& endpoint, const std::string& deployment) override;
  void Remove(const std::string& endpoint, const std::string& deployment) override;
  std::vector<ReplicaStatus> Replicas(const std::string& endpoint,
                                      const std::string& deployment) override;
  Result<std::string> Logs(const std::string& endpoint, const std::string& deployment,
                           int64_t lines) override;
  Result<ForwardedResponse> Forward(const std::string& endpoint, const std::string& deployment,
                                    const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& content_type,
                                    const std::map<std::string, std::string>& headers) override;

  struct Deployment;
  struct Replica;

 private:
  using Key = std::pair<std::string, std::string>;
  struct Command {
    enum Kind { kApply, kRemove } kind;
    Key key;
    std::shared_ptr<std::promise<void>> done;
  };

  void Loop();
  void Provision(Deployment& d);
  void StartReplica(Deployment& d, Replica& r);
  void StopReplicas(Deployment& d);
  // SIGTERM to every replica's group, SIGKILL after the grace; marks them Stopped.
  void Terminate(const std::vector<std::shared_ptr<Replica>>& replicas);
  // Stops the previous generation's replicas (kept serving during an update) and removes
  // their folder.
  void StopPrevious(Deployment& d);
  // Reaps previous-generation replicas that exited on their own (they are not restarted).
  void ReapPrevious(Deployment& d);
  void Check(Deployment& d);
  // Writes the generation's state (checked against the one it had) to the store and the log.
  void SetState(Deployment& d, DeploymentState state, const std::string& error);
  void Log(const Deployment& d, const std::string& line);
  // Tells the router which of the deployment's replicas are ready now; called under mu_
  // wherever a replica's phase or link changes.
  void PublishLocked(const Deployment& d);

  EndpointControllerOptions options_;
  RolloutRules rules_;
  store::MetadataStore* store_;
  artifacts::BlobStore* blobs_;
  Clock* clock_;

  std::mutex mu_;  // guards deployments_ and commands_
  std::condition_variable wake_;
  std::map<Key, std::shared_ptr<Deployment>> deployments_;
  std::deque<Command> commands_;
  bool stopping_ = false;
  std::thread thread_;
  // Forwarding: what PublishLocked last said, read by Forward without taking mu_.
  ReplicaRouter router_;
};

// The folder with a no-code model's files inside a materialized model tree: the tree's root,
// or its only top-level folder when the root holds nothing else (a model registered from
// "outputs/model" keeps "model/").
fs::path NoCodeModelDir(const fs::path& materialized);

}  // namespace gantry::deploy

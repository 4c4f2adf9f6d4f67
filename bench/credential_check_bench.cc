// What the credential check adds to a request: the steps Api::Check runs in front of every
// route, timed alone on the real services (SQLite in memory): a person's token (SHA-256 and
// a map lookup), a run's token (the same against the run's cached hash), and the policy.
// The baseline is the request the check sits in front of: POST /runs/NAME/metrics with a
// 1,000-point batch through Api::Handle, check included.
//
//   build/bench/credential_check_bench
#include <chrono>
#include <cstdio>

#include "api/api.h"
#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "workspace/testing/fake_deployment_runtime.h"

using namespace gantry;

template <typename F>
double NanosPerCall(int n, F&& f) {
  auto t = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count() / n;
}

int main() {
  fs::path dir = *MakeTempDir("gantry-auth-bench");
  FakeClock clock;
  auto store = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
  auto blobs = std::move(*artifacts::LocalBlobStore::Open(dir / "blobs"));
  workspace::RunService runs(store.get(), blobs.get(), &clock);
  workspace::AccessService access(store.get(), &clock);
  workspace::ModelService models(store.get(), blobs.get(), &clock);
  workspace::DatasetService datasets(store.get(), blobs.get(), nullptr, &clock);
  workspace::ComputeService computes(store.get(), &clock, 1);
  workspace::EnvironmentService environments(store.get(), &clock);
  workspace::testing::FakeDeploymentRuntime runtime;  // no endpoints are scored here
  workspace::EndpointService endpoints(store.get(), blobs.get(), &models, &environments, runtime,
                                       &clock, "/usr/bin");
  workspace::SweepService sweeps(&runs, &clock);
  api::Api api(api::ApiServices{.access = access,
                                .runs = runs,
                                .models = models,
                                .datasets = datasets,
                                .computes = computes,
                                .environments = environments,
                                .endpoints = endpoints,
                                .sweeps = sweeps,
                                .blobs = *blobs},
               {});
  std::string pat = access.CreateToken(workspace::Role::kContributor, "bench", 0, "")->secret;
  workspace::SubmitRequest submit;
  submit.spec.command = "true";
  std::string name = runs.Submit(submit)->name;
  std::string run_token = *runs.BeginLaunch(name);

  const auto route = workspace::RouteAccess::RunReport();
  double pat_ns = NanosPerCall(200000, [&] {
    auto who = access.Authenticate(pat);
    (void)workspace::Authorize(*who, workspace::RouteAccess::Read(), "");
  });
  double run_ns = NanosPerCall(200000, [&] {
    auto owner = runs.AuthenticateRunToken(run_token);
    (void)workspace::Authorize(workspace::Principal::Run(owner->run, owner->ended), route, name);
  });
  Json batch = {{"metrics", Json::array()}};
  for (int i = 0; i < 1000; ++i)
    batch["metrics"].push_back({{"key", "k" + std::to_string(i % 10)}, {"value", i}});
  std::string body = batch.dump();
  double request_ns = NanosPerCall(500, [&] {
    http::Request req;
    req.method = "POST";
    req.path = "/api/v1/runs/" + name + "/metrics";
    req.body = body;
    req.headers["authorization"] = "Bearer " + run_token;
    req.params.clear();
    (void)api.Handle(req);
  });
  std::printf("credential check, person's token: %8.0f ns\n", pat_ns);
  std::printf("credential check, run's token:    %8.0f ns\n", run_ns);
  std::printf("baseline: the 1,000-point metric POST it guards, check included: %8.0f ns\n",
              request_ns);
  std::printf("share of that request spent in the check: %.2f%%\n", 100.0 * run_ns / request_ns);
  fs::remove_all(dir);
  return 0;
}

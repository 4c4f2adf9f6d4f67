// RunJob end to end: real `bash -c` jobs against FakeRunServer.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <fstream>

#include "common/files.h"
#include "common/process.h"
#include "runner/runner.h"
#include "runner/testing/fake_run_server.h"

namespace gantry::runner {
namespace {

using testing::FakeRunServer;

class RunnerJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = FakeRunServer::Start("tok");
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
    auto dir = MakeTempDir("runner-job-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    // A blob cache private to the test (runners otherwise default to ~/.cache).
    ::setenv("GANTRY_BLOB_CACHE", (dir_ / "blob-cache").c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunnerOptions Options(const std::string& run) const {
    return RunnerOptions{.server_url = server_->url(),
                         .run_name = run,
                         .token = "tok",
                         .work_dir = dir_ / run,
                         .python_sdk_dir = GANTRY_PYTHON_SDK_DIR,
                         .grace_seconds = 1,
                         .server_wait_seconds = 30};
  }
  static Json Spec(const std::string& command, Json extra = Json::object()) {
    extra["command"] = command;
    return extra;
  }
  // Waits (bounded) for a killed process to be gone.
  static bool Gone(pid_t pid) {
    for (int i = 0; i < 2000 && ProcessAlive(pid); ++i) usleep(1000);
    return !ProcessAlive(pid);
  }

  std::unique_ptr<FakeRunServer> server_;
  fs::path dir_;
};

TEST_F(RunnerJobTest, ACompletedRunDeliversLogsMetricsTagsAndOutputs) {
  const std::string train = R"(import os, sys
from gantry import Run
run = Run.get_context()
for i in range(3):
    run.log("loss", 1.0 / (i + 1), step=i)
run.log("acc", 0.9)
run.tag("model", "tiny")
print("hello stdout", os.environ["GANTRY_RUN_ID"], os.environ["AZUREML_RUN_ID"])
print("hello stderr", file=sys.stderr)
print("lr", sys.argv[1])
with open(os.path.join(sys.argv[2], "model.txt"), "w") as f:
    f.write("weights")
with open("logs/train.log", "w") as f:
    f.write("custom log")
)";
  std::string snapshot = server_->PutTree({{"train.py", train}});
  server_->AddRun(
      "r1",
      Spec("python3 train.py ${{inputs.lr}} ${{outputs.model}}",
           {{"inputs", {{"lr", 0.5}}}, {"outputs", {{"model", {{"type", "uri_folder"}}}}}}),
      snapshot);

  EXPECT_EQ(RunJob(Options("r1")), 0);

  EXPECT_EQ(server_->StatusHistory("r1"),
            (std::vector<std::string>{"Starting", "Running", "Finalizing", "Completed"}));
  EXPECT_EQ(server_->LastStatusBody("r1")["exit_code"], 0);
  std::string log = server_->Log("r1");
  EXPECT_NE(log.find("hello stdout r1 r1\n"), std::string::npos) << log;
  EXPECT_NE(log.find("hello stderr\n"), std::string::npos) << log;
  EXPECT_NE(log.find("lr 0.5\n"), std::string::npos) << log;

  std::vector<Json> metrics = server_->Metrics("r1");
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(metrics[0]["key"], "loss");
  EXPECT_EQ(metrics[2]["step"], 2);
  EXPECT_EQ(metrics[3]["key"], "acc");
  EXPECT_FALSE(metrics[3].contains("step"));
  EXPECT_TRUE(metrics[3].contains("timestamp"));
  EXPECT_EQ(server_->Tags("r1"), (std::map<std::string, std::string>{{"model", "tiny"}}));

  auto artifacts = server_->Artifacts("r1");
  EXPECT_EQ(artifacts["outputs/model/model.txt"], "weights");
  EXPECT_EQ(artifacts["logs/train.log"], "custom log");
}

TEST_F(RunnerJobTest, AFailedCommandReportsItsExitCodeAndLastStderrLines) {
  server_->AddRun("r2", Spec("echo working; echo 'Traceback: boom' >&2; exit 3"));
  EXPECT_EQ(RunJob(Options("r2")), 1);
  EXPECT_EQ(server_->CurrentStatus("r2"), "Failed");
  Json body = server_->LastStatusBody("r2");
  EXPECT_EQ(body["exit_code"], 3);
  EXPECT_EQ(body["error"], "command exited with code 3:\nTraceback: boom");
  EXPECT_NE(server_->Log("r2").find("working\n"), std::string::npos);
  EXPECT_NE(server_->Log("r2").find("Traceback: boom\n"), std::string::npos);
}

TEST_F(RunnerJobTest, ACancelStopsEvenAJobThatIgnoresSigterm) {
  // Cancel once the job has shown (through its log) that it ignores SIGTERM.
  server_->OnLog([this](const std::string& run, const std::string& log) {
    if (log.find("ready") != std::string::npos) server_->RequestCancel(run);
  });
  server_->AddRun("r3", Spec("trap '' TERM; sleep 60 & echo $! > sleep.pid; echo ready; wait"));
  EXPECT_EQ(RunJob(Options("r3")), 1);
  EXPECT_EQ(server_->StatusHistory("r3"),
            (std::vector<std::string>{"Starting", "Running", "Canceled"}));
  auto pid = ReadFile(dir_ / "r3" / "wd" / "sleep.pid");
  ASSERT_TRUE(pid.has_value());
  EXPECT_TRUE(Gone(std::stoi(*pid)));
}

TEST_F(RunnerJobTest, LimitsTimeoutFailsTheRun) {
  server_->AddRun("r4", Spec("echo started; sleep 60", {{"limits", {{"timeout", 1}}}}));
  EXPECT_EQ(RunJob(Options("r4")), 1);
  EXPECT_EQ(server_->CurrentStatus("r4"), "Failed");
  EXPECT_EQ(server_->LastStatusBody("r4")["error"], "timed out after 1 s (limits.timeout)");
  EXPECT_EQ(server_->Log("r4"), "started\n");
}

TEST_F(RunnerJobTest, ANamedEnvironmentFailsTheRunBeforeAnythingStarts) {
  server_->AddRun("r5", Spec("echo never", {{"environment", "azureml:AzureML-x@latest"}}));
  EXPECT_EQ(RunJob(Options("r5")), 1);
  EXPECT_EQ(server_->StatusHistory("r5"), std::vector<std::string>{"Failed"});
  EXPECT_EQ(server_->LastStatusBody("r5")["error"],
            "environment 'azureml:AzureML-x@latest' is not available: named environments arrive "
            "with the environments feature; use the machine's python or a named interpreter");
  EXPECT_EQ(server_->Log("r5"), "");
}

TEST_F(RunnerJobTest, ANamedInterpreterBecomesPythonOnPath) {
  server_->AddRun("r6", Spec("python -c 'import sys; print(sys.version_info[0])'",
                             {{"environment", "python3"}}));
  EXPECT_EQ(RunJob(Options("r6")), 0);
  EXPECT_EQ(server_->Log("r6"), "3\n");
}

TEST_F(RunnerJobTest, InputsAreDownloadedAndSubstituted) {
  std::string folder = server_->PutTree({{"a.txt", "A"}, {"sub/b.txt", "B"}});
  std::string file = server_->PutTree({{"x.csv", "1,2"}});
  Json spec = Spec(
      "cat ${{inputs.data}}/a.txt ${{inputs.data}}/sub/b.txt ${{inputs.table}}; "
      "echo; echo ${{inputs.n}}",
      {{"inputs",
        {{"data", {{"type", "uri_folder"}, {"path", "./data"}}},
         {"table", {{"type", "uri_file"}, {"path", "./x.csv"}}},
         {"n", 7}}}});
  server_->AddRun("r7", spec, "", {{"data", folder}, {"table", file}});
  EXPECT_EQ(RunJob(Options("r7")), 0);
  EXPECT_EQ(server_->Log("r7"), "AB1,2\n7\n");
}

TEST_F(RunnerJobTest, ASecondRunOnTheNodeTakesInputsFromTheBlobCache) {
  std::string folder = server_->PutTree({{"a.txt", "A"}, {"b.txt", "B"}});
  auto blob_gets = std::make_shared<std::atomic<int>>(0);
  server_->OnRequest([blob_gets](const std::string& method, const std::string& path) {
    if (method == "GET" && path.starts_with("/api/v1/blobs/")) ++*blob_gets;
  });
  Json spec = Spec("cat ${{inputs.data}}/a.txt ${{inputs.data}}/b.txt",
                   {{"inputs", {{"data", {{"type", "uri_folder"}, {"path", "./data"}}}}}});
  server_->AddRun("c1", spec, "", {{"data", folder}});
  EXPECT_EQ(RunJob(Options("c1")), 0);
  int first = blob_gets->load();
  EXPECT_EQ(first, 2);
  server_->AddRun("c2", spec, "", {{"data", folder}});
  EXPECT_EQ(RunJob(Options("c2")), 0);
  EXPECT_EQ(blob_gets->load(), first);  // nothing fetched again
  EXPECT_EQ(server_->Log("c2"), "AB");
}

TEST_F(RunnerJobTest, AServerAwayForAWhileLosesNothing) {
  // Once the job runs, the next three requests find the server away.
  auto outage = std::make_shared<std::atomic<int>>(0);
  server_->OnStatus([this, outage](const std::string&, const std::string& status) {
    if (status != "Running") return;
    server_->SetUnavailable(
        [outage](const std::string&, const std::string&) { return outage->fetch_add(1) < 3; });
  });
  server_->AddRun("r8",
                  Spec("for i in 1 2 3; do echo line $i; done; "
                       "python3 -c 'from gantry import Run; Run.get_context().log(\"m\", 1)'"));
  EXPECT_EQ(RunJob(Options("r8")), 0);
  EXPECT_EQ(server_->UnavailableAnswers(), 3);
  EXPECT_EQ(server_->Log("r8"), "line 1\nline 2\nline 3\n");
  EXPECT_EQ(server_->Metrics("r8").size(), 1u);
  EXPECT_EQ(server_->StatusHistory("r8"),
            (std::vector<std::string>{"Starting", "Running", "Finalizing", "Completed"}));
}

TEST_F(RunnerJobTest, BackgroundProcessesDoNotOutliveTheJob) {
  server_->AddRun("r9", Spec("sleep 60 & echo $! > bg.pid; echo done"));
  EXPECT_EQ(RunJob(Options("r9")), 0);
  auto pid = ReadFile(dir_ / "r9" / "wd" / "bg.pid");
  ASSERT_TRUE(pid.has_value());
  EXPECT_TRUE(Gone(std::stoi(*pid)));
  EXPECT_EQ(server_->Log("r9"), "done\n");
}

TEST_F(RunnerJobTest, AWrongTokenStopsTheRunner) {
  server_->AddRun("r10", Spec("echo hi"));
  RunnerOptions options = Options("r10");
  options.token = "wrong";
  EXPECT_EQ(RunJob(options), 1);
  EXPECT_TRUE(server_->StatusHistory("r10").empty());
}

TEST_F(RunnerJobTest, ARunCanceledBeforeTheRunnerStartedIsNotLaunched) {
  server_->AddRun("r11", Spec("echo never"), "", Json::object(), "CancelRequested");
  EXPECT_EQ(RunJob(Options("r11")), 1);
  EXPECT_EQ(server_->StatusHistory("r11"), std::vector<std::string>{"Canceled"});
  EXPECT_EQ(server_->Log("r11"), "");
}

// A cancel that lands while the runner downloads the snapshot: the command never starts,
// whether the server refuses the Starting report (412, per the REST contract) or takes it
// quietly (as the workspace server does while a cancel is pending).
class CancelDuringPreparationTest : public RunnerJobTest,
                                    public ::testing::WithParamInterface<bool> {};

TEST_P(CancelDuringPreparationTest, TheCommandNeverStarts) {
  server_->SetQuietWhileCancelRequested(GetParam());
  std::string snapshot = server_->PutTree({{"a.txt", "A"}});
  server_->OnRequest([this](const std::string& method, const std::string& path) {
    if (method == "GET" && path.starts_with("/api/v1/trees/")) server_->RequestCancel("r14");
  });
  server_->AddRun("r14", Spec("echo started > started.txt"), snapshot);
  EXPECT_EQ(RunJob(Options("r14")), 1);
  EXPECT_EQ(server_->CurrentStatus("r14"), "Canceled");
  EXPECT_EQ(server_->StatusHistory("r14").back(), "Canceled");
  EXPECT_FALSE(fs::exists(dir_ / "r14" / "wd" / "started.txt"));
}

INSTANTIATE_TEST_SUITE_P(StrictAndQuietServers, CancelDuringPreparationTest, ::testing::Bool());

TEST_F(RunnerJobTest, SigtermToTheRunnerStopsTheJobAndFailsTheRun) {
  server_->OnLog([](const std::string&, const std::string& log) {
    if (log.find("ready") != std::string::npos) ::kill(::getpid(), SIGTERM);
  });
  server_->AddRun("r15", Spec("echo ready; sleep 60"));
  EXPECT_EQ(RunJob(Options("r15")), 1);
  EXPECT_EQ(server_->CurrentStatus("r15"), "Failed");
  EXPECT_EQ(server_->LastStatusBody("r15")["error"],
            "the runner was stopped by signal 15 (Terminated)");
}

TEST_F(RunnerJobTest, LargeOutputArrivesWhole) {
  server_->AddRun("r12", Spec("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo end >&2"));
  EXPECT_EQ(RunJob(Options("r12")), 0);
  std::string log = server_->Log("r12");
  EXPECT_EQ(log.size(), 3000005u);
  EXPECT_EQ(log.find_first_not_of('x'), 3000000u);
}

TEST_F(RunnerJobTest, StderrThatIsNotUtf8StillMakesAnErrorMessage) {
  server_->AddRun("r13", Spec("printf 'bad \\377\\376 bytes\\n' >&2; exit 2"));
  EXPECT_EQ(RunJob(Options("r13")), 1);
  EXPECT_EQ(server_->CurrentStatus("r13"), "Failed");
  std::string error = server_->LastStatusBody("r13")["error"];
  EXPECT_EQ(error.rfind("command exited with code 2:\nbad ", 0), 0u) << error;
}

TEST_F(RunnerJobTest, ADaemonThatLeftTheJobsSessionEndsWithTheRun) {
  fs::path pid_file = dir_ / "daemon.pid";
  // A double fork into a session of its own, with its output elsewhere: neither the job's
  // process group nor its session nor its pipes lead to it.
  server_->AddRun("d1", Spec("(setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > " +
                             pid_file.string() + "); echo started"));
  EXPECT_EQ(RunJob(Options("d1")), 0);
  EXPECT_EQ(server_->CurrentStatus("d1"), "Completed");
  pid_t daemon = 0;
  std::ifstream(pid_file) >> daemon;
  ASSERT_GT(daemon, 0);
  EXPECT_FALSE(ProcessAlive(daemon));  // killed and reaped before RunJob returned
}

}  // namespace
}  // namespace gantry::runner

#include "compute/slurm_backend.h"

#include <gtest/gtest.h>

namespace gantry::compute {
namespace {

bool Has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(SlurmBackendTest, ScriptCarriesTheShapeAndTheTargetsSettings) {
  LaunchRequest r{"run7", "secret-token", "http://10.0.0.1:8765", "/srv/ws/runs/run7", {}};
  r.placement.cpus = 4;
  r.placement.gpus = 2;
  r.placement.memory_gb = 1.5;
  r.placement.timeout_seconds = 3600;
  r.placement.partition = "gpu";
  r.placement.account = "ml";
  r.placement.qos = "high";
  r.placement.extra_args = {"--constraint=a100"};
  r.placement.node_work_root = "/scratch";
  std::string s = BuildSbatchScript(r, "/opt/gantry/bin/gantry");
  for (const char* d :
       {"#SBATCH --job-name=gantry-run7\n", "#SBATCH --nodes=1\n", "#SBATCH --ntasks-per-node=1\n",
        "#SBATCH --cpus-per-task=4\n", "#SBATCH --gres=gpu:2\n", "#SBATCH --mem=1536M\n",
        "#SBATCH --time=70\n", "#SBATCH --partition=gpu\n", "#SBATCH --account=ml\n",
        "#SBATCH --qos=high\n", "#SBATCH --constraint=a100\n",
        "#SBATCH --output=/scratch/gantry-run7.slurm-%j.out\n"}) {
    EXPECT_TRUE(Has(s, d)) << d << " missing from:\n" << s;
  }
  EXPECT_TRUE(Has(s,
                  "srun --nodes=1 --ntasks=1 --ntasks-per-node=1 --kill-on-bad-exit=1 "
                  "'/opt/gantry/bin/gantry' runner --server 'http://10.0.0.1:8765' --run 'run7' "
                  "--work-dir '/scratch/gantry-run7' --no-report-on-signal\n"))
      << s;
  EXPECT_FALSE(Has(s, "secret-token")) << "the token must not be written into the script";
  EXPECT_EQ(s.rfind("#!/bin/bash\n", 0), 0u);
}

TEST(SlurmBackendTest, RunnersOfAnHttpsServerVerifyItWithTheCaFile) {
  LaunchRequest r{"run7", "t", "https://gantry.lab:8765", "/w", {}};
  r.ca_file = "/shared/gantry ca.pem";
  std::string s = BuildSbatchScript(r, "/g");
  EXPECT_TRUE(Has(s, "runner --server 'https://gantry.lab:8765' --run 'run7' ")) << s;
  EXPECT_TRUE(Has(s, "--no-report-on-signal --ca-file '/shared/gantry ca.pem'\n")) << s;
}

TEST(SlurmBackendTest, MultiNodeJobsRunOneRunnerPerNodeWithItsRank) {
  LaunchRequest r{"run9", "t", "http://h:1", "/w", {}};
  r.placement.nodes = 3;
  r.placement.cpus = 2;
  std::string s = BuildSbatchScript(r, "/g");
  EXPECT_TRUE(Has(s, "#SBATCH --nodes=3\n#SBATCH --ntasks-per-node=1\n#SBATCH --cpus-per-task=2\n"))
      << s;
  EXPECT_TRUE(Has(
      s, "exec srun --nodes=3 --ntasks=3 --ntasks-per-node=1 --kill-on-bad-exit=1 '/g' runner "))
      << s;
  EXPECT_TRUE(Has(s, " --node-count 3 --node-rank-from-env SLURM_NODEID\n")) << s;
}

TEST(SlurmBackendTest, ParsesSqueueLinesByJob) {
  auto jobs = ParseSqueue(
      "12|PENDING|Resources|\n13|RUNNING|None|node[1-2]\nsqueue: warning\n\n"
      "14|COMPLETED|None|node1\n");
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs["12"]["Reason"], "Resources");
  EXPECT_EQ(ClassifySlurmJob("12", jobs["12"]).detail, "Slurm job 12 pending: Resources");
  EXPECT_EQ(ClassifySlurmJob("13", jobs["13"]).state, RunnerState::kRunning);
  EXPECT_EQ(jobs["13"]["NodeList"], "node[1-2]");
  EXPECT_EQ(ClassifySlurmJob("14", jobs["14"]).state, RunnerState::kGone);
  EXPECT_TRUE(ParseSqueue("").empty());
}

TEST(SlurmBackendTest, ScriptLeavesOutWhatIsNotAsked) {
  LaunchRequest r{"run8", "t", "http://h:1", "/w", {}};
  std::string s = BuildSbatchScript(r, "/g");
  for (const char* d :
       {"--gres", "--time", "--partition", "--account", "--qos", "--mem", "--cpus-per-task"}) {
    EXPECT_FALSE(Has(s, d)) << d;
  }
  EXPECT_TRUE(Has(s, "#SBATCH --output=/tmp/gantry-run8.slurm-%j.out\n")) << s;
}

TEST(SlurmBackendTest, TimeLimitAddsAMarginInWholeMinutes) {
  EXPECT_EQ(SlurmTimeLimit(0), "");
  EXPECT_EQ(SlurmTimeLimit(1), "11");
  EXPECT_EQ(SlurmTimeLimit(60), "11");
  EXPECT_EQ(SlurmTimeLimit(61), "12");
}

TEST(SlurmBackendTest, ParsesSbatchParsable) {
  EXPECT_EQ(*ParseSbatchJobId("12\n"), "12");
  EXPECT_EQ(*ParseSbatchJobId("345;cluster1\n"), "345");
  EXPECT_EQ(*ParseSbatchJobId("sbatch: warning: something\n77\n"), "77");
  EXPECT_FALSE(ParseSbatchJobId("").has_value());
  EXPECT_FALSE(ParseSbatchJobId("sbatch: error: Batch job submission failed").has_value());
}

constexpr char kPending[] =
    "JobId=5 JobName=gantry-run9 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901756 "
    "Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=Resources Dependency=(null) "
    "Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED "
    "NodeList=(null) NumNodes=1 NumCPUs=8 NumTasks=1 CPUs/Task=8 ReqB:S:C:T=0:0:*:* "
    "Command=/tmp/my runs/slurm.sh WorkDir=/tmp/my runs StdOut=/tmp/gantry-run9.slurm-5.out\n";

TEST(SlurmBackendTest, ParsesScontrolIncludingValuesWithSpaces) {
  auto f = ParseScontrolJob(kPending);
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  EXPECT_EQ(f->at("JobState"), "PENDING");
  EXPECT_EQ(f->at("Reason"), "Resources");
  EXPECT_EQ(f->at("CPUs/Task"), "8");
  EXPECT_EQ(f->at("Command"), "/tmp/my runs/slurm.sh");
  EXPECT_EQ(f->at("WorkDir"), "/tmp/my runs");
  EXPECT_FALSE(ParseScontrolJob("slurm_load_jobs error: Invalid job id specified").has_value());
}

TEST(SlurmBackendTest, ClassifiesStates) {
  auto pending = ClassifySlurmJob("5", *ParseScontrolJob(kPending));
  EXPECT_EQ(pending.state, RunnerState::kPending);
  EXPECT_EQ(pending.detail, "Slurm job 5 pending: Resources");

  auto running =
      ClassifySlurmJob("5", {{"JobState", "RUNNING"}, {"Reason", "None"}, {"NodeList", "node2"}});
  EXPECT_EQ(running.state, RunnerState::kRunning);
  EXPECT_EQ(running.detail, "Slurm job 5 running on node2");
  EXPECT_EQ(ClassifySlurmJob("5", {{"JobState", "COMPLETING"}}).state, RunnerState::kRunning);

  auto canceled =
      ClassifySlurmJob("5", {{"JobState", "CANCELLED"}, {"Reason", "None"}, {"ExitCode", "0:15"}});
  EXPECT_EQ(canceled.state, RunnerState::kGone);
  EXPECT_EQ(canceled.detail, "Slurm job 5 ended as CANCELLED, exit code 0:15");
  auto node_fail = ClassifySlurmJob("6", {{"JobState", "NODE_FAIL"}, {"Reason", "NodeDown"}});
  EXPECT_EQ(node_fail.detail, "Slurm job 6 ended as NODE_FAIL (reason: NodeDown)");
  EXPECT_EQ(ClassifySlurmJob("7", {{"JobState", "TIMEOUT"}}).state, RunnerState::kGone);
}

}  // namespace
}  // namespace gantry::compute

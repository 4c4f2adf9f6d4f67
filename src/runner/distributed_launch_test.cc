#include "runner/distributed_launch.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>

#include "common/files.h"
#include "common/process.h"

namespace gantry::runner {
namespace {

jobs::DistributionPlan MpiPlan(int64_t instances, int64_t per_instance) {
  jobs::DistributionPlan plan;
  plan.type = jobs::DistributionPlan::Type::kMpi;
  plan.instance_count = instances;
  plan.processes_per_instance = per_instance;
  return plan;
}

TEST(DistributedLaunchTest, LocalInstancesAreAllLoopback) {
  EXPECT_EQ(LocalHosts(MpiPlan(3, 1)),
            (std::vector<std::string>{"127.0.0.1", "127.0.0.1", "127.0.0.1"}));
}

TEST(DistributedLaunchTest, HostFileLinesOfOneHostAreMergedWithTheirSlotsSummed) {
  auto plan = MpiPlan(2, 2);
  EXPECT_EQ(MergeHostFile(jobs::MpiHostFile(plan, LocalHosts(plan))), "127.0.0.1 slots=4\n");
  EXPECT_EQ(MergeHostFile("a slots=2\nb slots=1\na slots=3\n\n"), "a slots=5\nb slots=1\n");
}

TEST(DistributedLaunchTest, FreePortsAreConsecutiveAndBindable) {
  auto base = FindFreePorts(4);
  ASSERT_TRUE(base.has_value()) << base.error().ToString();
  EXPECT_GT(*base, 0);
  EXPECT_LE(*base + 3, 65535);
}

TEST(DistributedLaunchTest, MpirunGetsTheHostFileWorldSizeAndExportsButNotOpenMpisOwnVariables) {
  auto argv = MpiCommand(
      MpiPlan(2, 2), {.mpirun = "/usr/bin/mpirun",
                      .host_file = "/w/hostfile",
                      .rank_dir = "/w/ranks",
                      .shell = "/bin/bash",
                      .command = "python train.py",
                      .as_root = true,
                      .cpus = 2,
                      .export_names = {"GANTRY_RUN_ID", "OMPI_MCA_btl", "BASH_FUNC_f%%", "PATH"}});
  auto has = [&](const std::vector<std::string>& seq) {
    return std::search(argv.begin(), argv.end(), seq.begin(), seq.end()) != argv.end();
  };
  EXPECT_EQ(argv.front(), "/usr/bin/mpirun");
  EXPECT_TRUE(has({"--hostfile", "/w/hostfile", "-np", "4"}));
  EXPECT_TRUE(has({"--allow-run-as-root"}));
  EXPECT_TRUE(has({"--oversubscribe"}));  // 4 ranks, 2 CPUs
  EXPECT_TRUE(has({"-x", "GANTRY_RUN_ID"}));
  EXPECT_TRUE(has({"-x", "PATH"}));
  EXPECT_FALSE(has({"-x", "OMPI_MCA_btl"}));
  EXPECT_FALSE(has({"-x", "BASH_FUNC_f%%"}));
  // The job's command is passed as one argument, after the wrapper.
  EXPECT_EQ(argv[argv.size() - 5], "python train.py");
  EXPECT_EQ(argv[argv.size() - 4], "2");
  EXPECT_EQ(argv[argv.size() - 3], "2");
  EXPECT_EQ(argv[argv.size() - 2], "");  // every rank on this machine

  auto plain = MpiCommand(MpiPlan(1, 2), {.mpirun = "mpirun", .shell = "/bin/bash", .cpus = 8});
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--allow-run-as-root"), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--oversubscribe"), plain.end());
}

TEST(DistributedLaunchTest, TheRankWrapperRedirectsSetsRanksAndRecordsTheExitCode) {
  // Runs the wrapper as mpirun would for rank 3 of 2 x 2, without mpirun.
  auto dir = MakeTempDir("distributed-launch-test");
  ASSERT_TRUE(dir.has_value());
  auto argv =
      MpiCommand(MpiPlan(2, 2), {.mpirun = "mpirun",
                                 .rank_dir = *dir,
                                 .shell = "/bin/bash",
                                 .command = "echo rank=$GANTRY_RANK node=$GANTRY_NODE_RANK "
                                            "local=$GANTRY_LOCAL_RANK world=$GANTRY_WORLD_SIZE; "
                                            "echo bad >&2; exit 7"});
  auto shell = std::find(argv.begin(), argv.end(), "/bin/bash");
  ASSERT_NE(shell, argv.end());
  std::vector<std::string> wrapper(shell, argv.end());
  auto env = CurrentEnvironment();
  env["OMPI_COMM_WORLD_RANK"] = "3";
  env["OMPI_COMM_WORLD_SIZE"] = "4";
  auto pid = Spawn({.argv = wrapper, .env = env});
  ASSERT_TRUE(pid.has_value()) << pid.error().ToString();
  EXPECT_EQ(WaitFor(*pid).code, 7);
  EXPECT_EQ(ReadFile(MpiRankPipe(*dir, 3, false)).value_or(""), "rank=3 node=1 local=1 world=4\n");
  EXPECT_EQ(ReadFile(MpiRankPipe(*dir, 3, true)).value_or(""), "bad\n");
  auto exits = ReadMpiExits(*dir, 4);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].rank, 3);
  EXPECT_EQ(exits[0].code, 7);
  EXPECT_GT(exits[0].ended_at, 0);
  fs::remove_all(*dir);
}

TEST(DistributedLaunchTest, InASlurmAllocationRanksGoPerNodeAndRunInTheirNodesFolder) {
  // Two node folders as two runners left them; the wrapper for rank 3 (node 1) runs without
  // mpirun.
  auto root = MakeTempDir("distributed-launch-test");
  ASSERT_TRUE(root.has_value());
  for (const char* node : {"node_0", "node_1"}) {
    ASSERT_TRUE(MakeDirs(*root / node / "wd").ok());
    ASSERT_TRUE(MakeDirs(*root / node / "ranks").ok());
  }
  ASSERT_TRUE(WriteFileAtomic(*root / "node_1" / "rank.env",
                              RankEnvironmentFile({{"WHERE", "node one's 'env'"},
                                                   {"OMPI_COMM_WORLD_RANK", "99"},
                                                   {"SLURM_PROCID", "1"},
                                                   {"BASH_FUNC_f%%", "x"}}))
                  .ok());
  const std::string leader = (*root / "node_0").string();
  auto argv = MpiCommand(
      MpiPlan(2, 2),
      {.mpirun = "mpirun",
       .in_allocation = true,
       .shell = "/bin/bash",
       .command = "echo rank=$GANTRY_RANK node=$GANTRY_NODE_RANK in=$(basename $(dirname $PWD)) "
                  "where=\"$WHERE\" input=" +
                  leader + "/inputs/x",
       .node_dir_template = (*root / "node_@NODE@").string(),
       .leader_node_dir = leader});
  auto has = [&](const std::vector<std::string>& seq) {
    return std::search(argv.begin(), argv.end(), seq.begin(), seq.end()) != argv.end();
  };
  EXPECT_TRUE(has({"mpirun", "--map-by", "ppr:2:node", "--oversubscribe", "-np", "4"}));
  EXPECT_FALSE(has({"--hostfile"}));
  auto shell = std::find(argv.begin(), argv.end(), "/bin/bash");
  ASSERT_NE(shell, argv.end());
  auto env = CurrentEnvironment();
  env["OMPI_COMM_WORLD_RANK"] = "3";
  env["OMPI_COMM_WORLD_SIZE"] = "4";
  auto pid = Spawn({.argv = std::vector<std::string>(shell, argv.end()), .env = env});
  ASSERT_TRUE(pid.has_value()) << pid.error().ToString();
  EXPECT_EQ(WaitFor(*pid).code, 0);
  EXPECT_EQ(ReadFile(MpiRankPipe(*root / "node_1" / "ranks", 3, false)).value_or(""),
            "rank=3 node=1 in=node_1 where=node one's 'env' input=" + (*root / "node_1").string() +
                "/inputs/x\n");
  ASSERT_EQ(ReadMpiExits(*root / "node_1" / "ranks", 4).size(), 1u);
  fs::remove_all(*root);
}

TEST(DistributedLaunchTest, TheFirstRealFailureIsReportedBeforeRanksThatWereStopped) {
  EXPECT_FALSE(FirstMpiFailure({{0, 0, 1.0}, {1, 0, 2.0}}).has_value());
  auto f = FirstMpiFailure({{0, 143, 1.0}, {1, 0, 0.5}, {2, 3, 2.0}, {3, 1, 3.0}});
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->rank, 2);
  auto only_stopped = FirstMpiFailure({{1, 137, 2.0}, {0, 143, 1.0}});
  ASSERT_TRUE(only_stopped.has_value());
  EXPECT_EQ(only_stopped->rank, 0);
}

}  // namespace
}  // namespace gantry::runner

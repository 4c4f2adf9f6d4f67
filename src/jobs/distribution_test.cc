#include "jobs/distribution.h"

#include <gtest/gtest.h>

namespace gantry::jobs {
namespace {

using Type = DistributionPlan::Type;

TEST(DistributionTest, NoDistributionIsOneProcessPerInstance) {
  auto plan = PlanDistribution(nullptr, nullptr);
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(plan->world_size(), 1);
  EXPECT_FALSE(plan->distributed());
  auto three = PlanDistribution(Json{{"instance_count", 3}, {"instance_type", "x"}}, nullptr);
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(three->world_size(), 3);
  EXPECT_EQ(Processes(*three).size(), 3u);
}

TEST(DistributionTest, PyTorchTwoByTwoGetsTorchrunsVariables) {
  auto plan = PlanDistribution(Json{{"instance_count", 2}},
                               Json{{"type", "pytorch"}, {"process_count_per_instance", "2"}});
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  EXPECT_EQ(plan->type, Type::kPyTorch);
  auto procs = Processes(*plan);
  ASSERT_EQ(procs.size(), 4u);
  EXPECT_EQ(procs[3], (ProcessSlot{3, 1, 1, "", 0}));
  auto env = ProcessEnvironment(*plan, procs[3], {"10.0.0.1", "10.0.0.2"}, 29500);
  EXPECT_EQ(env["MASTER_ADDR"], "10.0.0.1");
  EXPECT_EQ(env["MASTER_PORT"], "29500");
  EXPECT_EQ(env["WORLD_SIZE"], "4");
  EXPECT_EQ(env["RANK"], "3");
  EXPECT_EQ(env["LOCAL_RANK"], "1");
  EXPECT_EQ(env["NODE_RANK"], "1");
  EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "2");
  EXPECT_EQ(env["GANTRY_RANK"], "3");
  EXPECT_EQ(env.count("TF_CONFIG"), 0u);
}

TEST(DistributionTest, TensorFlowWorkersAndParameterServersGetTheirOwnTasks) {
  auto plan = PlanDistribution(
      Json{{"instance_count", 3}},
      Json{{"type", "tensorflow"}, {"worker_count", 2}, {"parameter_server_count", 1}});
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  auto procs = Processes(*plan);
  // ParameterServerStrategy needs a chief (its coordinator) besides the workers and servers.
  ASSERT_EQ(procs.size(), 4u);
  EXPECT_EQ(plan->world_size(), 4);
  EXPECT_TRUE(EndsWithChief(*plan));
  std::vector<std::string> hosts = {"h0", "h1", "h2"};
  Json chief = Json::parse(ProcessEnvironment(*plan, procs[0], hosts, 2222)["TF_CONFIG"]);
  EXPECT_EQ(chief["cluster"]["chief"], Json({"h0:2222"}));
  EXPECT_EQ(chief["task"], Json({{"type", "chief"}, {"index", 0}}));
  Json w1 = Json::parse(ProcessEnvironment(*plan, procs[2], hosts, 2222)["TF_CONFIG"]);
  EXPECT_EQ(w1["cluster"]["worker"], Json({"h1:2223", "h2:2224"}));
  EXPECT_EQ(w1["cluster"]["ps"], Json({"h0:2225"}));  // wraps round to the first instance
  EXPECT_EQ(w1["task"], Json({{"type", "worker"}, {"index", 1}}));
  EXPECT_EQ(w1["environment"], "cloud");
  Json ps = Json::parse(ProcessEnvironment(*plan, procs[3], hosts, 2222)["TF_CONFIG"]);
  EXPECT_EQ(ps["task"], Json({{"type", "ps"}, {"index", 0}}));
  EXPECT_EQ(procs[3].node_rank, 0);

  // Worker-only: no "ps" key; worker_count defaults to instance_count.
  auto workers = PlanDistribution(Json{{"instance_count", 2}}, Json{{"type", "tensorflow"}});
  ASSERT_TRUE(workers.has_value());
  Json w0 = Json::parse(
      ProcessEnvironment(*workers, Processes(*workers)[0], {"a", "b"}, 100)["TF_CONFIG"]);
  EXPECT_FALSE(w0["cluster"].contains("ps"));
  EXPECT_FALSE(w0["cluster"].contains("chief"));
  EXPECT_FALSE(EndsWithChief(*workers));
  EXPECT_EQ(w0["cluster"]["worker"].size(), 2u);
}

TEST(DistributionTest, MpiHostFileHasSlotsPerInstance) {
  auto plan = PlanDistribution(Json{{"instance_count", 2}},
                               Json{{"type", "mpi"}, {"process_count_per_instance", 3}});
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(MpiHostFile(*plan, {"n1", "n2"}), "n1 slots=3\nn2 slots=3\n");
  EXPECT_EQ(plan->world_size(), 6);
}

TEST(DistributionTest, OutputsComeFromRankZeroUnlessAllNodesAreAskedFor) {
  EXPECT_FALSE(PlanDistribution(nullptr, Json{{"type", "mpi"}})->outputs_from_all_nodes);
  EXPECT_FALSE(PlanDistribution(nullptr, Json{{"type", "mpi"}, {"outputs_from", "rank_0"}})
                   ->outputs_from_all_nodes);
  EXPECT_TRUE(PlanDistribution(nullptr, Json{{"type", "tensorflow"}, {"outputs_from", "all_nodes"}})
                  ->outputs_from_all_nodes);
}

TEST(DistributionTest, BadFieldsAreNamed) {
  struct Case {
    Json resources, distribution;
    std::string expect;
  };
  std::vector<Case> cases = {
      {Json{{"instance_count", 0}}, nullptr, "resources.instance_count"},
      {Json{{"instance_count", "two"}}, nullptr, "resources.instance_count"},
      {nullptr, Json{{"type", "horovod"}}, "horovod"},
      {nullptr, Json{{"process_count_per_instance", 2}}, "distribution.type"},
      {nullptr, Json{{"type", "mpi"}, {"process_count_per_instance", -1}},
       "distribution.process_count_per_instance"},
      {nullptr, Json{{"type", "pytorch"}, {"worker_count", 2}}, "distribution.worker_count"},
      {Json{{"instance_count", 4}}, Json{{"type", "tensorflow"}, {"worker_count", 2}},
       "instance_count 4"},
      {nullptr, Json{{"type", "pytorch"}, {"outputs_from", "rank_1"}}, "distribution.outputs_from"},
  };
  for (const auto& c : cases) {
    auto plan = PlanDistribution(c.resources, c.distribution);
    ASSERT_FALSE(plan.has_value()) << c.expect;
    EXPECT_EQ(plan.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(plan.error().message().find(c.expect), std::string::npos) << plan.error().message();
  }
}

}  // namespace
}  // namespace gantry::jobs

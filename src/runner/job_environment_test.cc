#include "runner/job_environment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/files.h"
#include "common/process.h"

namespace gantry::runner {
namespace {

class JobEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("job-env-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A fake interpreter: prints its arguments.
  fs::path MakeProgram(const fs::path& path) {
    EXPECT_TRUE(MakeDirs(path.parent_path()).ok());
    EXPECT_TRUE(WriteFileAtomic(path, "#!/bin/sh\necho \"fake $*\"\n").ok());
    fs::permissions(path, fs::perms(0755));
    return path;
  }

  fs::path dir_;
};

TEST_F(JobEnvironmentTest, EmptyMeansTheMachinesPython) {
  auto r = ResolveInterpreter("", "/usr/bin", dir_);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->has_value());
}

TEST_F(JobEnvironmentTest, NamedEnvironmentsAreNotAvailableYet) {
  auto r = ResolveInterpreter("azureml:AzureML-x@latest", "/usr/bin", dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.error().message(),
            "environment 'azureml:AzureML-x@latest' is not available: named environments arrive "
            "with the environments feature; use the machine's python or a named interpreter");
}

TEST_F(JobEnvironmentTest, FindsABareNameOnPath) {
  fs::path py = MakeProgram(dir_ / "b" / "python3.11");
  std::string path_env = (dir_ / "a").string() + ":" + (dir_ / "b").string();
  auto r = ResolveInterpreter("python3.11", path_env, dir_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(**r, py);
}

TEST_F(JobEnvironmentTest, AMissingInterpreterIsNamed) {
  auto r = ResolveInterpreter("python3.99", dir_.string(), dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("'python3.99'"), std::string::npos);
  r = ResolveInterpreter("python:/no/such/python", "", dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("/no/such/python"), std::string::npos);
  r = ResolveInterpreter("/no/such/python", "", dir_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("/no/such/python"), std::string::npos);
}

TEST_F(JobEnvironmentTest, PythonFormAcceptsPathsRelativeToTheWorkingFolder) {
  fs::path py = MakeProgram(dir_ / ".venv" / "bin" / "python");
  auto r = ResolveInterpreter("python:.venv/bin/python", "", dir_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(**r, py);
  // Without the python: form a relative path is taken for a name.
  EXPECT_FALSE(ResolveInterpreter(".venv/bin/python", "", dir_).has_value());
}

TEST_F(JobEnvironmentTest, LaunchersRunTheInterpreterAsPythonAndPython3) {
  fs::path py = MakeProgram(dir_ / "interp" / "py");
  auto dirs = InstallInterpreterLaunchers(dir_ / "bin", py);
  ASSERT_TRUE(dirs.has_value()) << dirs.error().ToString();
  EXPECT_EQ(*dirs, std::vector<fs::path>{dir_ / "bin"});
  for (const char* name : {"python", "python3"}) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    auto env = CurrentEnvironment();
    env["PATH"] = (dir_ / "bin").string() + ":/usr/bin:/bin";
    auto pid = Spawn(
        {.argv = {"sh", "-c", std::string(name) + " -c 'x y'"}, .env = env, .stdout_fd = fds[1]});
    ::close(fds[1]);
    ASSERT_TRUE(pid.has_value());
    char buf[128] = {};
    ssize_t n = ::read(fds[0], buf, sizeof(buf) - 1);
    ::close(fds[0]);
    EXPECT_EQ(WaitFor(*pid).code, 0);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "fake -c x y\n") << name;
  }
}

TEST_F(JobEnvironmentTest, AVirtualenvsBinFolderGoesOnPathToo) {
  fs::path py = MakeProgram(dir_ / "venv" / "bin" / "python");
  ASSERT_TRUE(WriteFileAtomic(dir_ / "venv" / "pyvenv.cfg", "home = /usr/bin\n").ok());
  auto dirs = InstallInterpreterLaunchers(dir_ / "bin", py);
  ASSERT_TRUE(dirs.has_value());
  EXPECT_EQ(*dirs, (std::vector<fs::path>{dir_ / "bin", dir_ / "venv" / "bin"}));
}

TEST(BuildJobEnvironmentTest, SetsRunVariablesAndPrefixesPaths) {
  JobContext c{.run_id = "calm_river",
               .server_url = "http://127.0.0.1:1",
               .token = "tok",
               .ca_file = "/etc/gantry/ca.pem",
               .experiment_name = "exp",
               .metrics_file = "/w/metrics.jsonl",
               .outputs_dir = "/w/wd/outputs",
               .path_prefix = {"/w/bin"},
               .python_sdk_dir = "/sdk",
               .user_variables = {{"LR", "0.1"}, {"GANTRY_URL", "user-wins"}}};
  auto env = BuildJobEnvironment({{"PATH", "/usr/bin"}, {"PYTHONPATH", "/old"}, {"HOME", "/h"}}, c);
  EXPECT_EQ(env["PATH"], "/w/bin:/usr/bin");
  EXPECT_EQ(env["PYTHONPATH"], "/sdk:/old");
  EXPECT_EQ(env["HOME"], "/h");
  EXPECT_EQ(env["GANTRY_RUN_ID"], "calm_river");
  EXPECT_EQ(env["AZUREML_RUN_ID"], "calm_river");
  EXPECT_EQ(env["GANTRY_RUN_TOKEN"], "tok");
  EXPECT_EQ(env["GANTRY_CA_FILE"], "/etc/gantry/ca.pem");
  EXPECT_EQ(env["GANTRY_EXPERIMENT_NAME"], "exp");
  EXPECT_EQ(env["GANTRY_METRICS_FILE"], "/w/metrics.jsonl");
  EXPECT_EQ(env["GANTRY_OUTPUTS_DIR"], "/w/wd/outputs");
  EXPECT_EQ(env["PYTHONUNBUFFERED"], "1");
  EXPECT_EQ(env["LR"], "0.1");
  EXPECT_EQ(env["GANTRY_URL"], "user-wins");
}

TEST(BuildJobEnvironmentTest, LeavesPathsAloneWithoutPrefixes) {
  auto env = BuildJobEnvironment({{"PATH", "/usr/bin"}, {"PYTHONUNBUFFERED", "0"}}, JobContext{});
  EXPECT_EQ(env["PATH"], "/usr/bin");
  EXPECT_EQ(env.count("PYTHONPATH"), 0u);
  EXPECT_EQ(env.count("GANTRY_CA_FILE"), 0u);  // a plain http:// server
  EXPECT_EQ(env["PYTHONUNBUFFERED"], "0");
}

}  // namespace
}  // namespace gantry::runner

#include "runner/metrics_relay.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "common/files.h"

namespace gantry::runner {
namespace {

// Records what it is sent; `fail` decides, per call, whether it refuses.
class FakeSink : public MetricsSink {
 public:
  Status PostMetrics(const Json& metrics, int64_t through) override {
    throughs.push_back(through);
    return Take("metrics", metrics);
  }
  std::vector<int64_t> throughs;
  Status PostTags(const Json& tags) override { return Take("tags", tags); }

  struct Call {
    std::string kind;
    Json body;
  };
  std::vector<Call> accepted;
  int attempts = 0;
  std::function<Status(const std::string& kind, const Json& body)> fail;

 private:
  Status Take(const std::string& kind, const Json& body) {
    ++attempts;
    if (fail) {
      Status s = fail(kind, body);
      if (!s.ok()) return s;
    }
    accepted.push_back({kind, body});
    return Status::Ok();
  }
};

std::string Metric(const std::string& key, const Json& value, const Json& step = nullptr,
                   int64_t ts = 1700000000000) {
  return Json{{"t", "metric"}, {"key", key}, {"value", value}, {"step", step}, {"ts", ts}}.dump() +
         "\n";
}
std::string Tag(const std::string& key, const std::string& value) {
  return Json{{"t", "tag"}, {"key", key}, {"value", value}}.dump() + "\n";
}

class MetricsRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("metrics-relay-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    path_ = dir_ / "metrics.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Append(const std::string& data) {
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << data;
  }
  // Every metric point the sink accepted, in order.
  std::vector<Json> Points() const {
    std::vector<Json> out;
    for (const auto& c : sink_.accepted) {
      if (c.kind == "metrics") {
        for (const Json& p : c.body) out.push_back(p);
      }
    }
    return out;
  }

  fs::path dir_, path_;
  FakeSink sink_;
};

TEST(ParseSdkRecordTest, ConvertsMetricsToTheRestShape) {
  auto r = ParseSdkRecord(R"({"t":"metric","key":"loss","value":0.25,"step":10,"ts":17})");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(std::holds_alternative<MetricRecord>(*r));
  EXPECT_EQ(std::get<MetricRecord>(*r).point,
            (Json{{"key", "loss"}, {"value", 0.25}, {"step", 10}, {"timestamp", 17}}));
}

TEST(ParseSdkRecordTest, KeepsTheRankOfADistributedJobsProcess) {
  auto r = ParseSdkRecord(R"({"t":"metric","key":"loss","value":1,"rank":3,"ts":5})");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(std::get<MetricRecord>(*r).point["rank"], 3);
  EXPECT_FALSE(ParseSdkRecord(R"({"t":"metric","key":"loss","value":1,"rank":-1})").has_value());
  EXPECT_FALSE(ParseSdkRecord(R"({"t":"metric","key":"loss","value":1,"rank":"0"})").has_value());
}

TEST(ParseSdkRecordTest, OmitsANullStepAndKeepsAnyJsonValue) {
  auto r = ParseSdkRecord(R"({"t":"metric","key":"pr","value":{"p":[1,2]},"step":null,"ts":5})");
  ASSERT_TRUE(r.has_value());
  const Json& point = std::get<MetricRecord>(*r).point;
  EXPECT_FALSE(point.contains("step"));
  EXPECT_EQ(point["value"], (Json{{"p", {1, 2}}}));
}

TEST(ParseSdkRecordTest, ReadsTags) {
  auto r = ParseSdkRecord(R"({"t":"tag","key":"model","value":"resnet"})");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(std::holds_alternative<TagRecord>(*r));
  EXPECT_EQ(std::get<TagRecord>(*r).key, "model");
  EXPECT_EQ(std::get<TagRecord>(*r).value, "resnet");
}

TEST(ParseSdkRecordTest, RefusesDeepValuesAndNumbersOutOfRange) {
  std::string deep = std::string(100, '[') + std::string(100, ']');
  auto nested = ParseSdkRecord(R"({"t":"metric","key":"pr","value":)" + deep + "}");
  ASSERT_FALSE(nested.has_value());
  EXPECT_NE(nested.error().message().find("JSON nesting deeper than 64 levels"), std::string::npos);
  auto huge = ParseSdkRecord(R"({"t":"metric","key":"loss","value":1e400})");
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(huge.error().message().find("at value"), std::string::npos);
}

TEST(ParseSdkRecordTest, RejectsMalformedRecords) {
  for (const char* line :
       {"not json", "[1]", R"({"key":"a","value":1})", R"({"t":"metric","value":1})",
        R"({"t":"metric","key":"","value":1})", R"({"t":"metric","key":"a"})",
        R"({"t":"metric","key":"a","value":1,"step":-1})",
        R"({"t":"metric","key":"a","value":1,"step":1.5})",
        R"({"t":"other","key":"a","value":1})"}) {
    EXPECT_FALSE(ParseSdkRecord(line).has_value()) << line;
  }
}

TEST_F(MetricsRelayTest, BatchesUpToMaxBatchPoints) {
  std::string data;
  for (int i = 0; i < 12000; ++i) data += Metric("loss", i, i);
  Append(data);
  MetricsRelay relay(path_, &sink_);
  ASSERT_TRUE(relay.Relay().ok());
  ASSERT_EQ(sink_.accepted.size(), 3u);
  EXPECT_EQ(sink_.accepted[0].body.size(), 5000u);
  EXPECT_EQ(sink_.accepted[1].body.size(), 5000u);
  EXPECT_EQ(sink_.accepted[2].body.size(), 2000u);
  auto points = Points();
  ASSERT_EQ(points.size(), 12000u);
  EXPECT_EQ(points[11999]["step"], 11999);
  EXPECT_EQ(relay.offset(), static_cast<int64_t>(data.size()));
}

TEST_F(MetricsRelayTest, KeepsFileOrderBetweenMetricsAndTags) {
  Append(Metric("a", 1) + Metric("b", 2) + Tag("k", "v1") + Tag("k", "v2") + Metric("a", 3));
  MetricsRelay relay(path_, &sink_);
  ASSERT_TRUE(relay.Relay().ok());
  ASSERT_EQ(sink_.accepted.size(), 3u);
  EXPECT_EQ(sink_.accepted[0].kind, "metrics");
  EXPECT_EQ(sink_.accepted[0].body.size(), 2u);
  EXPECT_EQ(sink_.accepted[1].kind, "tags");
  EXPECT_EQ(sink_.accepted[1].body, (Json{{"k", "v2"}}));
  EXPECT_EQ(sink_.accepted[2].body[0]["value"], 3);
}

TEST_F(MetricsRelayTest, AnUnreachableServerLosesAndDuplicatesNothing) {
  Append(Metric("a", 1) + Tag("t", "x") + Metric("a", 2));
  MetricsRelay relay(path_, &sink_);
  // The tags post fails: the first metric batch is delivered, the rest waits.
  sink_.fail = [](const std::string& kind, const Json&) {
    return kind == "tags" ? UnavailableError("down") : Status::Ok();
  };
  Status s = relay.Relay();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  ASSERT_EQ(sink_.accepted.size(), 1u);
  const int64_t after_first = relay.offset();
  EXPECT_GT(after_first, 0);

  sink_.fail = nullptr;
  ASSERT_TRUE(relay.Relay().ok());
  ASSERT_EQ(sink_.accepted.size(), 3u);
  EXPECT_EQ(sink_.accepted[1].kind, "tags");
  EXPECT_EQ(sink_.accepted[2].body[0]["value"], 2);
  auto points = Points();
  EXPECT_EQ(points.size(), 2u);
}

TEST_F(MetricsRelayTest, SkipsMalformedLinesOnceAndKeepsGoing) {
  Append(Metric("a", 1) + "{broken\n" + Metric("a", 2) + "\n");
  MetricsRelay relay(path_, &sink_);
  sink_.fail = [](const std::string&, const Json&) { return UnavailableError("down"); };
  EXPECT_FALSE(relay.Relay().ok());
  sink_.fail = nullptr;
  ASSERT_TRUE(relay.Relay().ok());
  EXPECT_EQ(Points().size(), 2u);
  // The broken line and the empty one, each counted once despite the retry.
  EXPECT_EQ(relay.skipped(), 2);
  EXPECT_EQ(relay.delivered(), 2);
}

TEST_F(MetricsRelayTest, AnUnfinishedLineWaitsUntilItIsCompleteOrFinal) {
  std::string line = Metric("a", 1);
  Append(line.substr(0, 10));
  MetricsRelay relay(path_, &sink_);
  ASSERT_TRUE(relay.Relay().ok());
  EXPECT_TRUE(sink_.accepted.empty());
  Append(line.substr(10, line.size() - 11));  // all but the newline
  ASSERT_TRUE(relay.Relay().ok());
  EXPECT_TRUE(sink_.accepted.empty());
  ASSERT_TRUE(relay.Relay(/*final=*/true).ok());
  EXPECT_EQ(Points().size(), 1u);
}

TEST_F(MetricsRelayTest, ARefusedBatchIsRetriedOneByOneAndOnlyTheBadRecordDropped) {
  Append(Metric("good", 1) + Metric("bad", 2) + Metric("good", 3));
  MetricsRelay relay(path_, &sink_);
  sink_.fail = [](const std::string&, const Json& body) {
    for (const Json& p : body) {
      if (p["key"] == "bad") return InvalidArgumentError("bad metric");
    }
    return Status::Ok();
  };
  ASSERT_TRUE(relay.Relay().ok());
  auto points = Points();
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0]["value"], 1);
  EXPECT_EQ(points[1]["value"], 3);
  EXPECT_EQ(relay.skipped(), 1);
  // Nothing is sent again later.
  ASSERT_TRUE(relay.Relay().ok());
  EXPECT_EQ(Points().size(), 2u);
}

TEST_F(MetricsRelayTest, NewRecordsAreRelayedOnTheNextPass) {
  MetricsRelay relay(path_, &sink_);
  ASSERT_TRUE(relay.Relay().ok());
  Append(Metric("a", 1));
  ASSERT_TRUE(relay.Relay().ok());
  Append(Metric("a", 2));
  ASSERT_TRUE(relay.Relay().ok());
  EXPECT_EQ(Points().size(), 2u);
  EXPECT_EQ(sink_.attempts, 2);
}

}  // namespace
}  // namespace gantry::runner

#include "http/http_server.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "http/http_client.h"
#include "http/router.h"

namespace gantry::http {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo/{name}", [](Request& r) {
      return Response::FromJson(200, {{"name", r.Param("name")},
                                      {"body", r.body},
                                      {"q", r.Query("q")},
                                      {"token", r.BearerToken()}});
    });
    router_.Add("GET", "/files/{path...}", [](Request& r) {
      return Response::Text(200, r.Param("path"));
    });
    HttpServerOptions options;
    options.body_limit = [](const std::string&, const std::string& path) -> size_t {
      return path.rfind("/echo/big", 0) == 0 ? 1 << 20 : 1024;
    };
    auto server = HttpServer::Start(options, [this](Request& r) { return router_.Route(r); });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
    auto client = HttpClient::Create("http://127.0.0.1:" + std::to_string(server_->port()),
                                     HttpClientOptions{.bearer_token = "tok"});
    ASSERT_TRUE(client.has_value());
    client_ = std::move(*client);
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpServerTest, RoutesCapturesAndKeepsAlive) {
  for (int i = 0; i < 3; ++i) {
    auto r = client_->Call("POST", "/echo/a%20b?q=x+y", Json{{"k", i}});
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ((*r)["name"], "a b");
    EXPECT_EQ((*r)["q"], "x y");
    EXPECT_EQ((*r)["token"], "tok");
    EXPECT_EQ(Json::parse((*r)["body"].get<std::string>())["k"], i);
  }
  auto f = client_->Send("GET", "/files/outputs/model/a.pt");
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->body, "outputs/model/a.pt");
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  auto r = client_->Call("GET", "/nope");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  auto m = client_->Send("GET", "/echo/x");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->status, 405);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndTheServerStaysUp) {
  auto r = client_->Send("POST", "/echo/small", std::string(4096, 'x'));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("ResourceExhausted"), std::string::npos);
  auto big = client_->Send("POST", "/echo/big", std::string(4096, 'x'));
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->status, 200);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  ASSERT_TRUE(client_->Call("POST", "/echo/a").has_value());
  server_->Stop();  // must not hang on the idle connection
  auto r = client_->Call("POST", "/echo/a");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
}

TEST(HttpServerStopTest, StopLetsARunningHandlerAnswer) {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  auto server = HttpServer::Start({}, [&](Request& r) {
    if (r.path != "/slow") return Response::Text(200, "probe");
    entered.set_value();
    released.wait();
    return Response::Text(200, "finished");
  });
  ASSERT_TRUE(server.has_value());
  std::string url = "http://127.0.0.1:" + std::to_string((*server)->port());
  std::future<Result<ClientResponse>> answer = std::async(std::launch::async, [url] {
    return (*HttpClient::Create(url))->Send("GET", "/slow");
  });
  entered.get_future().wait();
  std::thread stopper([&] { (*server)->Stop(); });
  // Once new connections are refused, Stop() is past closing the listener and on to the
  // open connections; only then may the handler finish.
  for (int i = 0; i < 2000; ++i) {
    auto probe = (*HttpClient::Create(url, {.timeout_ms = 1000}))->Send("GET", "/probe");
    if (!probe.has_value()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  release.set_value();
  auto r = answer.get();
  stopper.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finished");
}

}  // namespace
}  // namespace gantry::http

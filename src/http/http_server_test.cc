#include "http/http_server.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "http/http_client.h"
#include "http/router.h"
#include "http/testing/raw_http_client.h"

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
    router_.Add("GET", "/files/{path...}",
                [](Request& r) { return Response::Text(200, r.Param("path")); });
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
  std::future<Result<ClientResponse>> answer = std::async(
      std::launch::async, [url] { return (*HttpClient::Create(url))->Send("GET", "/slow"); });
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

using RawClient = testing::RawHttpClient;
namespace fs = std::filesystem;

std::string Post(const std::string& path, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra_headers + "\r\n" + body;
}

// A server whose /park/... requests are answered only when the test says so (Release), and
// whose /upload/... bodies are streamed to files in upload_dir_.
class HttpServerLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upload_dir_ = fs::temp_directory_path() /
                  ("http_server_test-" + std::to_string(::getpid()) + "-" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(upload_dir_);
    fs::create_directories(upload_dir_);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    fs::remove_all(upload_dir_);
  }

  void StartServer() {
    options_.body_limit = [](const std::string&, const std::string&) -> size_t { return 1024; };
    options_.body_to_file = [this](const std::string&, const std::string& path) {
      return path.starts_with("/upload/") ? upload_dir_.string() : std::string();
    };
    auto server = HttpServer::Start(options_, [this](Request& r) {
      if (r.path.starts_with("/park/")) {
        std::promise<void> release;
        std::future<void> released = release.get_future();
        {
          std::lock_guard<std::mutex> lock(mu_);
          parked_.push_back(std::move(release));
          cv_.notify_all();
        }
        released.wait();
        return Response::Text(200, "finally");
      }
      if (r.path.starts_with("/upload/")) {
        std::ifstream in(r.body_file, std::ios::binary);
        std::string content((std::istreambuf_iterator<char>(in)), {});
        if (r.path == "/upload/keep") fs::rename(r.body_file, upload_dir_ / "kept");
        return Response::FromJson(
            200, {{"body", r.body},
                  {"content", content},
                  {"in_folder", fs::path(r.body_file).parent_path() == upload_dir_}});
      }
      return Response::Text(200, "body:" + r.body);
    });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  void AwaitParked(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return parked_.size() >= n; });
  }
  void ReleaseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& p : parked_) p.set_value();
    parked_.clear();
  }
  size_t FilesInUploadDir() {
    return static_cast<size_t>(std::distance(fs::directory_iterator(upload_dir_), {}));
  }

  HttpServerOptions options_;
  fs::path upload_dir_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::promise<void>> parked_;  // guarded by mu_
};

TEST_F(HttpServerLimitsTest, IdleAndSlowClientsAreDroppedButALongPollIsNot) {
  options_.idle_timeout = std::chrono::milliseconds(200);
  options_.request_timeout = std::chrono::milliseconds(200);
  StartServer();
  // A request the handler holds (a long poll): its connection is never timed out.
  RawClient parked(server_->port());
  ASSERT_TRUE(parked.connected());
  parked.Write("GET /park/events HTTP/1.1\r\nHost: x\r\n\r\n");
  AwaitParked(1);
  // A client that connects and sends nothing is closed once idle for the timeout.
  RawClient idle(server_->port());
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.ClosedByServer());
  // One that is answered and then stays idle: closed too, after its answer.
  RawClient kept(server_->port());
  kept.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(kept.Read().status, 200);
  EXPECT_TRUE(kept.ClosedByServer());
  // One that sends half its headers and stops (slowloris) gets 408, then the close.
  RawClient slow(server_->port());
  slow.Write("GET /hello HTTP/1.1\r\nHost: x\r\n");
  auto timed_out = slow.Read();
  EXPECT_EQ(timed_out.status, 408);
  EXPECT_NE(timed_out.body.find("did not arrive within 200 ms"), std::string::npos)
      << timed_out.body;
  EXPECT_EQ(timed_out.headers["connection"], "close");
  EXPECT_TRUE(slow.ClosedByServer());
  // One whose body stops coming gets 408 too.
  RawClient stalled(server_->port());
  stalled.Write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  auto stalled_reply = stalled.Read();
  EXPECT_EQ(stalled_reply.status, 408);
  EXPECT_NE(stalled_reply.body.find("body stalled"), std::string::npos) << stalled_reply.body;
  EXPECT_TRUE(stalled.ClosedByServer());
  // The long poll outlived all of those and is still answered on its connection.
  ReleaseAll();
  auto r = parked.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finally");
}

// Waits (bounded) until a new connection is served again, i.e. the server has noticed that
// some connection closed; returns its answer's status.
int FirstServedStatus(int port) {
  int status = 0;
  for (int i = 0; i < 2000 && status != 200; ++i) {
    RawClient c(port);
    c.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    status = c.Read().status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return status;
}

TEST_F(HttpServerLimitsTest, OneClientCannotTakeEverySlot) {
  options_.max_connections_per_client = 2;
  StartServer();
  RawClient a(server_->port()), b(server_->port());
  // Served, so certainly counted.
  a.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  b.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(a.Read().status, 200);
  ASSERT_EQ(b.Read().status, 200);
  RawClient c(server_->port());
  auto refused = c.Read();  // answered before it sends anything
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("Unavailable"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("client 127.0.0.1 is at its limit of 2 connections"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(refused.headers["connection"], "close");
  EXPECT_TRUE(c.AtEof());
  // Once one of its connections closes, the client is served again.
  a.Close();
  EXPECT_EQ(FirstServedStatus(server_->port()), 200);
}

TEST_F(HttpServerLimitsTest, AFullServerAnswers503) {
  options_.max_connections = 1;
  StartServer();
  RawClient a(server_->port());
  a.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(a.Read().status, 200);
  RawClient b(server_->port());
  auto refused = b.Read();
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("at its limit of 1 connections"), std::string::npos) << refused.body;
  a.Close();
  EXPECT_EQ(FirstServedStatus(server_->port()), 200);
}

TEST_F(HttpServerLimitsTest, MalformedRequestsAreAnsweredWithABodyAndClosed) {
  options_.max_header_bytes = 4096;
  StartServer();
  struct Case {
    std::string request;
    int status;
  };
  for (const Case& k : std::vector<Case>{
           {"GARBAGE\r\n\r\n", 400},
           {"GET / HTTP/9\r\n\r\n", 400},
           {"GET nopath HTTP/1.1\r\n\r\n", 400},
           {"GET /a b HTTP/1.1\r\n\r\n", 400},
           {"POST /echo HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400},
           {"POST /echo HTTP/1.1\r\nX-Ctl: a\x01"
            "b\r\n\r\n",
            400},
           {std::string("POST /echo HTTP/1.1\r\nX-Nul: a") + '\0' + "b\r\n\r\n", 400},
           {"POST /echo HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400},
           {"POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
           {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            400},
           {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            400},
           {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
           {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
           {"GET /hello HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n", 431},
       }) {
    RawClient c(server_->port());
    c.Write(k.request);
    auto r = c.Read();
    EXPECT_EQ(r.status, k.status) << k.request.substr(0, 60);
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << k.request.substr(0, 60);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.AtEof());
  }
  // A well-formed chunked body is read whole.
  RawClient ok(server_->port());
  ok.Write(
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto r = ok.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body:abcde");
}

TEST_F(HttpServerLimitsTest, ABodyOverTheLimitIs413WhetherDeclaredOrChunked) {
  StartServer();
  RawClient declared(server_->port());
  declared.Write(Post("/echo", std::string(4096, 'x')));
  auto r = declared.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(declared.AtEof());
  RawClient chunked(server_->port());
  std::string piece = "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked.Write("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + piece + piece +
                piece);
  r = chunked.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("over the limit of 1024 bytes"), std::string::npos) << r.body;
}

TEST_F(HttpServerLimitsTest, StreamedBodiesGoToAFileThatIsRemovedAfterTheHandler) {
  StartServer();
  RawClient c(server_->port());
  c.Write(Post("/upload/a", "streamed content"));
  auto r = c.Read();
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["body"], "");
  EXPECT_EQ(j["content"], "streamed content");
  EXPECT_EQ(j["in_folder"], true);
  EXPECT_EQ(FilesInUploadDir(), 0u);  // removed before the answer was written
  // A handler that keeps the file renames it away; the server leaves the new name alone.
  c.Write(Post("/upload/keep", "kept content"));
  ASSERT_EQ(c.Read().status, 200);
  EXPECT_EQ(FilesInUploadDir(), 1u);
  std::ifstream kept(upload_dir_ / "kept");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(kept)), {}), "kept content");
  // Other routes still get their body in memory.
  c.Write(Post("/echo", "in memory"));
  EXPECT_EQ(c.Read().body, "body:in memory");
}

TEST_F(HttpServerLimitsTest, AStreamedBodyOverTheLimitLeavesNoFile) {
  StartServer();
  RawClient c(server_->port());
  std::string piece = "200\r\n" + std::string(512, 'y') + "\r\n";
  c.Write("POST /upload/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + piece + piece);
  // The server has the first piece on disk and is waiting for more.
  c.Write(piece);
  auto r = c.Read();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(FilesInUploadDir(), 0u);  // removed before the answer was written
  // Declared too big: refused before any file is made.
  RawClient d(server_->port());
  d.Write(Post("/upload/big", std::string(2048, 'z')));
  EXPECT_EQ(d.Read().status, 413);
  EXPECT_EQ(FilesInUploadDir(), 0u);
}

// Polls (bounded) until the upload folder holds `n` files; returns how many it last saw.
size_t AwaitFileCount(const std::function<size_t()>& count, size_t n) {
  size_t seen = count();
  for (int i = 0; i < 5000 && seen != n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    seen = count();
  }
  return seen;
}

TEST_F(HttpServerLimitsTest, AnUploadCutShortLeavesNoFile) {
  StartServer();
  auto count = [this] { return FilesInUploadDir(); };
  RawClient c(server_->port());
  c.Write("POST /upload/cut HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part");
  ASSERT_EQ(AwaitFileCount(count, 1), 1u);  // the server is streaming it
  c.Close();                                // and the client goes away mid-body
  EXPECT_EQ(AwaitFileCount(count, 0), 0u);
}

}  // namespace
}  // namespace gantry::http

#include "http/epoll_http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "http/http_client.h"
#include "http/router.h"
#include "http/testing/raw_http_client.h"

namespace gantry::http {
namespace {

using RawClient = testing::RawHttpClient;

std::string Post(const std::string& path, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + extra_headers + "\r\n" + body;
}

// Requests to /park/... are answered only when the test says so (Release).
class EpollHttpServerTest : public ::testing::Test {
 protected:
  void StartServer(int loop_threads = 2,
                   std::chrono::milliseconds drain_timeout = std::chrono::seconds(60)) {
    router_.Add("POST", "/echo/{name}", [](Request& r) {
      return Response::FromJson(200, {{"name", r.Param("name")},
                                      {"body", r.body},
                                      {"q", r.Query("q")},
                                      {"token", r.Header("x-token")}});
    });
    router_.Add("GET", "/hello", [](Request&) { return Response::Text(200, "hello"); });
    router_.Add("GET", "/big",
                [](Request&) { return Response::Text(200, std::string(1 << 20, 'b')); });
    EpollHttpServerOptions options;
    options.loop_threads = loop_threads;
    options.drain_timeout = drain_timeout;
    options.max_header_bytes = 4096;
    options.idle_timeout = idle_timeout_;
    options.request_timeout = request_timeout_;
    options.body_limit = [](const std::string&, const std::string& path) -> size_t {
      return path.rfind("/echo/big", 0) == 0 ? 1 << 20 : 1024;
    };
    // Answers the /collect requests of a round together, as a batching backend would.
    options.after_round = [this] {
      std::vector<Responder> round;
      {
        std::lock_guard<std::mutex> lock(mu_);
        round.swap(collected_);
      }
      for (auto& r : round) r.Send(Response::Text(200, "one of " + std::to_string(round.size())));
    };
    auto server = EpollHttpServer::Start(options, [this](Request& r, Responder responder) {
      Log(r.method + " " + r.path);
      if (r.path.starts_with("/park/")) {
        std::lock_guard<std::mutex> lock(mu_);
        parked_.emplace_back(r.path, std::move(responder));
        cv_.notify_all();
      } else if (r.path == "/collect") {
        std::lock_guard<std::mutex> lock(mu_);
        collected_.push_back(std::move(responder));
      } else if (r.path == "/throw") {
        throw std::runtime_error("boom");
      } else if (r.path.starts_with("/echo/later")) {
        // Answered from another thread, as a batching thread would.
        std::thread([this, req = r, responder = std::move(responder)]() mutable {
          responder.Send(router_.Route(req));
        }).detach();
      } else {
        responder.Send(router_.Route(r));
      }
    });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  void Log(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(line);
  }

  // Waits until `n` requests are parked.
  void AwaitParked(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return parked_.size() >= n; });
  }

  void Release(Response response) {
    std::pair<std::string, Responder> p;
    {
      std::lock_guard<std::mutex> lock(mu_);
      p = std::move(parked_.front());
      parked_.pop_front();
      log_.push_back("answered " + p.first);
    }
    p.second.Send(std::move(response));
  }

  std::unique_ptr<HttpClient> Client() {
    auto client = HttpClient::Create("http://127.0.0.1:" + std::to_string(server_->port()));
    EXPECT_TRUE(client.has_value());
    return std::move(*client);
  }

  Router router_;
  std::chrono::milliseconds idle_timeout_{60'000}, request_timeout_{30'000};
  std::unique_ptr<EpollHttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, Responder>> parked_;  // guarded by mu_
  std::vector<std::string> log_;                          // guarded by mu_
  std::vector<Responder> collected_;                      // guarded by mu_
};

TEST_F(EpollHttpServerTest, KeepAliveRoutesDecodesAndMatchesHeadersCaseInsensitively) {
  StartServer();
  RawClient c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.Write(
        Post("/echo/a%20b?q=x+y", std::to_string(i), "X-TOKEN: t" + std::to_string(i) + "\r\n"));
    auto r = c.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.count("connection"), 0u);  // kept alive
    Json j = Json::parse(r.body);
    EXPECT_EQ(j["name"], "a b");
    EXPECT_EQ(j["q"], "x y");
    EXPECT_EQ(j["body"], std::to_string(i));
    EXPECT_EQ(j["token"], "t" + std::to_string(i));
  }
  auto client = Client();
  auto r = client->Call("POST", "/echo/x", Json{{"k", 1}});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(Json::parse((*r)["body"].get<std::string>())["k"], 1);
  auto missing = client->Call("GET", "/nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST_F(EpollHttpServerTest, IdleAndSlowClientsAreDroppedButARequestWithTheHandlerIsNot) {
  idle_timeout_ = std::chrono::milliseconds(300);
  request_timeout_ = std::chrono::milliseconds(300);
  StartServer();
  // A request the handler holds: its connection is never timed out.
  RawClient parked(server_->port());
  ASSERT_TRUE(parked.connected());
  parked.Write("GET /park/long HTTP/1.1\r\nHost: x\r\n\r\n");
  AwaitParked(1);
  // A client that connects and sends nothing is closed once idle for the timeout.
  RawClient idle(server_->port());
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.ClosedByServer());
  // One that answers a request, then stays idle: closed too, after its answer.
  RawClient kept(server_->port());
  kept.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(kept.Read().status, 200);
  EXPECT_TRUE(kept.ClosedByServer());
  // One that sends half a request and stops (slowloris) gets 408, then the close.
  RawClient slow(server_->port());
  slow.Write("GET /hello HTTP/1.1\r\nHost: x\r\n");
  auto timed_out = slow.Read();
  EXPECT_EQ(timed_out.status, 408);
  EXPECT_NE(timed_out.body.find("did not arrive within 300 ms"), std::string::npos)
      << timed_out.body;
  EXPECT_TRUE(slow.ClosedByServer());
  // The parked request outlived all of those and is still answered on its connection.
  Release(Response::Text(200, "finally"));
  auto r = parked.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finally");
}

TEST_F(EpollHttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawClient c(server_->port());
  c.Write(Post("/echo/one", "1") + Post("/park/two", "2") + Post("/echo/three", "3") +
          "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.Read();
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(Json::parse(first.body)["name"], "one");
  AwaitParked(1);
  Release(Response::Text(202, "two"));
  auto second = c.Read();
  EXPECT_EQ(second.status, 202);
  EXPECT_EQ(second.body, "two");
  auto third = c.Read();
  ASSERT_EQ(third.status, 200);
  EXPECT_EQ(Json::parse(third.body)["name"], "three");
  auto fourth = c.Read();
  EXPECT_EQ(fourth.status, 200);
  EXPECT_EQ(fourth.body, "hello");
  std::lock_guard<std::mutex> lock(mu_);
  // The third request is not even read before the second is answered.
  EXPECT_EQ(log_,
            (std::vector<std::string>{"POST /echo/one", "POST /park/two", "answered /park/two",
                                      "POST /echo/three", "GET /hello"}));
}

TEST_F(EpollHttpServerTest, AfterRoundRunsOnceRequestsOfARoundAreDispatched) {
  StartServer();
  RawClient c(server_->port());
  // Pipelined: each is read once the previous one is answered, so each round has one.
  c.Write(
      "POST /collect HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
      "POST /collect HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(c.Read().body, "one of 1");
  EXPECT_EQ(c.Read().body, "one of 1");
}

TEST_F(EpollHttpServerTest, PipelinedRequestsWaitForAClientThatReadsSlowly) {
  StartServer();
  RawClient c(server_->port());
  std::string requests;
  for (int i = 0; i < 12; ++i) requests += "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  c.Write(requests);  // 12 MiB of answers, more than the server buffers for one connection
  for (int i = 0; i < 12; ++i) {
    auto r = c.Read();
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body.size(), 1u << 20);
  }
}

TEST_F(EpollHttpServerTest, OversizedBodyIs413ThenTheConnectionClosesAndTheServerStaysUp) {
  StartServer();
  {
    RawClient c(server_->port());
    // The whole body is sent without waiting, as most clients do.
    c.Write(Post("/echo/small", std::string(64 * 1024, 'x')));
    auto r = c.Read();
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.body.find("ResourceExhausted"), std::string::npos);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.AtEof());
  }
  auto client = Client();
  auto small = client->Send("POST", "/echo/small", std::string(4096, 'x'));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->status, 413);
  auto big = client->Send("POST", "/echo/big", std::string(4096, 'x'));
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->status, 200);
}

TEST_F(EpollHttpServerTest, MalformedRequestsAreRefusedAndCloseTheConnection) {
  StartServer();
  struct Case {
    std::string request;
    int status;
  };
  for (const Case& k : std::vector<Case>{
           {"GARBAGE\r\n\r\n", 400},
           {"GET nopath HTTP/1.1\r\n\r\n", 400},
           {"GET / HTTP/2.0\r\n\r\n", 505},
           {"POST /echo/a HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400},
           {"POST /echo/a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
           {"POST /echo/a HTTP/1.1\r\nBad Header: 1\r\n\r\n", 400},
           {"POST /echo/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n", 411},
           {"GET /hello HTTP/1.1\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n", 431},
           {"GET /hello HTTP/1.1\r\nX-Ctl: a\x01"
            "b\r\n\r\n",
            400},
           {std::string("GET /hello HTTP/1.1\r\nX-Nul: a") + '\0' + "b\r\n\r\n", 400},
           {"GET /hello HTTP/1.1\r\nX-Cr: a\rb\r\n\r\n", 400},
           {"POST /echo/a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            400},
           {"POST /echo/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\n",
            400},
           {"POST /echo/a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
           {"GET /a b HTTP/1.1\r\n\r\n", 400},
       }) {
    RawClient c(server_->port());
    c.Write(k.request);
    auto r = c.Read();
    EXPECT_EQ(r.status, k.status) << k.request.substr(0, 60);
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << k.request.substr(0, 60);
    EXPECT_EQ(r.headers["connection"], "close");
    EXPECT_TRUE(c.AtEof());
  }
  RawClient ok(server_->port());
  ok.Write("\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");  // a stray empty line is ignored
  EXPECT_EQ(ok.Read().body, "hello");
}

TEST_F(EpollHttpServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  StartServer();
  RawClient keep(server_->port());
  keep.Write("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = keep.Read();
  EXPECT_EQ(r.headers["connection"], "keep-alive");
  keep.Write("GET /hello HTTP/1.0\r\n\r\n");
  r = keep.Read();
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(keep.AtEof());
}

TEST_F(EpollHttpServerTest, ExpectContinueAndABodyInPieces) {
  StartServer();
  RawClient c(server_->port());
  c.Write("POST /echo/a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.Read().status, 100);
  c.Write("abc");
  c.Write("def");
  auto r = c.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["body"], "abcdef");
}

TEST_F(EpollHttpServerTest, AHandlerThatThrowsAnswers500) {
  StartServer();
  RawClient c(server_->port());
  c.Write("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.Read().status, 500);
  EXPECT_EQ(c.Read().body, "hello");
}

TEST_F(EpollHttpServerTest, ConcurrentConnectionsEachGetTheirOwnAnswers) {
  StartServer();
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      auto client = Client();
      for (int i = 0; i < 25; ++i) {
        std::string name =
            (i % 2 ? "later-" : "now-") + std::to_string(t) + "-" + std::to_string(i);
        auto r = client->Call("POST", "/echo/" + name);
        if (r.has_value() && (*r)["name"] == name) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 16 * 25);
}

TEST_F(EpollHttpServerTest, StopFinishesInFlightRequestsAndClosesIdleConnections) {
  StartServer(/*loop_threads=*/1);
  RawClient idle(server_->port());
  idle.Write("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(idle.Read().status, 200);
  RawClient busy(server_->port());
  busy.Write(Post("/park/slow", "x"));
  AwaitParked(1);
  std::thread stopper([this] { server_->Stop(); });
  EXPECT_TRUE(idle.AtEof());  // Stop has begun: idle connections are closed at once
  Release(Response::Text(200, "finished"));
  auto r = busy.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(busy.AtEof());
  stopper.join();
  RawClient late(server_->port());
  EXPECT_FALSE(late.connected());
}

TEST_F(EpollHttpServerTest, StopGivesUpAfterTheDrainTimeoutAndLateAnswersAreHarmless) {
  StartServer(/*loop_threads=*/2, /*drain_timeout=*/std::chrono::milliseconds(0));
  RawClient busy(server_->port());
  busy.Write(Post("/park/never", "x"));
  AwaitParked(1);
  server_->Stop();
  EXPECT_TRUE(busy.AtEof());
  Release(Response::Text(200, "late"));  // after Stop: dropped, not a crash
}

}  // namespace
}  // namespace gantry::http

// TLS on the workspace server and client: a real handshake over loopback with certificates
// made by the test.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "http/http_client.h"
#include "http/http_server.h"
#include "http/router.h"
#include "http/testing/raw_http_client.h"
#include "http/testing/test_certificate.h"

namespace gantry::http {
namespace {

namespace fs = std::filesystem;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gantry-tls-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cert_ = testing::MakeTestCertificate(dir_, "server", {"127.0.0.1", "localhost"});
    other_ = testing::MakeTestCertificate(dir_, "other", {"other.example"});
    router_.Add("POST", "/echo", [](Request& r) {
      return Response::FromJson(200, {{"body", r.body}, {"token", r.BearerToken()}});
    });
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(const testing::TestCertificate& cert) {
    HttpServerOptions options;
    options.tls_cert_file = cert.cert_file;
    options.tls_key_file = cert.key_file;
    options.body_limit = [](const std::string&, const std::string&) -> size_t { return 8 << 20; };
    auto server = HttpServer::Start(options, [this](Request& r) { return router_.Route(r); });
    ASSERT_TRUE(server.has_value()) << server.error().ToString();
    server_ = std::move(*server);
  }
  std::string Url(const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(server_->port());
  }

  std::string dir_;
  testing::TestCertificate cert_, other_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, ClientTrustingTheCertificateTalksOverKeptAliveConnection) {
  StartServer(cert_);
  auto client = HttpClient::Create(Url(), {.bearer_token = "tok", .ca_file = cert_.cert_file});
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  // Bodies larger than one TLS record, several requests on one connection.
  std::string big(300'000, 'x');
  for (int i = 0; i < 3; ++i) {
    auto r = (*client)->Call("POST", "/echo", Json{{"i", i}, {"pad", big}});
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ((*r)["token"], "tok");
    EXPECT_EQ(Json::parse((*r)["body"].get<std::string>())["i"], i);
  }
  // The certificate names localhost too.
  auto by_name = HttpClient::Create(Url("localhost"), {.ca_file = cert_.cert_file});
  ASSERT_TRUE(by_name.has_value());
  auto r = (*by_name)->Call("POST", "/echo", Json{{"k", 1}});
  EXPECT_TRUE(r.has_value()) << r.error().ToString();
}

TEST_F(TlsTest, UntrustedCertificateIsRefusedWithTheReason) {
  StartServer(cert_);
  // Not given the CA: the system's CAs do not know a self-signed certificate.
  auto client = HttpClient::Create(Url(), {});
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->Call("POST", "/echo", Json{{"k", 1}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.error().message().find("not trusted"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("GANTRY_CA_FILE"), std::string::npos);

  // Trusting another certificate does not help.
  auto wrong = HttpClient::Create(Url(), {.ca_file = other_.cert_file});
  ASSERT_TRUE(wrong.has_value());
  r = (*wrong)->Call("POST", "/echo", Json{{"k", 1}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find(other_.cert_file), std::string::npos) << r.error().message();
}

TEST_F(TlsTest, CertificateForAnotherNameIsRefused) {
  StartServer(other_);  // names other.example only
  auto client = HttpClient::Create(Url(), {.ca_file = other_.cert_file});
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->Call("POST", "/echo", Json{{"k", 1}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("mismatch"), std::string::npos) << r.error().message();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortIsToldToUseHttps) {
  StartServer(cert_);
  testing::RawHttpClient raw(server_->port());
  ASSERT_TRUE(raw.connected());
  raw.Write("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  testing::RawHttpClient::Reply answer = raw.Read();
  EXPECT_EQ(answer.status, 400);
  EXPECT_NE(answer.body.find("https://"), std::string::npos) << answer.body;

  // And the C++ client pointed at the plain port of a TLS server, the other way round.
  auto plain = HttpClient::Create("http://127.0.0.1:" + std::to_string(server_->port()), {});
  ASSERT_TRUE(plain.has_value());
  auto r = (*plain)->Send("GET", "/echo");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->status, 400);
}

TEST_F(TlsTest, ClientToAPlainServerSaysSo) {
  HttpServerOptions options;
  auto server = HttpServer::Start(options, [this](Request& r) { return router_.Route(r); });
  ASSERT_TRUE(server.has_value());
  auto client = HttpClient::Create("https://127.0.0.1:" + std::to_string((*server)->port()),
                                   {.timeout_ms = 5000, .ca_file = cert_.cert_file});
  ASSERT_TRUE(client.has_value());
  auto r = (*client)->Call("POST", "/echo", Json{{"k", 1}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.error().message().find("TLS handshake failed"), std::string::npos)
      << r.error().message();
}

TEST_F(TlsTest, ServerRefusesToStartWithBadFiles) {
  HttpServerOptions options;
  options.tls_cert_file = cert_.cert_file;
  auto missing_key = HttpServer::Start(options, [](Request&) { return Response{}; });
  ASSERT_FALSE(missing_key.has_value());
  EXPECT_EQ(missing_key.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing_key.error().message().find("--tls-key"), std::string::npos);

  options.tls_key_file = other_.key_file;  // another certificate's key
  auto mismatched = HttpServer::Start(options, [](Request&) { return Response{}; });
  ASSERT_FALSE(mismatched.has_value());
  EXPECT_NE(mismatched.error().message().find("does not belong"), std::string::npos)
      << mismatched.error().message();

  options.tls_key_file = dir_ + "/absent.key";
  auto absent = HttpServer::Start(options, [](Request&) { return Response{}; });
  ASSERT_FALSE(absent.has_value());
  EXPECT_NE(absent.error().message().find(dir_ + "/absent.key"), std::string::npos);

  options.tls_cert_file = options.tls_key_file = cert_.key_file;  // a key is no certificate
  auto not_cert = HttpServer::Start(options, [](Request&) { return Response{}; });
  ASSERT_FALSE(not_cert.has_value());
  EXPECT_NE(not_cert.error().message().find("not a PEM certificate"), std::string::npos)
      << not_cert.error().message();
}

TEST_F(TlsTest, ClientRefusesUnreadableCaAndCaWithPlainUrl) {
  auto absent = HttpClient::Create("https://127.0.0.1:1", {.ca_file = dir_ + "/none.pem"});
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(absent.error().message().find(dir_ + "/none.pem"), std::string::npos);
  auto plain = HttpClient::Create("http://127.0.0.1:1", {.ca_file = cert_.cert_file});
  ASSERT_FALSE(plain.has_value());
  EXPECT_NE(plain.error().message().find("use https://"), std::string::npos);
}

}  // namespace
}  // namespace gantry::http

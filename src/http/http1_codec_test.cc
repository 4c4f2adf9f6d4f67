// The epoll server's HTTP/1.1 wire rules, checked on hand-written requests without sockets:
// what a request head must look like to be accepted, which status each refusal gets, and how
// an answer is framed.
#include "http/http1_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/epoll_http_server.h"

namespace gantry::http::epoll {
namespace {

using namespace std::string_view_literals;

struct Parsed {
  int status = 0;
  std::string error;
  Request req;
  Head head;
};

// `lines` is a request line and header lines, each without its CRLF.
Parsed Parse(std::string_view lines) {
  std::string block;
  size_t pos = 0;
  while (pos <= lines.size()) {
    size_t nl = lines.find('\n', pos);
    if (nl == std::string_view::npos) nl = lines.size();
    block.append(lines.substr(pos, nl - pos));
    block += "\r\n";
    pos = nl + 1;
  }
  block += "\r\n";
  Parsed p;
  p.status = ParseHead(block, p.req, p.head, p.error);
  return p;
}

TEST(Http1CodecTest, FindHeadEndWaitsForTheEmptyLineAndToleratesBareLf) {
  std::string_view full = "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY";
  EXPECT_EQ(FindHeadEnd(full), full.find("BODY"));
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: x\r\n"), std::string_view::npos);
  EXPECT_EQ(FindHeadEnd("GET / HTTP/1.1\r\nHost: x\r\n\r"), std::string_view::npos);
  std::string_view bare = "GET / HTTP/1.1\nHost: x\n\nrest";
  EXPECT_EQ(FindHeadEnd(bare), bare.find("rest"));
}

TEST(Http1CodecTest, AcceptsARequestAndDecodesItsTargetAndHeaders) {
  Parsed p = Parse(
      "GET /a%20b?x=1&y=2 HTTP/1.1\nHost: x\nX-Token:  abc \nAccept: a\naccept: b\n"
      "Content-Length: 5\ncontent-length: 5");
  ASSERT_EQ(p.status, 0) << p.error;
  EXPECT_EQ(p.req.method, "GET");
  EXPECT_EQ(p.req.path, "/a b");
  EXPECT_EQ(p.req.Query("x"), "1");
  EXPECT_EQ(p.req.Query("y"), "2");
  EXPECT_EQ(p.req.Header("x-token"), "abc");  // lowercase name, value trimmed
  EXPECT_EQ(p.req.Header("accept"), "a, b");  // repeated fields joined
  EXPECT_EQ(p.head.content_length, 5u);       // repeated, but the same
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_FALSE(p.head.http10);
  EXPECT_FALSE(p.head.head_method);
  EXPECT_FALSE(p.head.expect_continue);
}

TEST(Http1CodecTest, KeepAliveFollowsTheVersionAndTheConnectionHeader) {
  EXPECT_FALSE(Parse("GET / HTTP/1.0").head.keep_alive);
  Parsed http10 = Parse("GET / HTTP/1.0\nConnection: Keep-Alive");
  EXPECT_TRUE(http10.head.http10);
  EXPECT_TRUE(http10.head.keep_alive);
  EXPECT_FALSE(Parse("GET / HTTP/1.1\nConnection: upgrade, Close").head.keep_alive);
  EXPECT_TRUE(Parse("HEAD / HTTP/1.1").head.head_method);
  EXPECT_TRUE(Parse("POST / HTTP/1.1\nExpect: 100-Continue").head.expect_continue);
}

TEST(Http1CodecTest, MalformedRequestLinesAre400AndOtherVersions505) {
  for (std::string_view line :
       {"GET /"sv, "GET  / HTTP/1.1"sv, "GET / HTTP/1.1 x"sv, "G(T / HTTP/1.1"sv, " / HTTP/1.1"sv,
        "GET http://x/ HTTP/1.1"sv, "GET /a\x01 HTTP/1.1"sv, "GET / FOO/1.1"sv}) {
    EXPECT_EQ(Parse(line).status, 400) << line;
  }
  Parsed p = Parse("GET / HTTP/2.0");
  EXPECT_EQ(p.status, 505);
  EXPECT_FALSE(p.error.empty());
}

TEST(Http1CodecTest, MalformedHeaderFieldsAre400) {
  for (std::string_view fields : {"Host: x\n  folded"sv, "Bad Name: x"sv, ": x"sv, "no colon"sv,
                                  "X: a\x01z"sv, "X: a\rz"sv, "X: a\0z"sv, "X: a\x7fz"sv}) {
    EXPECT_EQ(Parse("GET / HTTP/1.1\n" + std::string(fields)).status, 400) << fields;
  }
  EXPECT_EQ(Parse("GET / HTTP/1.1\nX: a\tz").status, 0);  // HTAB is allowed
}

TEST(Http1CodecTest, ContentLengthMustBeOneDecimalNumber) {
  for (std::string_view value :
       {""sv, "abc"sv, "-1"sv, "+5"sv, "5 5"sv, "0x10"sv, "99999999999999999999999"sv}) {
    EXPECT_EQ(Parse("POST / HTTP/1.1\nContent-Length: " + std::string(value)).status, 400) << value;
  }
  EXPECT_EQ(Parse("POST / HTTP/1.1\nContent-Length: 5\nContent-Length: 6").status, 400);
}

TEST(Http1CodecTest, TransferEncodingIsRefused) {
  // Both framings at once is the request-smuggling shape: malformed, whatever the coding.
  EXPECT_EQ(Parse("POST / HTTP/1.1\nContent-Length: 5\nTransfer-Encoding: chunked").status, 400);
  EXPECT_EQ(Parse("POST / HTTP/1.1\nTransfer-Encoding: chunked").status, 411);
  EXPECT_EQ(Parse("POST / HTTP/1.1\nTransfer-Encoding: gzip, Chunked").status, 411);
  EXPECT_EQ(Parse("POST / HTTP/1.1\nTransfer-Encoding: gzip").status, 501);
}

TEST(Http1CodecTest, MoreThanMaxHeadersIs431) {
  std::string lines = "GET / HTTP/1.1";
  for (int i = 0; i < kMaxHeaders; ++i) lines += "\nX-" + std::to_string(i) + ": v";
  EXPECT_EQ(Parse(lines).status, 0);
  lines += "\nOne-Too-Many: v";
  EXPECT_EQ(Parse(lines).status, 431);
}

TEST(Http1CodecTest, AppendResponseFramesTheAnswer) {
  Response r = Response::Text(200, "hi");
  r.headers.emplace_back("X-A", "1");
  std::string out;
  AppendResponse(out, r, /*keep_alive=*/true, Head{});
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: gantry\r\nContent-Type: text/plain\r\n"
            "Content-Length: 2\r\nX-A: 1\r\n\r\nhi");

  Head head_request;
  head_request.head_method = true;
  out.clear();
  AppendResponse(out, Response::Text(200, "hi"), /*keep_alive=*/false, head_request);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: gantry\r\nContent-Type: text/plain\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n");

  Head http10;
  http10.http10 = true;
  out.clear();
  AppendResponse(out, Response::Text(204, "ignored"), /*keep_alive=*/true, http10);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nServer: gantry\r\nConnection: keep-alive\r\n\r\n");
}

TEST(Http1CodecTest, HeadStepSkipsEmptyLinesAndBoundsTheHeaderBlock) {
  Request req;
  std::string_view two = "\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  RequestHeadParse first = ParseRequestHeadForFuzzing(two, 1024, req);
  EXPECT_EQ(first.status, 0);
  EXPECT_EQ(first.consumed, two.find("GET /b"));
  EXPECT_EQ(req.path, "/a");

  RequestHeadParse partial = ParseRequestHeadForFuzzing("GET /a HTTP/1.1\r\nHost", 1024, req);
  EXPECT_EQ(partial.status, 0);
  EXPECT_EQ(partial.consumed, 0u);

  // Over the limit is refused whether or not the block has ended.
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(100, 'a');
  EXPECT_EQ(ParseRequestHeadForFuzzing(big, 64, req).status, 431);
  EXPECT_EQ(ParseRequestHeadForFuzzing(big + "\r\n\r\n", 64, req).status, 431);
  EXPECT_EQ(ParseRequestHeadForFuzzing(big + "\r\n\r\n", 1024, req).status, 0);
}

}  // namespace
}  // namespace gantry::http::epoll

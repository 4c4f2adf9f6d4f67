// Plain HTTP request/response values shared by the server, the client and the router.
// They carry no Boost types, so only http_server.cc and http_client.cc include Beast.
// Thread-compatible values.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "common/url.h"

namespace gantry::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // decoded path without the query string
  std::map<std::string, std::string> query;    // decoded query parameters
  std::map<std::string, std::string> headers;  // lowercase names
  std::map<std::string, std::string> params;   // filled by the Router from {name} segments
  std::string body;
  // Set instead of `body` when the server streamed the body to a file
  // (HttpServerOptions::body_to_file). The server removes the file once the handler returns;
  // a handler that keeps the content renames the file away first.
  std::string body_file;
  // Set by the server: whether the client has closed its connection while the handler
  // runs, so that long work on its behalf (a URL fetch) can stop. Unset: never gone.
  std::function<bool()> client_gone;
  bool ClientGone() const { return client_gone && client_gone(); }
  std::string remote_address;
  // The request came over TLS (its URL is https://).
  bool tls = false;

  // Header value or "" when absent; `name` in lowercase.
  std::string Header(const std::string& name) const;
  std::string Query(const std::string& name, const std::string& fallback = "") const;
  const std::string& Param(const std::string& name) const;
  // The token from "Authorization: Bearer TOKEN", or "".
  std::string BearerToken() const;
  // The client's credential: the Bearer token, or the password of "Authorization: Basic"
  // (what MLflow's clients send), or "".
  std::string Credential() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response FromJson(int status, const Json& body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain");
  // The one error shape: {"error": {"code": "NotFound", "message": "..."}} with the HTTP
  // status HttpStatusFor(status).
  static Response FromStatus(const Status& status);
};

// The one mapping from Status codes to HTTP status codes.
int HttpStatusFor(const Status& status);
// Inverse, used by clients when a body carries no error code.
StatusCode StatusCodeForHttp(int http_status);

// Splits a request target ("/a%20b?x=1") into the decoded path and query parameters.
void ParseTarget(std::string_view target, Request& req);

// Percent-decoding for paths and query strings ('+' is a space only in queries).
using gantry::UrlDecode;
using gantry::UrlEncode;

}  // namespace gantry::http

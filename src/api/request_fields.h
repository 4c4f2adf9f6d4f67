// Reading a REST request: its JSON body's fields, its query and path parameters, each with one
// rule and one error shape (InvalidArgument naming the field), so that handlers say what they
// read instead of how. Also the one error response and the request's own base URL. Stateless;
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "http/http_types.h"

namespace gantry::api {

// The error answer of a Status: {"error": {"code", "message"}} with its HTTP code.
http::Response Error(const Status& s);

// The JSON body of a request. Reading a field of a body that is not an object is
// InvalidArgument "expected a JSON object".
class BodyFields {
 public:
  // InvalidArgument naming the position when the body is not JSON.
  static Result<BodyFields> Parse(const http::Request& request);
  explicit BodyFields(Json json) : json_(std::move(json)) {}

  const Json& json() const { return json_; }
  bool is_object() const { return json_.is_object(); }
  // Present and not null.
  bool Has(const char* field) const;

  // `fallback` when absent or null; InvalidArgument when of another type.
  Result<std::string> String(const char* field, std::string fallback = "") const;
  Result<int64_t> Int(const char* field, int64_t fallback = 0) const;
  Result<bool> Bool(const char* field, bool fallback = false) const;
  // An object (`fallback` when absent or null).
  Result<Json> Object(const char* field, Json fallback = Json::object()) const;
  // A list (an empty one when absent or null).
  Result<Json> List(const char* field) const;
  // A list of strings.
  Result<std::vector<std::string>> Strings(const char* field) const;
  // An object of strings; a value of another type is kept as its JSON text.
  Result<std::map<std::string, std::string>> StringMap(const char* field) const;
  // A required field: InvalidArgument "field 'NAME' is required" when absent or null.
  Status Require(const char* field) const;

 private:
  Status CheckObject() const;
  Json json_;
};

// A query parameter that is a non-negative integer; `fallback` when absent.
Result<int64_t> QueryInt(const http::Request& request, const std::string& name, int64_t fallback);
// The {version} path parameter: a positive integer.
Result<int64_t> VersionParam(const http::Request& request);
// The {rank} path parameter: a non-negative integer of at most 6 digits.
Result<int64_t> NodeRankParam(const http::Request& request);

// "http://HOST:PORT" (https behind TLS) as the client reached this server.
std::string BaseUrl(const http::Request& request);

}  // namespace gantry::api

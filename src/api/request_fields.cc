#include "api/request_fields.h"

#include <exception>
#include <utility>

namespace gantry::api {

http::Response Error(const Status& s) { return http::Response::FromStatus(s); }

Result<BodyFields> BodyFields::Parse(const http::Request& request) {
  ASSIGN_OR_RETURN(Json json, ParseJson(request.body, "request body"));
  return BodyFields(std::move(json));
}

Status BodyFields::CheckObject() const {
  if (!json_.is_object()) return InvalidArgumentError("expected a JSON object");
  return Status::Ok();
}

bool BodyFields::Has(const char* field) const {
  if (!json_.is_object()) return false;
  auto it = json_.find(field);
  return it != json_.end() && !it->is_null();
}

Result<std::string> BodyFields::String(const char* field, std::string fallback) const {
  return GetString(json_, field, std::move(fallback));
}

Result<int64_t> BodyFields::Int(const char* field, int64_t fallback) const {
  return GetInt(json_, field, fallback);
}

Result<bool> BodyFields::Bool(const char* field, bool fallback) const {
  RETURN_IF_ERROR(CheckObject());
  if (!Has(field)) return fallback;
  const Json& v = json_[field];
  if (!v.is_boolean()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be true or false"));
  }
  return v.get<bool>();
}

Result<Json> BodyFields::Object(const char* field, Json fallback) const {
  RETURN_IF_ERROR(CheckObject());
  if (!Has(field)) return fallback;
  const Json& v = json_[field];
  if (!v.is_object()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be an object"));
  }
  return v;
}

Result<Json> BodyFields::List(const char* field) const {
  RETURN_IF_ERROR(CheckObject());
  if (!Has(field)) return Json::array();
  const Json& v = json_[field];
  if (!v.is_array()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be a list"));
  }
  return v;
}

Result<std::vector<std::string>> BodyFields::Strings(const char* field) const {
  ASSIGN_OR_RETURN(Json list, List(field));
  std::vector<std::string> out;
  for (const Json& v : list) {
    if (!v.is_string()) {
      return Err(InvalidArgumentError(std::string("field '") + field + "' must hold strings"));
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::string>> BodyFields::StringMap(const char* field) const {
  ASSIGN_OR_RETURN(Json object, Object(field));
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : object.items())
    out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

Status BodyFields::Require(const char* field) const {
  if (!Has(field)) return InvalidArgumentError(std::string("field '") + field + "' is required");
  return Status::Ok();
}

Result<int64_t> QueryInt(const http::Request& r, const std::string& name, int64_t fallback) {
  std::string v = r.Query(name);
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size() && n >= 0) return n;
  } catch (const std::exception&) {
  }
  return Err(InvalidArgumentError("query parameter '" + name +
                                  "' must be a non-negative integer, "
                                  "got '" +
                                  v + "'"));
}

Result<int64_t> VersionParam(const http::Request& req) {
  const std::string& v = req.Param("version");
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  return Err(InvalidArgumentError("version must be a positive integer, got '" + v + "'"));
}

Result<int64_t> NodeRankParam(const http::Request& req) {
  const std::string& rank = req.Param("rank");
  if (rank.empty() || rank.size() > 6 ||
      rank.find_first_not_of("0123456789") != std::string::npos) {
    return Err(InvalidArgumentError("node rank '" + rank + "' is not a non-negative integer"));
  }
  return std::stoll(rank);
}

std::string BaseUrl(const http::Request& r) {
  std::string host = r.Header("host");
  return (r.tls ? "https://" : "http://") + (host.empty() ? std::string("127.0.0.1") : host);
}

}  // namespace gantry::api

// Routes: how a REST resource adds its routes. Every route goes behind the credential check
// for its RouteAccess (Api::Guarded, the one place it is made); a handler whose rule depends
// on who called (a run's token registering a model) asks Caller. Also the read routes every
// versioned asset has. Thread-safe once the routes are added.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/request_fields.h"
#include "http/router.h"
#include "workspace/access_policy.h"

namespace gantry::api {

inline constexpr char kApiPrefix[] = "/api/v1";

class Routes {
 public:
  virtual ~Routes() = default;
  virtual void Add(const std::string& method, const std::string& pattern,
                   workspace::RouteAccess access, http::Handler handler) = 0;
  // Who sent the request: a person's token, a run's token, or nobody. Unauthenticated for a
  // credential that is not valid.
  virtual Result<workspace::Principal> Caller(const http::Request& request) const = 0;
};

// GET PREFIX (the list, filtered by ?name=, under `list_key`), PREFIX/NAME (the latest
// version) and PREFIX/NAME/versions/V.
template <typename Record>
void AddVersionedReads(Routes& routes, const std::string& prefix, const char* list_key,
                       std::function<Result<std::vector<Record>>(const std::string&)> list,
                       std::function<Result<Record>(const std::string&, int64_t)> get,
                       Json (*to_json)(const Record&)) {
  using workspace::RouteAccess;
  using workspace::RunAccess;
  routes.Add("GET", prefix, RouteAccess::Read(RunAccess::kAny), [=](http::Request& req) {
    auto records = list(req.Query("name"));
    if (!records.has_value()) return Error(records.error());
    Json out = Json::array();
    for (const auto& record : *records) out.push_back(to_json(record));
    return http::Response::FromJson(200, {{list_key, out}});
  });
  routes.Add("GET", prefix + "/{name}", RouteAccess::Read(RunAccess::kAny),
             [=](http::Request& req) {
               auto record = get(req.Param("name"), 0);
               if (!record.has_value()) return Error(record.error());
               return http::Response::FromJson(200, to_json(*record));
             });
  routes.Add("GET", prefix + "/{name}/versions/{version}", RouteAccess::Read(RunAccess::kAny),
             [=](http::Request& req) {
               auto version = VersionParam(req);
               if (!version.has_value()) return Error(version.error());
               auto record = get(req.Param("name"), *version);
               if (!record.has_value()) return Error(record.error());
               return http::Response::FromJson(200, to_json(*record));
             });
}

}  // namespace gantry::api

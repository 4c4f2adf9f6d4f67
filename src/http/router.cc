#include "http/router.h"

namespace gantry::http {
namespace {
std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Match(const std::vector<std::string>& pattern, const std::vector<std::string>& parts,
           std::map<std::string, std::string>& params) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    bool capture = p.size() > 2 && p.front() == '{' && p.back() == '}';
    if (capture && p.size() > 5 && p.compare(p.size() - 4, 4, "...}") == 0) {
      if (i >= parts.size()) return false;
      std::string rest;
      for (size_t j = i; j < parts.size(); ++j) rest += (j > i ? "/" : "") + parts[j];
      params[p.substr(1, p.size() - 5)] = rest;
      return true;
    }
    if (i >= parts.size()) return false;
    if (capture) {
      params[p.substr(1, p.size() - 2)] = parts[i];
    } else if (p != parts[i]) {
      return false;
    }
  }
  return pattern.size() == parts.size();
}
}  // namespace

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  entries_.push_back(Entry{method, Split(pattern), std::move(handler)});
}

Response Router::Route(Request& request) const {
  auto parts = Split(request.path);
  bool path_known = false;
  for (const auto& e : entries_) {
    std::map<std::string, std::string> params;
    if (!Match(e.segments, parts, params)) continue;
    path_known = true;
    if (e.method != request.method) continue;
    request.params = std::move(params);
    return e.handler(request);
  }
  if (path_known) {
    Response r = Response::FromStatus(
        InvalidArgumentError(request.method + " is not allowed on " + request.path));
    r.status = 405;
    return r;
  }
  return Response::FromStatus(
      NotFoundError("no such endpoint: " + request.method + " " + request.path));
}

}  // namespace gantry::http

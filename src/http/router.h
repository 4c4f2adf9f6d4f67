// Router: maps (method, path pattern) to handlers. Patterns are literal segments and
// {name} captures, plus a trailing {name...} that captures the rest of the path.
// Thread-safe after setup: Add() before serving, Route() concurrently.
#pragma once

#include <string>
#include <vector>

#include "http/http_server.h"

namespace gantry::http {

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler);
  // Dispatches; 404 for an unknown path, 405 for a known path with another method.
  Response Route(Request& request) const;

 private:
  struct Entry {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Entry> entries_;
};

}  // namespace gantry::http

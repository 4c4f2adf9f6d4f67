#include "deploy/replica_link.h"

namespace gantry::deploy {

Result<workspace::ForwardedResponse> ReplicaLink::Forward(
    const std::string& deployment, const std::string& method, const std::string& path,
    const std::string& body, const std::string& content_type,
    const std::map<std::string, std::string>& headers) {
  std::unique_ptr<http::HttpClient> client;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) {
    ASSIGN_OR_RETURN(client, http::HttpClient::Create("http://127.0.0.1:" + std::to_string(port_),
                                                      {.timeout_ms = 300'000}));
  }
  auto answer = client->Send(method, path, body, content_type, headers);
  if (!answer.has_value()) {
    return Err(UnavailableError("the model server of deployment '" + deployment +
                                "' did not answer: " + answer.error().message()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(client));
  }
  workspace::ForwardedResponse out{
      answer->status, std::move(answer->body), std::move(answer->content_type), {}};
  for (const char* name : workspace::kForwardedHeaders) {
    if (auto it = answer->headers.find(name); it != answer->headers.end()) {
      out.headers[name] = it->second;
    }
  }
  return out;
}

}  // namespace gantry::deploy

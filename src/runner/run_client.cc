#include "runner/run_client.h"

#include <algorithm>

#include "common/hashing.h"
#include "http/http_types.h"

namespace gantry::runner {
namespace {

constexpr char kApi[] = "/api/v1";
// Keeps each JSON request far below the server's 16 MiB body limit.
constexpr size_t kEntriesPerRequest = 5000;

std::string Dump(const Json& j) {
  // Job output and error text may hold invalid UTF-8; dump() would throw on it.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status ErrorFor(const http::ClientResponse& r) {
  return http::StatusFromErrorBody(r.status, r.body);
}

}  // namespace

Result<std::unique_ptr<RunClient>> RunClient::Create(const RunClientOptions& options) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<http::HttpClient> http,
      http::HttpClient::Create(options.server_url, http::HttpClientOptions{
                                                       .timeout_ms = options.timeout_ms,
                                                       .bearer_token = options.token,
                                                       .ca_file = options.ca_file,
                                                   }));
  return std::unique_ptr<RunClient>(new RunClient(options, std::move(http)));
}

RunClient::RunClient(RunClientOptions options, std::unique_ptr<http::HttpClient> http)
    : options_(std::move(options)), http_(std::move(http)) {}

std::string RunClient::RunPath(std::string_view suffix) const {
  return std::string(kApi) + "/runs/" + http::UrlEncode(options_.run_name) + std::string(suffix);
}

Result<Json> RunClient::CallJson(const std::string& method, const std::string& path,
                                 const Json& body) {
  ASSIGN_OR_RETURN(http::ClientResponse r,
                   http_->Send(method, path, body.is_null() ? std::string() : Dump(body)));
  if (r.status < 200 || r.status >= 300) return Err(ErrorFor(r));
  if (r.body.empty()) return Json::object();
  return ParseJson(r.body, "server response");
}

Result<Json> RunClient::GetRun() { return CallJson("GET", RunPath(""), nullptr); }

namespace {

// A server answer in its typed shape; Internal naming the call when it is malformed.
template <typename T>
Result<T> Decoded(Result<Json> answer, Result<T> (*decode)(const Json&), const char* call) {
  if (!answer) return Err(answer.error());
  Result<T> typed = decode(*answer);
  if (!typed)
    return Err(InternalError(std::string("the server's answer to ") + call +
                             " is malformed: " + typed.error().message()));
  return typed;
}

}  // namespace

Result<jobs::RunControlReply> RunClient::PostStatus(const jobs::StatusReport& report) {
  return Decoded(CallJson("POST", RunPath("/status"), jobs::StatusReportToJson(report)),
                 &jobs::RunControlReplyFromJson, "a status report");
}

Result<jobs::RunControlReply> RunClient::Heartbeat() {
  return Decoded(CallJson("POST", RunPath("/heartbeat"), Json::object()),
                 &jobs::RunControlReplyFromJson, "a heartbeat");
}

Result<jobs::NodesView> RunClient::PostNode(const jobs::NodeReport& report) {
  return Decoded(CallJson("POST", RunPath("/nodes/" + std::to_string(report.rank)),
                          jobs::NodeReportToJson(report)),
                 &jobs::NodesViewFromJson, "a node report");
}

Result<int64_t> RunClient::AppendLog(int64_t offset, std::string_view data) {
  return AppendLogTo(options_.log_stream, offset, data);
}

Result<int64_t> RunClient::AppendLogTo(const std::string& stream, int64_t offset,
                                       std::string_view data) {
  ASSIGN_OR_RETURN(http::ClientResponse r, http_->Send("POST",
                                                       RunPath("/logs/" + http::UrlEncode(stream) +
                                                               "?offset=" + std::to_string(offset)),
                                                       std::string(data), "text/plain"));
  if (r.status < 200 || r.status >= 300) return Err(ErrorFor(r));
  ASSIGN_OR_RETURN(Json j, ParseJson(r.body, "server response"));
  if (!j.is_object()) return Err(InternalError("log append answer is not an object"));
  ASSIGN_OR_RETURN(int64_t length, GetInt(j, "length", -1));
  if (length < 0) return Err(InternalError("log append answer has no \"length\""));
  return length;
}

Status RunClient::PostMetrics(const Json& metrics, int64_t through) {
  std::string query = "/metrics?through=" + std::to_string(through);
  if (!options_.metrics_sender.empty()) query += "&sender=" + options_.metrics_sender;
  ASSIGN_OR_RETURN(Json answer, CallJson("POST", RunPath(query), Json{{"metrics", metrics}}));
  if (answer.is_object() && answer.value("cancel_requested", false)) cancel_hint_ = true;
  return Status::Ok();
}

Status RunClient::PostTags(const Json& tags) {
  return internal::AsStatus(CallJson("POST", RunPath("/tags"), Json{{"tags", tags}}));
}

Result<artifacts::Tree> RunClient::GetTree(const std::string& id) {
  if (!IsSha256Hex(id)) return Err(InvalidArgumentError("malformed tree id '" + id + "'"));
  ASSIGN_OR_RETURN(http::ClientResponse r, http_->Send("GET", std::string(kApi) + "/trees/" + id));
  if (r.status < 200 || r.status >= 300) return Err(ErrorFor(r));
  Result<artifacts::Tree> tree = artifacts::Tree::FromJson(r.body);
  if (!tree) return Err(tree.error().WithPrefix("tree " + id));
  return tree;
}

Result<std::string> RunClient::GetBlob(const std::string& sha) {
  if (!IsSha256Hex(sha)) return Err(InvalidArgumentError("malformed blob name '" + sha + "'"));
  ASSIGN_OR_RETURN(http::ClientResponse r, http_->Send("GET", std::string(kApi) + "/blobs/" + sha));
  if (r.status < 200 || r.status >= 300) return Err(ErrorFor(r));
  return std::move(r.body);
}

Result<std::vector<std::string>> RunClient::MissingBlobs(const std::vector<std::string>& shas) {
  std::vector<std::string> missing;
  for (size_t begin = 0; begin < shas.size(); begin += kEntriesPerRequest) {
    size_t end = std::min(shas.size(), begin + kEntriesPerRequest);
    Json list(std::vector<std::string>(shas.begin() + begin, shas.begin() + end));
    ASSIGN_OR_RETURN(Json j, CallJson("POST", std::string(kApi) + "/blobs/missing",
                                      Json{{"blobs", std::move(list)}}));
    if (!j.is_object() || !j.contains("missing") || !j["missing"].is_array()) {
      return Err(InternalError("the server's answer to /blobs/missing has no \"missing\" list"));
    }
    for (const Json& sha : j["missing"]) {
      if (sha.is_string()) missing.push_back(sha.get<std::string>());
    }
  }
  return missing;
}

Status RunClient::PutBlob(const std::string& sha, const std::string& data) {
  ASSIGN_OR_RETURN(http::ClientResponse r, http_->Send("PUT", std::string(kApi) + "/blobs/" + sha,
                                                       data, "application/octet-stream"));
  if (r.status < 200 || r.status >= 300) return ErrorFor(r);
  return Status::Ok();
}

Status RunClient::PostArtifacts(const std::vector<artifacts::TreeEntry>& entries) {
  for (size_t begin = 0; begin < entries.size(); begin += kEntriesPerRequest) {
    size_t end = std::min(entries.size(), begin + kEntriesPerRequest);
    Json list = Json::array();
    for (size_t i = begin; i < end; ++i) {
      const auto& e = entries[i];
      list.push_back({{"path", e.path}, {"blob", e.blob}, {"size", e.size}, {"mode", e.mode}});
    }
    RETURN_IF_ERROR(CallJson("POST", RunPath("/artifacts"), Json{{"artifacts", std::move(list)}}));
  }
  return Status::Ok();
}

}  // namespace gantry::runner

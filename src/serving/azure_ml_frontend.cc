#include "serving/azure_ml_frontend.h"

#include "http/http_types.h"
#include "serving/answer_text.h"
#include "serving/fast_json.h"
#include "serving/tensor_json.h"

namespace gantry::serving {

using http::Request;
using http::Response;

void AzureMlFrontend::AddRoutes(http::Router& r) const {
  r.Add("GET", "/", [](Request&) { return Response::Text(200, "Healthy\n"); });
  if (model_.scorer != nullptr) {
    r.Add("POST", "/score", [this](Request& req) { return HandleScoreRaw(req); });
  } else {
    r.Add("POST", "/score", [this](Request& req) { return HandleScore(req); });
  }
}

Response AzureMlFrontend::HandleScoreRaw(const Request& req) const {
  auto answer = model_.scorer->Score(req.body);
  if (!answer.has_value()) {
    return Error(http::HttpStatusFor(answer.error()), answer.error().message());
  }
  Response ok;
  ok.body = std::move(*answer);
  return ok;
}

Response AzureMlFrontend::HandleScore(const Request& req) const {
  // The general path: the requests ReadFast reads went the fast way before reaching here.
  auto body = ParseJson(req.body);
  if (!body.has_value()) return Error(400, body.error().message());
  const Json rows = body->is_object() && body->contains("data") ? (*body)["data"] : *body;
  auto inputs = model_.InputsFromJson(rows, true);
  if (!inputs.has_value()) return Error(400, inputs.error().message());
  auto out = model_.scheduler->Infer(*inputs);
  if (!out.has_value()) return Error(400, out.error().message());
  auto answer = ColumnsOfOutputs(*out);
  if (!answer.has_value()) return Error(400, answer.error().message());
  return Response::FromJson(200, std::move(*answer));
}

bool AzureMlFrontend::TakesFast(const Request& request) const {
  return model_.fast_rows && model_.scheduler != nullptr && request.method == "POST" &&
         request.path == "/score";
}

std::optional<FastRequest> AzureMlFrontend::ReadFast(const Request& request) const {
  if (!model_.fast_rows) return std::nullopt;
  // {"data": rows}, or a bare list of rows.
  auto first = request.body.find_first_not_of(" \t\r\n");
  const bool bare = first != std::string::npos && request.body[first] == '[';
  auto rows = ParseNumberArray(request.body, bare ? "" : "data");
  if (!bare && !rows.has_value() && rows.error().code() == StatusCode::kNotFound) {
    rows = ParseNumberArray(request.body, "");
  }
  if (!rows.has_value()) return std::nullopt;
  FastRequest fast;
  fast.inputs.push_back(model_.NewInput("", std::move(rows->data), std::move(rows->shape), true));
  return fast;
}

Response AzureMlFrontend::AnswerFast(Result<std::vector<Tensor>> outputs,
                                     const std::optional<std::string>&) const {
  if (!outputs.has_value()) return Error(400, outputs.error().message());
  if (auto text = ColumnsText(*outputs)) {
    Response r;
    r.body = std::move(*text);
    return r;
  }
  auto json = ColumnsOfOutputs(*outputs);
  if (!json.has_value()) return Error(400, json.error().message());
  return Response::FromJson(200, std::move(*json));
}

}  // namespace gantry::serving

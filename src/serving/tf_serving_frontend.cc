#include "serving/tf_serving_frontend.h"

#include "serving/answer_text.h"
#include "serving/fast_json.h"
#include "serving/tensor_json.h"
#include "serving/tf_signature.h"

namespace gantry::serving {

using http::Request;
using http::Response;

void TfServingFrontend::AddRoutes(http::Router& r) const {
  for (const char* method : {"GET", "POST"}) {
    r.Add(method, "/v1/models/{name}", [this](Request& req) { return HandleModel(req, false); });
    r.Add(method, "/v1/models/{name}/versions/{version}",
          [this](Request& req) { return HandleModel(req, true); });
  }
  if (model_.info == nullptr) return;
  r.Add("GET", "/v1/models/{name}/metadata", [this](Request& req) { return HandleMetadata(req); });
  r.Add("GET", "/v1/models/{name}/versions/{version}/metadata",
        [this](Request& req) { return HandleMetadata(req); });
}

std::string TfServingFrontend::Signature() const {
  return model_.info == nullptr || model_.info->signature.empty() ? "serving_default"
                                                                  : model_.info->signature;
}

std::optional<Response> TfServingFrontend::NotServed(const std::string& name,
                                                     const std::string& version) const {
  if (name != model_.name || (!version.empty() && version != model_.version)) {
    return Error(404, "Servable not found for request: Specific(" + name + ", " +
                          (version.empty() ? std::string("latest") : version) + ")");
  }
  return std::nullopt;
}

Response TfServingFrontend::HandleModel(const Request& req, bool versioned) const {
  if (model_.scheduler == nullptr) return Error(404, OnlyScoreMessage());
  std::string last = versioned ? req.Param("version") : req.Param("name");
  bool predict = false;
  if (auto colon = last.rfind(':'); colon != std::string::npos) {
    if (last.substr(colon + 1) != "predict") {
      return Error(404, "unsupported method '" + last.substr(colon + 1) + "'");
    }
    predict = true;
    last = last.substr(0, colon);
  }
  const std::string name = versioned ? req.Param("name") : last;
  const std::string version = versioned ? last : "";
  if (auto missing = NotServed(name, version)) return *missing;
  if (predict) {
    if (req.method != "POST") return Error(405, "use POST for :predict");
    return HandlePredict(req);
  }
  if (req.method != "GET") return Error(405, "use GET for model status");
  return Response::FromJson(200, {{"model_version_status",
                                   {{{"version", model_.version},
                                     {"state", "AVAILABLE"},
                                     {"status", {{"error_code", "OK"}, {"error_message", ""}}}}}}});
}

Response TfServingFrontend::HandlePredict(const Request& req) const {
  // The general path: the requests ReadFast reads went the fast way before reaching here.
  auto body = ParseJson(req.body);
  if (!body.has_value()) return Error(400, body.error().message());
  if (!body->is_object()) return Error(400, "the request must be a JSON object");
  if (body->contains("signature_name")) {
    const Json& asked = (*body)["signature_name"];
    if (!asked.is_string()) return Error(400, "'signature_name' must be a string");
    if (asked.get<std::string>() != Signature()) {
      return Error(400, "model '" + model_.name + "' has no signature '" +
                            asked.get<std::string>() + "' here; it serves '" + Signature() +
                            "' (gantry serve --signature NAME serves another)");
    }
  }
  const bool has_instances = body->contains("instances"), has_inputs = body->contains("inputs");
  if (has_instances == has_inputs) {
    return Error(400, "the request must have exactly one of 'instances' or 'inputs'");
  }
  auto inputs = model_.InputsFromJson(has_instances ? (*body)["instances"] : (*body)["inputs"],
                                      has_instances);
  if (!inputs.has_value()) return Error(400, inputs.error().message());
  auto out = model_.scheduler->Infer(*inputs);
  if (!out.has_value()) return Error(400, out.error().message());
  auto answer = has_instances ? RowsOfOutputs(*out) : ColumnsOfOutputs(*out);
  if (!answer.has_value()) return Error(400, answer.error().message());
  return Response::FromJson(200, {{has_instances ? "predictions" : "outputs", std::move(*answer)}});
}

Response TfServingFrontend::HandleMetadata(const Request& req) const {
  if (auto missing = NotServed(req.Param("name"), req.Param("version"))) return *missing;
  auto tensors = [](const std::vector<TensorSpec>& specs) {
    Json map = Json::object();
    for (const auto& s : specs) {
      Json dims = Json::array();
      for (int64_t d : s.shape) dims.push_back({{"size", std::to_string(d)}, {"name", ""}});
      map[s.name] = {{"dtype", TfDtypeName(TfDtypeOfDatatype(s.datatype))},
                     {"tensor_shape", {{"dim", dims}, {"unknown_rank", s.unknown_rank}}},
                     {"name", s.name}};
    }
    return map;
  };
  const ModelInfo& info = *model_.info;
  Json def = {
      {"inputs", tensors(info.inputs)},
      {"outputs", tensors(info.outputs)},
      {"method_name", info.method_name.empty() ? "tensorflow/serving/predict" : info.method_name}};
  return Response::FromJson(
      200,
      {{"model_spec", {{"name", model_.name}, {"signature_name", ""}, {"version", model_.version}}},
       {"metadata", {{"signature_def", {{"signature_def", {{Signature(), def}}}}}}}});
}

bool TfServingFrontend::TakesFast(const Request& request) const {
  constexpr std::string_view kPrefix = "/v1/models/", kPredict = ":predict";
  std::string_view path = request.path;
  if (!model_.fast_rows || model_.scheduler == nullptr || request.method != "POST" ||
      !path.starts_with(kPrefix) || !path.ends_with(kPredict)) {
    return false;
  }
  return model_.IsThisModel(
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kPredict.size()));
}

std::optional<FastRequest> TfServingFrontend::ReadFast(const Request& request) const {
  // Columnar inputs and a named signature take the general path, which checks them.
  if (!model_.fast_rows || request.body.find("\"inputs\"") != std::string::npos ||
      request.body.find("\"signature_name\"") != std::string::npos) {
    return std::nullopt;
  }
  auto rows = ParseNumberArray(request.body, "instances");
  if (!rows.has_value()) return std::nullopt;
  FastRequest fast;
  fast.inputs.push_back(model_.NewInput("", std::move(rows->data), std::move(rows->shape), true));
  return fast;
}

Response TfServingFrontend::AnswerFast(Result<std::vector<Tensor>> outputs,
                                       const std::optional<std::string>&) const {
  if (!outputs.has_value()) return Error(400, outputs.error().message());
  if (auto text = PredictionsText(*outputs)) {
    Response r;
    r.body = std::move(*text);
    return r;
  }
  // Not an answer PredictionsText writes (say, a scalar output as rows): the route's answer,
  // which says what is wrong.
  auto json = RowsOfOutputs(*outputs);
  if (!json.has_value()) return Error(400, json.error().message());
  return Response::FromJson(200, {{"predictions", std::move(*json)}});
}

}  // namespace gantry::serving

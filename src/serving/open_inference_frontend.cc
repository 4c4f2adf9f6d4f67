#include "serving/open_inference_frontend.h"

#include <algorithm>
#include <charconv>

#include "serving/answer_text.h"
#include "serving/fast_json.h"
#include "serving/tensor_bytes.h"
#include "serving/tensor_json.h"

namespace gantry::serving {

using http::Request;
using http::Response;

void OpenInferenceFrontend::AddRoutes(http::Router& r) const {
  r.Add("GET", "/v2/health/live", [](Request&) { return Response::FromJson(200, Json::object()); });
  r.Add("GET", "/v2/health/ready", [this](Request&) { return HandleServerReady(); });
  for (const std::string base : {"/v2/models/{name}", "/v2/models/{name}/versions/{version}"}) {
    r.Add("GET", base, [this](Request& req) { return HandleModelMetadata(req); });
    r.Add("GET", base + "/ready", [this](Request& req) { return HandleModelReady(req); });
    r.Add("POST", base + "/infer", [this](Request& req) { return HandleInfer(req); });
  }
}

Response OpenInferenceFrontend::HandleServerReady() const {
  if (model_.scorer != nullptr && model_.scorer->Stats().workers_ready == 0) {
    return Error(503, "no worker of model '" + model_.name + "' is ready");
  }
  return Response::FromJson(200, Json::object());
}

Response OpenInferenceFrontend::HandleModelMetadata(const Request& req) const {
  if (!model_.Known(req)) return Error(404, "unknown model '" + req.Param("name") + "'");
  if (model_.info == nullptr) {  // an entry script: its tensors are its own business
    return Response::FromJson(200, {{"name", model_.name},
                                    {"versions", {model_.version}},
                                    {"platform", model_.backend},
                                    {"inputs", Json::array()},
                                    {"outputs", Json::array()}});
  }
  auto tensor_json = [](const TensorSpec& s) {
    return Json{{"name", s.name},
                {"datatype", s.datatype},
                {"shape", s.unknown_rank ? std::vector<int64_t>{-1} : s.shape}};
  };
  Json inputs = Json::array(), outputs = Json::array();
  for (const auto& s : model_.info->inputs) inputs.push_back(tensor_json(s));
  for (const auto& s : model_.info->outputs) outputs.push_back(tensor_json(s));
  return Response::FromJson(200, {{"name", model_.name},
                                  {"versions", {model_.version}},
                                  {"platform", model_.info->platform},
                                  {"inputs", inputs},
                                  {"outputs", outputs}});
}

Response OpenInferenceFrontend::HandleModelReady(const Request& req) const {
  if (!model_.Known(req)) return Error(404, "unknown model '" + req.Param("name") + "'");
  return HandleServerReady();
}

Response OpenInferenceFrontend::HandleInfer(const Request& req) const {
  if (model_.scheduler == nullptr) return Error(404, OnlyScoreMessage());
  if (!model_.Known(req)) return Error(404, "unknown model '" + req.Param("name") + "'");
  // The binary tensor data extension: a JSON header of the given length, then the raw
  // values of the inputs that name their binary_data_size, in order.
  std::string_view json_text = req.body, binary;
  if (const std::string header = req.Header("inference-header-content-length"); !header.empty()) {
    size_t length = 0;
    auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), length);
    if (ec != std::errc() || end != header.data() + header.size() || length > req.body.size()) {
      return Error(
          400, "Inference-Header-Content-Length '" + header + "' is not a length within the body");
    }
    json_text = std::string_view(req.body).substr(0, length);
    binary = std::string_view(req.body).substr(length);
  }
  auto body = ParseJson(json_text);
  if (!body.has_value()) return Error(400, body.error().message());
  if (!body->is_object() || !body->contains("inputs") || !(*body)["inputs"].is_array() ||
      (*body)["inputs"].empty()) {
    return Error(400, "'inputs' must be a non-empty list of tensors");
  }
  auto parameters_of = [](const Json& j) {
    return j.is_object() && j.contains("parameters") && j["parameters"].is_object()
               ? j["parameters"]
               : Json::object();
  };
  std::vector<Tensor> tensors;
  for (const Json& in : (*body)["inputs"]) {
    const Json parameters = parameters_of(in);
    const bool raw = parameters.contains("binary_data_size");
    if (!in.is_object() || !in.contains("shape") || (!raw && !in.contains("data"))) {
      return Error(400, "each input needs 'name', 'shape', 'datatype' and 'data'");
    }
    Tensor t;
    if (in.contains("name") && !in["name"].is_string()) {
      return Error(400, "an input's 'name' must be a string");
    }
    if (in.contains("datatype") && !in["datatype"].is_string()) {
      return Error(400, "an input's 'datatype' must be a string");
    }
    t.name = in.value("name", model_.info->inputs[0].name);
    t.datatype = in.value("datatype", "FP32");
    if (!in["shape"].is_array())
      return Error(400, "input '" + t.name + "': 'shape' must be a list");
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return Error(400, "input '" + t.name + "': 'shape' must hold non-negative integers");
      }
      t.shape.push_back(d.get<int64_t>());
    }
    if (raw) {
      const Json& size = parameters["binary_data_size"];
      if (!size.is_number_unsigned() || size.get<uint64_t>() > binary.size()) {
        return Error(400, "input '" + t.name +
                              "': binary_data_size must be a byte count "
                              "within the binary data after the header");
      }
      Status st = DecodeTensorBytes(binary.substr(0, size.get<size_t>()), t.datatype, t.data);
      if (!st.ok()) return Error(400, "input '" + t.name + "': " + st.message());
      binary.remove_prefix(size.get<size_t>());
    } else {
      std::vector<int64_t> flat_shape;
      Status st = FlattenJson(in["data"], t.data, flat_shape);
      if (!st.ok()) return Error(400, "input '" + t.name + "': " + st.message());
    }
    // The product of the dimensions, saturated past 2^53 (no overflow on hostile shapes).
    constexpr int64_t kCap = int64_t{1} << 53;
    int64_t count = 1;
    for (int64_t d : t.shape) {
      if (d == 0) {
        count = 0;
        break;
      }
      count = count > kCap / d ? kCap : count * d;
    }
    if (count != static_cast<int64_t>(t.data.size())) {
      return Error(400, "input '" + t.name + "': shape holds " +
                            (count == kCap ? "over 2^53" : std::to_string(count)) +
                            " values but 'data' has " + std::to_string(t.data.size()));
    }
    tensors.push_back(std::move(t));
  }
  if (!binary.empty()) {
    return Error(400, std::to_string(binary.size()) +
                          " bytes of binary data after the header belong to no input");
  }
  // "outputs": [{"name": ..., "parameters": {"binary_data": bool}}] asks for some of the
  // outputs only; "parameters": {"binary_data_output": true} asks for all in binary.
  std::vector<std::pair<std::string, bool>> wanted;
  if (body->contains("outputs")) {
    const Json& asked = (*body)["outputs"];
    if (!asked.is_array()) return Error(400, "'outputs' must be a list of {\"name\": ...}");
    for (const Json& o : asked) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
        return Error(400, "'outputs' must be a list of {\"name\": ...}");
      }
      const Json p = parameters_of(o);
      wanted.emplace_back(o["name"].get<std::string>(),
                          p.contains("binary_data") && p["binary_data"] == true);
    }
  }
  const Json request_parameters = parameters_of(*body);
  const bool all_binary = wanted.empty() && request_parameters.contains("binary_data_output") &&
                          request_parameters["binary_data_output"] == true;
  auto outputs = model_.scheduler->Infer(tensors);
  if (!outputs.has_value()) return Error(400, outputs.error().message());
  for (const auto& [name, _] : wanted) {
    if (std::none_of(outputs->begin(), outputs->end(),
                     [&](const Tensor& o) { return o.name == name; })) {
      return Error(400, "the model has no output '" + name + "'");
    }
  }
  Json outs = Json::array();
  std::string raw_outputs;
  for (const auto& o : *outputs) {
    auto it = std::find_if(wanted.begin(), wanted.end(),
                           [&](const auto& w) { return w.first == o.name; });
    if (!wanted.empty() && it == wanted.end()) continue;
    Json out = {{"name", o.name}, {"datatype", o.datatype}, {"shape", o.shape}};
    if (all_binary || (it != wanted.end() && it->second)) {
      auto bytes = EncodeTensorBytes(o.data, o.datatype);
      if (!bytes.has_value())
        return Error(400, "output '" + o.name + "': " + bytes.error().message());
      out["parameters"] = {{"binary_data_size", bytes->size()}};
      raw_outputs += *bytes;
    } else {
      Json data = Json::array();
      for (float v : o.data) data.push_back(ValueJson(v, o.datatype));
      out["data"] = std::move(data);
    }
    outs.push_back(std::move(out));
  }
  Json resp = {{"model_name", model_.name}, {"model_version", model_.version}, {"outputs", outs}};
  if (body->contains("id")) resp["id"] = (*body)["id"];
  Response r = Response::FromJson(200, resp);
  if (!raw_outputs.empty()) {
    r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(r.body.size()));
    r.content_type = "application/octet-stream";
    r.body += raw_outputs;
  }
  return r;
}

bool OpenInferenceFrontend::TakesFast(const Request& request) const {
  constexpr std::string_view kPrefix = "/v2/models/", kInfer = "/infer";
  std::string_view path = request.path;
  if (model_.scheduler == nullptr || request.method != "POST" || !path.starts_with(kPrefix) ||
      !path.ends_with(kInfer) || path.size() <= kPrefix.size() + kInfer.size() ||
      !request.Header("inference-header-content-length").empty()) {
    return false;
  }
  return model_.IsThisModel(
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kInfer.size()));
}

std::optional<FastRequest> OpenInferenceFrontend::ReadFast(const Request& request) const {
  auto v2 = ParseV2Request(request.body);
  if (!v2.has_value()) return std::nullopt;
  FastRequest fast;
  fast.id = std::move(v2->id);
  for (V2Input& in : v2->inputs) {
    Tensor t;
    t.name = in.name.empty() ? model_.info->inputs[0].name : std::move(in.name);
    t.datatype = in.datatype.empty() ? "FP32" : std::move(in.datatype);
    t.shape = std::move(in.shape);
    t.data = std::move(in.data);
    fast.inputs.push_back(std::move(t));
  }
  if (fast.inputs.empty()) return std::nullopt;
  return fast;
}

Response OpenInferenceFrontend::AnswerFast(Result<std::vector<Tensor>> outputs,
                                           const std::optional<std::string>& id) const {
  if (!outputs.has_value()) return Error(400, outputs.error().message());
  Response r;
  r.body = V2AnswerText(model_.name, model_.version, *outputs, id);
  return r;
}

}  // namespace gantry::serving

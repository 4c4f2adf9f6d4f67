// TfServingFrontend: TensorFlow Serving's REST API in `gantry serve`:
// /v1/models/NAME[/versions/V] (model status), its `:predict` (row `instances` or columnar
// `inputs`, `signature_name`) and `/metadata` (the SignatureDef as GetModelMetadata answers
// it). Its fast path reads `:predict` with row instances of a one-input model. Over a
// RawScorer it answers that only /score scores. Thread-safe after AddRoutes.
#pragma once

#include "serving/frontend.h"

namespace gantry::serving {

class TfServingFrontend final : public Frontend {
 public:
  using Frontend::Frontend;
  void AddRoutes(http::Router& router) const override;
  bool TakesFast(const http::Request& request) const override;
  std::optional<FastRequest> ReadFast(const http::Request& request) const override;
  http::Response AnswerFast(Result<std::vector<Tensor>> outputs,
                            const std::optional<std::string>& id) const override;

 private:
  // /v1/models/{name} and /v1/models/{name}/versions/{version}, each with or without
  // `:predict` on its last segment (the router does not split at the colon).
  http::Response HandleModel(const http::Request& request, bool versioned) const;
  http::Response HandlePredict(const http::Request& request) const;
  http::Response HandleMetadata(const http::Request& request) const;
  // 404 in TF Serving's words when NAME / VERSION ("" = latest) is not this model.
  std::optional<http::Response> NotServed(const std::string& name,
                                          const std::string& version) const;
  // The SignatureDef served.
  std::string Signature() const;
};

}  // namespace gantry::serving

// OpenInferenceFrontend: the Open Inference Protocol v2 REST (KServe's, Triton's) of
// `gantry serve`: server health, model metadata and readiness, and `/infer` in JSON or with
// the binary tensor data extension. Its fast path reads the common JSON form of `/infer`
// (no binary data, no output selection). Thread-safe after AddRoutes.
#pragma once

#include "serving/frontend.h"

namespace gantry::serving {

class OpenInferenceFrontend final : public Frontend {
 public:
  using Frontend::Frontend;
  void AddRoutes(http::Router& router) const override;
  bool TakesFast(const http::Request& request) const override;
  std::optional<FastRequest> ReadFast(const http::Request& request) const override;
  http::Response AnswerFast(Result<std::vector<Tensor>> outputs,
                            const std::optional<std::string>& id) const override;

 private:
  http::Response HandleServerReady() const;
  http::Response HandleModelMetadata(const http::Request& request) const;
  http::Response HandleModelReady(const http::Request& request) const;
  http::Response HandleInfer(const http::Request& request) const;
};

}  // namespace gantry::serving

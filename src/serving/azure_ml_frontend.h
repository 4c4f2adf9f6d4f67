// AzureMlFrontend: the Azure ML scoring URI's protocol in `gantry serve`: `GET /` (the
// liveness answer Azure's inference server gives) and `POST /score`. Over a ModelBackend the
// body is {"data": rows} or a bare list of rows (or named inputs, as TF Serving's instances);
// over a RawScorer (an entry script's run(raw_data)) it goes to the scorer as it is. The fast
// path reads rows of a one-input model. Thread-safe after AddRoutes.
#pragma once

#include "serving/frontend.h"

namespace gantry::serving {

class AzureMlFrontend final : public Frontend {
 public:
  using Frontend::Frontend;
  void AddRoutes(http::Router& router) const override;
  bool TakesFast(const http::Request& request) const override;
  std::optional<FastRequest> ReadFast(const http::Request& request) const override;
  http::Response AnswerFast(Result<std::vector<Tensor>> outputs,
                            const std::optional<std::string>& id) const override;

 private:
  http::Response HandleScore(const http::Request& request) const;
  http::Response HandleScoreRaw(const http::Request& request) const;
};

}  // namespace gantry::serving

// /tokens, /whoami and /audit: people's access tokens (create, list, revoke), who a credential
// is, and the audit log of what people changed (docs/security.md).
#pragma once

#include "api/routes.h"
#include "workspace/access_service.h"

namespace gantry::api {

class AccessResource {
 public:
  explicit AccessResource(workspace::AccessService& access) : access_(access) {}
  void AddTo(Routes& routes);

 private:
  http::Response CreateToken(http::Request& req);
  http::Response ListTokens(http::Request& req);
  http::Response RevokeToken(http::Request& req);
  http::Response WhoAmI(http::Request& req);
  http::Response Audit(http::Request& req);

  workspace::AccessService& access_;
  Routes* routes_ = nullptr;  // for Caller
};

}  // namespace gantry::api

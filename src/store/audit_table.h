// AuditTable: the audit log of mutating REST calls, append-only, in the order they were
// recorded. Part of a MetadataStore (MetadataStore::audit()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::store {

// One mutating REST call: who, what, when, and how it ended.
struct AuditRecord {
  int64_t id = 0;         // assigned by AppendAudit, increasing
  int64_t time = 0;       // epoch ms
  std::string principal;  // "token:tk_… (owner)", "run:NAME", "anonymous"
  std::string method;
  std::string path;
  int status = 0;      // the HTTP status answered
  std::string remote;  // the client's address
};

class AuditTable {
 public:
  virtual ~AuditTable() = default;

  // Appends `record`, assigning record.id.
  virtual Status AppendAudit(AuditRecord& record) = 0;
  // Up to `limit` records with id > `after_id`, oldest first.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, int limit) = 0;
};

}  // namespace gantry::store

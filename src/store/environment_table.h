// EnvironmentTable: registered environments — numbered versions per name, each a spec and the
// hash that names its build. Part of a MetadataStore (MetadataStore::environments()).
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct EnvironmentRecord {
  std::string name;
  int64_t version = 0;  // assigned by CreateEnvironment
  std::string description;
  Json spec = Json::object();  // python / conda / pip / docker / environment_variables
  std::string hash;            // SHA-256 of the canonical spec: names its build
  int64_t created_at = 0;
};

class EnvironmentTable {
 public:
  virtual ~EnvironmentTable() = default;

  // Assigns the next version of the name.
  virtual Status CreateEnvironment(EnvironmentRecord& environment) = 0;
  // `version` 0 = latest. NotFound naming it.
  virtual Result<EnvironmentRecord> GetEnvironment(const std::string& name, int64_t version) = 0;
  // Every version of every environment, by name then version.
  virtual Result<std::vector<EnvironmentRecord>> ListEnvironments() = 0;
};

}  // namespace gantry::store

// DatasetTable: registered datasets — numbered versions per name, each pinning a content
// manifest (a tree in the artifact store). Part of a MetadataStore (MetadataStore::datasets()).
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct DatasetRecord {
  std::string name;
  int64_t version = 0;  // 0 in CreateDataset: assign 1 + the highest so far
  std::string description;
  std::string type = "uri_folder";  // uri_folder | uri_file
  std::string tree_id;              // the pinned content manifest
  Json sources = Json::array();     // what it was registered from: paths, globs, URLs
  Json tags = Json::object();
  int64_t created_at = 0;
};

class DatasetTable {
 public:
  virtual ~DatasetTable() = default;

  // Inserts a dataset version (assigning it when 0). AlreadyExists when that version exists.
  virtual Status CreateDataset(DatasetRecord& dataset) = 0;
  // `version` 0 means the latest. NotFound naming the dataset (and version).
  virtual Result<DatasetRecord> GetDataset(const std::string& name, int64_t version) = 0;
  // All versions (of `name` when not empty), by name then version.
  virtual Result<std::vector<DatasetRecord>> ListDatasets(const std::string& name) = 0;
};

}  // namespace gantry::store

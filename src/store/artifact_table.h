// ArtifactTable: the artifact index of runs — which path of a run's outputs is which blob of
// the artifact store (the bytes live there, not here). Part of a MetadataStore
// (MetadataStore::artifacts()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::store {

struct ArtifactRecord {
  std::string path;  // relative, e.g. "outputs/model.pt"
  std::string blob;  // SHA-256 of the content
  int64_t size = 0;
  uint32_t mode = 0644;
};

class ArtifactTable {
 public:
  virtual ~ArtifactTable() = default;

  // Inserts or replaces artifact entries of a run, all in one transaction.
  virtual Status PutArtifacts(const std::string& run,
                              const std::vector<ArtifactRecord>& artifacts) = 0;
  // Artifacts whose path starts with `prefix`, by path.
  virtual Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run,
                                                            const std::string& prefix = "") = 0;
};

}  // namespace gantry::store

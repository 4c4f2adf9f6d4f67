// The fixture of the MetadataStore conformance suites, one per table interface
// (X_table_conformance_test.cc). Each test gets a fresh store of every implementation listed
// in AllStoreFactories(); a table's suite is a fixture derived from StoreConformanceTest,
// instantiated with
//   INSTANTIATE_TEST_SUITE_P(AllStores, XTableConformanceTest,
//                            ::testing::ValuesIn(AllStoreFactories()), StoreLabel);
// so a backend that implements some tables so far runs the suites of those.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/files.h"
#include "store/metadata_store.h"

namespace gantry::store {

struct StoreFactory {
  std::string label;
  // Returns the URI to open, given a fresh temp folder.
  std::function<std::string(const fs::path&)> uri;
};

// Every MetadataStore implementation the suites run against.
inline std::vector<StoreFactory> AllStoreFactories() {
  return {
      StoreFactory{"SqliteFile",
                   [](const fs::path& d) { return "sqlite:" + (d / "gantry.db").string(); }},
      StoreFactory{"SqliteMemory", [](const fs::path&) { return std::string("sqlite::memory:"); }},
  };
}

inline std::string StoreLabel(const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.label;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-store-test");
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<MetadataStore> Open() {
    auto s = OpenMetadataStore({GetParam().uri(dir_)});
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return std::move(*s);
  }

  fs::path dir_;
  std::unique_ptr<MetadataStore> store_;
};

}  // namespace gantry::store

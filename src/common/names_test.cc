#include "common/names.h"

#include <gtest/gtest.h>

#include <string>

namespace gantry {
namespace {

TEST(NamesTest, AcceptsTheNamesAzureExamplesUse) {
  for (const char* name : {"tf-mnist", "AzureML-Minimal", "Gantry-PyTorch-Debian", "mnist_model",
                           "sklearn.regression", "a", "0", "keen_river_3k2j4h5g"}) {
    EXPECT_TRUE(IsValidName(name)) << name;
    EXPECT_TRUE(ValidateName("model name", name).ok()) << name;
  }
  EXPECT_TRUE(IsValidName(std::string(255, 'a')));
}

TEST(NamesTest, RefusesPathsDotsAndLongNames) {
  for (const char* name : {"", ".", "..", "../x", "a/b", "/abs", "a\\b", ".hidden", "-rf", "_x",
                           "name:2", "name@latest", "has space", "tab\t", "caf\xc3\xa9"}) {
    EXPECT_FALSE(IsValidName(name)) << name;
  }
  EXPECT_FALSE(IsValidName(std::string(256, 'a')));
  EXPECT_FALSE(IsValidName(std::string("a\0b", 3)));
}

TEST(NamesTest, ErrorNamesTheFieldAndTheValue) {
  Status st = ValidateName("dataset name", "../x");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("dataset name '../x'"), std::string::npos) << st.message();

  st = ValidateName("experiment name", std::string(300, 'b'));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("longer than 255"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("(300 characters)"), std::string::npos) << st.message();

  st = ValidateName("model name", "a\nb");
  EXPECT_NE(st.message().find("'a\\x0ab'"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace gantry

#include "serving/tensor_bytes.h"

#include <gtest/gtest.h>

#include <cstring>

namespace gantry::serving {
namespace {

TEST(TensorBytesTest, RoundTripsEachDatatype) {
  const std::vector<float> values = {0, 1, 2, 127};
  for (const char* datatype :
       {"FP32", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}) {
    auto bytes = EncodeTensorBytes(values, datatype);
    ASSERT_TRUE(bytes.has_value()) << datatype;
    EXPECT_EQ(bytes->size(), values.size() * BytesPerValue(datatype)) << datatype;
    std::vector<float> back;
    ASSERT_TRUE(DecodeTensorBytes(*bytes, datatype, back).ok()) << datatype;
    EXPECT_EQ(back, values) << datatype;
  }
}

TEST(TensorBytesTest, ReadsLittleEndianValuesAsNumPyWritesThem) {
  int64_t ints[2] = {-3, 1 << 20};
  std::vector<float> out = {9};  // appended to
  ASSERT_TRUE(
      DecodeTensorBytes(std::string_view(reinterpret_cast<char*>(ints), sizeof(ints)), "INT64", out)
          .ok());
  EXPECT_EQ(out, (std::vector<float>{9, -3, 1 << 20}));
  auto bools = EncodeTensorBytes({0, 2, -1}, "BOOL");
  ASSERT_TRUE(bools.has_value());
  EXPECT_EQ(*bools, std::string("\x00\x01\x01", 3));
}

TEST(TensorBytesTest, RefusesPartialValuesAndTypesWithoutARawForm) {
  std::vector<float> out;
  Status partial = DecodeTensorBytes("abcde", "FP32", out);
  EXPECT_EQ(partial.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(partial.message().find("5 bytes"), std::string::npos);
  EXPECT_EQ(DecodeTensorBytes("ab", "FP16", out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeTensorBytes("ab", "BYTES", out).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(EncodeTensorBytes({1}, "BYTES").has_value());
  EXPECT_EQ(BytesPerValue("nope"), 0u);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace gantry::serving

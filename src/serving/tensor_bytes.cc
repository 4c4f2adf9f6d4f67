#include "serving/tensor_bytes.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace gantry::serving {
namespace {

template <typename T>
void DecodeAs(std::string_view bytes, std::vector<float>& out) {
  const size_t n = bytes.size() / sizeof(T);
  out.reserve(out.size() + n);
  for (size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<float>(v));
  }
}

template <typename T>
std::string EncodeAs(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    T v = static_cast<T>(values[i]);
    std::memcpy(out.data() + i * sizeof(T), &v, sizeof(T));
  }
  return out;
}

}  // namespace

// Gantry runs on little-endian machines only (x86-64, aarch64), the extension's byte order.
static_assert(std::endian::native == std::endian::little);

size_t BytesPerValue(std::string_view datatype) {
  if (datatype == "BOOL" || datatype == "INT8" || datatype == "UINT8") return 1;
  if (datatype == "INT16" || datatype == "UINT16") return 2;
  if (datatype == "FP32" || datatype == "INT32" || datatype == "UINT32") return 4;
  if (datatype == "FP64" || datatype == "INT64" || datatype == "UINT64") return 8;
  return 0;
}

Status DecodeTensorBytes(std::string_view bytes, std::string_view datatype,
                         std::vector<float>& out) {
  const size_t size = BytesPerValue(datatype);
  if (size == 0) {
    return InvalidArgumentError("binary data of datatype " + std::string(datatype) +
                                " is not supported");
  }
  if (bytes.size() % size != 0) {
    return InvalidArgumentError(std::to_string(bytes.size()) + " bytes are not a whole number of " +
                                std::string(datatype) + " values");
  }
  if (datatype == "FP32")
    DecodeAs<float>(bytes, out);
  else if (datatype == "FP64")
    DecodeAs<double>(bytes, out);
  else if (datatype == "INT8")
    DecodeAs<int8_t>(bytes, out);
  else if (datatype == "INT16")
    DecodeAs<int16_t>(bytes, out);
  else if (datatype == "INT32")
    DecodeAs<int32_t>(bytes, out);
  else if (datatype == "INT64")
    DecodeAs<int64_t>(bytes, out);
  else if (datatype == "UINT8" || datatype == "BOOL")
    DecodeAs<uint8_t>(bytes, out);
  else if (datatype == "UINT16")
    DecodeAs<uint16_t>(bytes, out);
  else if (datatype == "UINT32")
    DecodeAs<uint32_t>(bytes, out);
  else
    DecodeAs<uint64_t>(bytes, out);
  return Status::Ok();
}

Result<std::string> EncodeTensorBytes(const std::vector<float>& values, std::string_view datatype) {
  if (datatype == "FP32") return EncodeAs<float>(values);
  if (datatype == "FP64") return EncodeAs<double>(values);
  if (datatype == "INT8") return EncodeAs<int8_t>(values);
  if (datatype == "INT16") return EncodeAs<int16_t>(values);
  if (datatype == "INT32") return EncodeAs<int32_t>(values);
  if (datatype == "INT64") return EncodeAs<int64_t>(values);
  if (datatype == "UINT8") return EncodeAs<uint8_t>(values);
  if (datatype == "UINT16") return EncodeAs<uint16_t>(values);
  if (datatype == "UINT32") return EncodeAs<uint32_t>(values);
  if (datatype == "UINT64") return EncodeAs<uint64_t>(values);
  if (datatype == "BOOL") {
    std::string out(values.size(), '\0');
    for (size_t i = 0; i < values.size(); ++i) out[i] = values[i] != 0.0f ? 1 : 0;
    return out;
  }
  return Err(InvalidArgumentError("binary data of datatype " + std::string(datatype) +
                                  " is not supported"));
}

}  // namespace gantry::serving

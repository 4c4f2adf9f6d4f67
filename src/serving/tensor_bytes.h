// The raw little-endian bytes of a tensor's values, as the binary tensor data extension of the
// Open Inference Protocol (Triton's, which tritonclient uses by default) carries them after the
// JSON header: decoding into and encoding from the float values a Tensor holds. Pure functions;
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace gantry::serving {

// Bytes per value of a v2 datatype that travels as raw numbers; 0 for others (BYTES, FP16,
// BF16 and unknown names).
size_t BytesPerValue(std::string_view datatype);

// Appends the values `bytes` holds to `out`. InvalidArgument for a datatype without a raw form
// or a length that is not a whole number of values.
Status DecodeTensorBytes(std::string_view bytes, std::string_view datatype,
                         std::vector<float>& out);

// The raw form of `values` as `datatype`; InvalidArgument for a datatype without one.
Result<std::string> EncodeTensorBytes(const std::vector<float>& values, std::string_view datatype);

}  // namespace gantry::serving

#include "serving/tf_signature.h"

#include <algorithm>

namespace gantry::serving {
namespace {

// Field numbers, from TensorFlow's meta_graph.proto and tensor_shape.proto.
constexpr uint32_t kMetaGraphMetaInfo = 1, kMetaGraphSignatureDef = 5;
constexpr uint32_t kMetaInfoTags = 4, kMetaInfoTensorflowVersion = 5;
constexpr uint32_t kMapKey = 1, kMapValue = 2;
constexpr uint32_t kSignatureInputs = 1, kSignatureOutputs = 2, kSignatureMethodName = 3;
constexpr uint32_t kTensorInfoName = 1, kTensorInfoDtype = 2, kTensorInfoShape = 3,
                   kTensorInfoCooSparse = 4, kTensorInfoComposite = 5;
constexpr uint32_t kShapeDim = 2, kShapeUnknownRank = 3;
constexpr uint32_t kDimSize = 1;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One field as read off the wire: its number, and its varint value or its bytes.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Reads the fields of one message in order. Every read is bounded by what is left.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : rest_(bytes) {}

  bool done() const { return rest_.empty(); }

  Result<Field> Next() {
    Field f;
    ASSIGN_OR_RETURN(uint64_t tag, Varint());
    f.number = static_cast<uint32_t>(tag >> 3);
    f.wire_type = static_cast<uint32_t>(tag & 7);
    if (f.number == 0 || (tag >> 3) > 0x1fffffff) {
      return Err(InvalidArgumentError("field number out of range"));
    }
    switch (f.wire_type) {
      case kVarint: {
        ASSIGN_OR_RETURN(f.varint, Varint());
        return f;
      }
      case kFixed64:
        return Skip(8, f);
      case kFixed32:
        return Skip(4, f);
      case kLengthDelimited: {
        ASSIGN_OR_RETURN(uint64_t length, Varint());
        if (length > rest_.size()) {
          return Err(InvalidArgumentError("a length of " + std::to_string(length) +
                                          " bytes runs past the end of the message"));
        }
        f.bytes = rest_.substr(0, length);
        rest_.remove_prefix(length);
        return f;
      }
      default:  // 3 and 4 are the long-deprecated groups, 6 and 7 do not exist
        return Err(InvalidArgumentError("unsupported wire type " + std::to_string(f.wire_type)));
    }
  }

 private:
  Result<uint64_t> Varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (rest_.empty()) return Err(InvalidArgumentError("truncated varint"));
      auto byte = static_cast<uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return Err(InvalidArgumentError("varint longer than 10 bytes"));
  }

  Result<Field> Skip(size_t n, Field f) {
    if (rest_.size() < n) return Err(InvalidArgumentError("truncated fixed-width field"));
    f.bytes = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return f;
  }

  std::string_view rest_;
};

// A length-delimited field where one is expected.
Result<std::string_view> Bytes(const Field& f, const char* what) {
  if (f.wire_type != kLengthDelimited) {
    return Err(InvalidArgumentError(std::string(what) + " has wire type " +
                                    std::to_string(f.wire_type) + ", not a length-delimited one"));
  }
  return f.bytes;
}

Result<uint64_t> Varint(const Field& f, const char* what) {
  if (f.wire_type != kVarint) {
    return Err(InvalidArgumentError(std::string(what) + " is not a varint"));
  }
  return f.varint;
}

// A map<string, Message> entry: its key and its value's bytes.
Result<std::pair<std::string, std::string_view>> MapEntry(std::string_view bytes,
                                                          const char* what) {
  std::pair<std::string, std::string_view> entry;
  WireReader r(bytes);
  while (!r.done()) {
    ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == kMapKey) {
      ASSIGN_OR_RETURN(auto key, Bytes(f, what));
      entry.first = std::string(key);
    } else if (f.number == kMapValue) {
      ASSIGN_OR_RETURN(entry.second, Bytes(f, what));
    }
  }
  return entry;
}

Status ParseShape(std::string_view bytes, TfTensorInfo& info) {
  WireReader r(bytes);
  while (!r.done()) {
    ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == kShapeDim) {
      ASSIGN_OR_RETURN(auto dim_bytes, Bytes(f, "TensorShapeProto.dim"));
      int64_t size = 0;  // an absent size is protobuf's default, 0
      WireReader dim(dim_bytes);
      while (!dim.done()) {
        ASSIGN_OR_RETURN(Field d, dim.Next());
        if (d.number == kDimSize) {
          ASSIGN_OR_RETURN(uint64_t v, Varint(d, "Dim.size"));
          size = static_cast<int64_t>(v);  // -1 is sent as a 10-byte two's complement varint
        }
      }
      if (size < -1) return InvalidArgumentError("dimension size " + std::to_string(size));
      info.shape.push_back(size);
    } else if (f.number == kShapeUnknownRank) {
      ASSIGN_OR_RETURN(uint64_t v, Varint(f, "TensorShapeProto.unknown_rank"));
      info.unknown_rank = v != 0;
    }
  }
  if (info.unknown_rank) info.shape.clear();
  return Status::Ok();
}

Result<TfTensorInfo> ParseTensorInfo(std::string key, std::string_view bytes) {
  TfTensorInfo info;
  info.key = std::move(key);
  WireReader r(bytes);
  while (!r.done()) {
    ASSIGN_OR_RETURN(Field f, r.Next());
    switch (f.number) {
      case kTensorInfoName: {
        ASSIGN_OR_RETURN(auto name, Bytes(f, "TensorInfo.name"));
        info.tensor_name = std::string(name);
        break;
      }
      case kTensorInfoDtype: {
        ASSIGN_OR_RETURN(uint64_t v, Varint(f, "TensorInfo.dtype"));
        info.dtype = v > 1000 ? -1 : static_cast<int>(v);
        break;
      }
      case kTensorInfoShape: {
        ASSIGN_OR_RETURN(auto shape, Bytes(f, "TensorInfo.tensor_shape"));
        info.shape.clear();
        info.unknown_rank = false;
        RETURN_IF_ERROR(ParseShape(shape, info));
        break;
      }
      case kTensorInfoCooSparse:
        return Err(InvalidArgumentError("tensor '" + info.key +
                                        "' is a sparse tensor, which is not supported"));
      case kTensorInfoComposite:
        return Err(InvalidArgumentError("tensor '" + info.key +
                                        "' is a composite tensor, which is not supported"));
      default:
        break;
    }
  }
  if (info.tensor_name.empty()) {
    return Err(InvalidArgumentError("tensor '" + info.key + "' has no graph tensor name"));
  }
  return info;
}

Result<TfSignature> ParseSignature(std::string name, std::string_view bytes) {
  TfSignature sig;
  sig.name = std::move(name);
  WireReader r(bytes);
  while (!r.done()) {
    ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == kSignatureInputs || f.number == kSignatureOutputs) {
      ASSIGN_OR_RETURN(auto entry_bytes, Bytes(f, "SignatureDef inputs/outputs"));
      ASSIGN_OR_RETURN(auto entry, MapEntry(entry_bytes, "SignatureDef inputs/outputs entry"));
      auto info = ParseTensorInfo(entry.first, entry.second);
      if (!info.has_value()) return Err(info.error().WithPrefix("signature '" + sig.name + "'"));
      (f.number == kSignatureInputs ? sig.inputs : sig.outputs).push_back(std::move(*info));
    } else if (f.number == kSignatureMethodName) {
      ASSIGN_OR_RETURN(auto method, Bytes(f, "SignatureDef.method_name"));
      sig.method_name = std::string(method);
    }
  }
  auto by_key = [](const TfTensorInfo& a, const TfTensorInfo& b) { return a.key < b.key; };
  std::sort(sig.inputs.begin(), sig.inputs.end(), by_key);
  std::sort(sig.outputs.begin(), sig.outputs.end(), by_key);
  return sig;
}

Status ParseMetaInfo(std::string_view bytes, TfMetaGraph& graph) {
  WireReader r(bytes);
  while (!r.done()) {
    ASSIGN_OR_RETURN(Field f, r.Next());
    if (f.number == kMetaInfoTags) {
      ASSIGN_OR_RETURN(auto tag, Bytes(f, "MetaInfoDef.tags"));
      graph.tags.emplace_back(tag);
    } else if (f.number == kMetaInfoTensorflowVersion) {
      ASSIGN_OR_RETURN(auto version, Bytes(f, "MetaInfoDef.tensorflow_version"));
      graph.tensorflow_version = std::string(version);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<TfMetaGraph> ParseMetaGraph(std::string_view bytes) {
  TfMetaGraph graph;
  WireReader r(bytes);
  while (!r.done()) {
    auto f = r.Next();
    if (!f.has_value()) return Err(f.error().WithPrefix("malformed MetaGraphDef"));
    if (f->number == kMetaGraphMetaInfo) {
      Status st = [&]() -> Status {
        ASSIGN_OR_RETURN(auto meta, Bytes(*f, "MetaGraphDef.meta_info_def"));
        return ParseMetaInfo(meta, graph);
      }();
      if (!st.ok()) return Err(st.WithPrefix("malformed MetaGraphDef"));
    } else if (f->number == kMetaGraphSignatureDef) {
      auto sig = [&]() -> Result<TfSignature> {
        ASSIGN_OR_RETURN(auto entry_bytes, Bytes(*f, "MetaGraphDef.signature_def"));
        ASSIGN_OR_RETURN(auto entry, MapEntry(entry_bytes, "MetaGraphDef.signature_def entry"));
        return ParseSignature(entry.first, entry.second);
      }();
      if (!sig.has_value()) return Err(sig.error().WithPrefix("malformed MetaGraphDef"));
      // A map key seen twice: the last one wins, as protobuf's parser has it.
      std::erase_if(graph.signatures, [&](const TfSignature& s) { return s.name == sig->name; });
      graph.signatures.push_back(std::move(*sig));
    }
  }
  std::sort(graph.signatures.begin(), graph.signatures.end(),
            [](const TfSignature& a, const TfSignature& b) { return a.name < b.name; });
  return graph;
}

Result<const TfSignature*> FindSignature(const TfMetaGraph& graph, std::string_view name) {
  std::string names;
  for (const auto& s : graph.signatures) {
    if (s.name == name) return &s;
    if (s.name.starts_with("__")) continue;  // "__saved_model_init_op" is not for clients
    names += (names.empty() ? "'" : ", '") + s.name + "'";
  }
  return Err(NotFoundError(
      "no signature '" + std::string(name) + "'; " +
      (names.empty() ? std::string("the SavedModel has none") : "the SavedModel has " + names)));
}

namespace {
struct DtypeName {
  int dtype;
  std::string_view datatype;  // Open Inference Protocol
  std::string_view tf_name;
};
// TensorFlow's DataType values (types.proto), which TF_DataType repeats.
constexpr DtypeName kDtypes[] = {
    {1, "FP32", "DT_FLOAT"},     {2, "FP64", "DT_DOUBLE"},    {3, "INT32", "DT_INT32"},
    {4, "UINT8", "DT_UINT8"},    {5, "INT16", "DT_INT16"},    {6, "INT8", "DT_INT8"},
    {7, "BYTES", "DT_STRING"},   {8, "", "DT_COMPLEX64"},     {9, "INT64", "DT_INT64"},
    {10, "BOOL", "DT_BOOL"},     {11, "", "DT_QINT8"},        {12, "", "DT_QUINT8"},
    {13, "", "DT_QINT32"},       {14, "BF16", "DT_BFLOAT16"}, {15, "", "DT_QINT16"},
    {16, "", "DT_QUINT16"},      {17, "UINT16", "DT_UINT16"}, {18, "", "DT_COMPLEX128"},
    {19, "FP16", "DT_HALF"},     {20, "", "DT_RESOURCE"},     {21, "", "DT_VARIANT"},
    {22, "UINT32", "DT_UINT32"}, {23, "UINT64", "DT_UINT64"},
};
}  // namespace

std::string_view DatatypeOfTf(int dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.datatype;
  }
  return "";
}

int TfDtypeOfDatatype(std::string_view datatype) {
  if (datatype.empty()) return 0;
  for (const auto& d : kDtypes) {
    if (d.datatype == datatype) return d.dtype;
  }
  return 0;
}

std::string TfDtypeName(int dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return std::string(d.tf_name);
  }
  return "DT_INVALID";
}

}  // namespace gantry::serving

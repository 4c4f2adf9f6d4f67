#include "serving/tf_signature.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace gantry::serving {
namespace {

// A protobuf encoder just big enough to write MetaGraphDefs by hand.
std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}
std::string Tag(uint32_t field, uint32_t wire) { return Varint((uint64_t{field} << 3) | wire); }
std::string Len(uint32_t field, const std::string& bytes) {
  return Tag(field, 2) + Varint(bytes.size()) + bytes;
}
std::string Int(uint32_t field, int64_t v) {
  return Tag(field, 0) + Varint(static_cast<uint64_t>(v));
}

std::string Shape(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += Len(2, Int(1, d));
  return s;
}
std::string TensorInfo(const std::string& name, int dtype, const std::string& shape) {
  return Len(1, name) + Int(2, dtype) + Len(3, shape);
}
std::string MapEntry(const std::string& key, const std::string& value) {
  return Len(1, key) + Len(2, value);
}
std::string Signature(const std::string& inputs, const std::string& outputs,
                      const std::string& method) {
  return inputs + outputs + Len(3, method);
}

// MetaGraphDef as TF 2 writes it for a model with serving_default(x: float[?, 3]) -> y.
std::string MnistLike() {
  std::string meta_info = Len(4, "serve") + Len(5, "2.21.0") + Len(1, "graph version");
  std::string sig =
      Signature(Len(1, MapEntry("x", TensorInfo("serving_default_x:0", 1, Shape({-1, 3})))),
                Len(2, MapEntry("y", TensorInfo("StatefulPartitionedCall:0", 1, Shape({-1, 2})))),
                "tensorflow/serving/predict");
  std::string init =
      Signature("", Len(2, MapEntry("__saved_model_init_op", TensorInfo("NoOp", 0, ""))), "");
  // A graph_def (field 2) and a collection_def (field 4) the reader must skip.
  return Len(1, meta_info) + Len(2, std::string(300, '\x08')) + Len(4, "whatever") +
         Len(5, MapEntry("serving_default", sig)) + Len(5, MapEntry("__saved_model_init_op", init));
}

TEST(TfSignatureTest, ReadsSignaturesShapesAndVersion) {
  auto graph = ParseMetaGraph(MnistLike());
  ASSERT_TRUE(graph.has_value()) << graph.error().ToString();
  EXPECT_EQ(graph->tensorflow_version, "2.21.0");
  EXPECT_EQ(graph->tags, std::vector<std::string>{"serve"});
  ASSERT_EQ(graph->signatures.size(), 2u);
  auto sig = FindSignature(*graph, "serving_default");
  ASSERT_TRUE(sig.has_value());
  const TfSignature& s = **sig;
  EXPECT_EQ(s.method_name, "tensorflow/serving/predict");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].key, "x");
  EXPECT_EQ(s.inputs[0].tensor_name, "serving_default_x:0");
  EXPECT_EQ(s.inputs[0].dtype, 1);
  EXPECT_EQ(s.inputs[0].shape, (std::vector<int64_t>{-1, 3}));
  EXPECT_FALSE(s.inputs[0].unknown_rank);
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].key, "y");
  EXPECT_EQ(s.outputs[0].tensor_name, "StatefulPartitionedCall:0");
  EXPECT_EQ(s.outputs[0].shape, (std::vector<int64_t>{-1, 2}));
}

TEST(TfSignatureTest, SortsInputsByKeyAndKeepsScalarsAndUnknownRanks) {
  std::string sig =
      Signature(Len(1, MapEntry("b", TensorInfo("in_b:0", 9, ""))) +  // a scalar: no dims
                    Len(1, MapEntry("a", TensorInfo("in_a:0", 1, Int(3, 1) + Shape({5})))),
                Len(2, MapEntry("out", TensorInfo("out:0", 3, Shape({})))), "m");
  auto graph = ParseMetaGraph(Len(5, MapEntry("s", sig)));
  ASSERT_TRUE(graph.has_value()) << graph.error().ToString();
  const TfSignature& s = graph->signatures.at(0);
  ASSERT_EQ(s.inputs.size(), 2u);
  EXPECT_EQ(s.inputs[0].key, "a");
  EXPECT_TRUE(s.inputs[0].unknown_rank);  // unknown_rank wins over the dims beside it
  EXPECT_TRUE(s.inputs[0].shape.empty());
  EXPECT_EQ(s.inputs[1].key, "b");
  EXPECT_EQ(s.inputs[1].dtype, 9);
  EXPECT_TRUE(s.inputs[1].shape.empty());
  EXPECT_FALSE(s.inputs[1].unknown_rank);
}

TEST(TfSignatureTest, MissingSignatureNamesTheOnesThereAre) {
  auto graph = ParseMetaGraph(MnistLike());
  ASSERT_TRUE(graph.has_value());
  auto sig = FindSignature(*graph, "predict");
  ASSERT_FALSE(sig.has_value());
  EXPECT_EQ(sig.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(sig.error().message(), "no signature 'predict'; the SavedModel has 'serving_default'");
  auto empty = ParseMetaGraph("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_NE(
      FindSignature(*empty, "serving_default").error().message().find("the SavedModel has none"),
      std::string::npos);
}

TEST(TfSignatureTest, RefusesMalformedBytes) {
  std::string good = MnistLike();
  // Every truncation of a valid message either parses (it ended between fields) or fails
  // with InvalidArgument; none reads past the end.
  for (size_t n = 0; n < good.size(); ++n) {
    auto graph = ParseMetaGraph(std::string_view(good).substr(0, n));
    if (!graph.has_value()) {
      EXPECT_EQ(graph.error().code(), StatusCode::kInvalidArgument);
      EXPECT_TRUE(graph.error().message().starts_with("malformed MetaGraphDef")) << n;
    }
  }
  EXPECT_NE(ParseMetaGraph("\x2a\x7f").error().message().find("runs past the end"),
            std::string::npos);
  EXPECT_NE(ParseMetaGraph("\x2a").error().message().find("truncated varint"), std::string::npos);
  EXPECT_NE(ParseMetaGraph(std::string(11, '\xff')).error().message().find("longer than 10"),
            std::string::npos);
  EXPECT_NE(ParseMetaGraph("\x0b").error().message().find("wire type 3"), std::string::npos);
  EXPECT_NE(ParseMetaGraph(std::string_view("\x00", 1)).error().message().find("field number"),
            std::string::npos);
  // signature_def as a varint instead of a message.
  EXPECT_NE(ParseMetaGraph(Int(5, 7)).error().message().find("not a length-delimited"),
            std::string::npos);
}

TEST(TfSignatureTest, RefusesSparseAndNamelessTensors) {
  std::string sparse = Signature(Len(1, MapEntry("x", Len(4, "coo") + Int(2, 1))), "", "m");
  auto graph = ParseMetaGraph(Len(5, MapEntry("s", sparse)));
  ASSERT_FALSE(graph.has_value());
  EXPECT_NE(graph.error().message().find("signature 's': tensor 'x' is a sparse tensor"),
            std::string::npos)
      << graph.error().message();
  std::string nameless = Signature(Len(1, MapEntry("x", Int(2, 1))), "", "m");
  graph = ParseMetaGraph(Len(5, MapEntry("s", nameless)));
  ASSERT_FALSE(graph.has_value());
  EXPECT_NE(graph.error().message().find("no graph tensor name"), std::string::npos);
  std::string bad_dim =
      Signature(Len(1, MapEntry("x", TensorInfo("x:0", 1, Shape({-7})))), "", "m");
  EXPECT_NE(
      ParseMetaGraph(Len(5, MapEntry("s", bad_dim))).error().message().find("dimension size -7"),
      std::string::npos);
}

// The MetaGraphDef (meta_info_def and signature_def only) of a tf.Module saved by TensorFlow
// 2.21 with signatures serving_default(x: float[?, 3]) -> y: float[?, 2] and
// classify(x) -> cls: int64[?].
TEST(TfSignatureTest, ReadsWhatTensorFlowWrote) {
  std::ifstream in(GANTRY_TF_SIGNATURE_SEED, std::ios::binary);
  ASSERT_TRUE(in) << GANTRY_TF_SIGNATURE_SEED;
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto graph = ParseMetaGraph(bytes.str());
  ASSERT_TRUE(graph.has_value()) << graph.error().ToString();
  EXPECT_EQ(graph->tensorflow_version, "2.21.0");
  EXPECT_EQ(graph->tags, std::vector<std::string>{"serve"});
  auto serving = FindSignature(*graph, "serving_default");
  ASSERT_TRUE(serving.has_value());
  const TfSignature& s = **serving;
  EXPECT_EQ(s.method_name, "tensorflow/serving/predict");
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].key, "x");
  EXPECT_EQ(s.inputs[0].tensor_name, "serving_default_x:0");
  EXPECT_EQ(DatatypeOfTf(s.inputs[0].dtype), "FP32");
  EXPECT_EQ(s.inputs[0].shape, (std::vector<int64_t>{-1, 3}));
  ASSERT_EQ(s.outputs.size(), 1u);
  EXPECT_EQ(s.outputs[0].key, "y");
  EXPECT_EQ(s.outputs[0].shape, (std::vector<int64_t>{-1, 2}));
  auto classify = FindSignature(*graph, "classify");
  ASSERT_TRUE(classify.has_value());
  ASSERT_EQ((*classify)->outputs.size(), 1u);
  EXPECT_EQ((*classify)->outputs[0].key, "cls");
  EXPECT_EQ(DatatypeOfTf((*classify)->outputs[0].dtype), "INT64");
  EXPECT_EQ((*classify)->outputs[0].shape, (std::vector<int64_t>{-1}));
  EXPECT_NE(FindSignature(*graph, "nope").error().message().find("'classify', 'serving_default'"),
            std::string::npos);
}

TEST(TfSignatureTest, DtypeMapping) {
  EXPECT_EQ(DatatypeOfTf(1), "FP32");
  EXPECT_EQ(DatatypeOfTf(2), "FP64");
  EXPECT_EQ(DatatypeOfTf(3), "INT32");
  EXPECT_EQ(DatatypeOfTf(9), "INT64");
  EXPECT_EQ(DatatypeOfTf(10), "BOOL");
  EXPECT_EQ(DatatypeOfTf(7), "BYTES");
  EXPECT_EQ(DatatypeOfTf(19), "FP16");
  EXPECT_EQ(DatatypeOfTf(20), "");  // DT_RESOURCE
  EXPECT_EQ(DatatypeOfTf(0), "");
  EXPECT_EQ(DatatypeOfTf(999), "");
  EXPECT_EQ(TfDtypeOfDatatype("FP32"), 1);
  EXPECT_EQ(TfDtypeOfDatatype("UINT64"), 23);
  EXPECT_EQ(TfDtypeOfDatatype("fp32"), 0);
  EXPECT_EQ(TfDtypeOfDatatype(""), 0);
  for (int dt = 1; dt <= 23; ++dt) {
    if (!DatatypeOfTf(dt).empty()) {
      EXPECT_EQ(TfDtypeOfDatatype(DatatypeOfTf(dt)), dt) << dt;
    }
  }
  EXPECT_EQ(TfDtypeName(1), "DT_FLOAT");
  EXPECT_EQ(TfDtypeName(9), "DT_INT64");
  EXPECT_EQ(TfDtypeName(0), "DT_INVALID");
  EXPECT_EQ(TfDtypeName(-1), "DT_INVALID");
}

}  // namespace
}  // namespace gantry::serving

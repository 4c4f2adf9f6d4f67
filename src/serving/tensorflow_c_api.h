// TensorFlowCApi: the part of TensorFlow's C API (tensorflow/c/c_api.h, tf_tensor.h,
// tf_status.h, tf_buffer.h) that the tensorflow backend calls, resolved at run time from the
// libtensorflow_cc.so.2 that the tensorflow (or tensorflow-cpu) wheel ships. Gantry builds
// without TensorFlow: the types below are declared here (opaque handles, the two plain
// structs and the DataType values the C API defines) and every function is looked up with
// dlsym. Part of the plugin gantry_tensorflow.so only.
// Thread-safety: the table is immutable once loaded; the functions are TensorFlow's own
// (TF_SessionRun may be called concurrently on one session).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/files.h"
#include "common/status.h"

extern "C" {
// Opaque handles.
typedef struct TF_Status TF_Status;
typedef struct TF_SessionOptions TF_SessionOptions;
typedef struct TF_Graph TF_Graph;
typedef struct TF_Session TF_Session;
typedef struct TF_Operation TF_Operation;
typedef struct TF_Tensor TF_Tensor;

// As in tf_buffer.h: bytes and who frees them.
typedef struct TF_Buffer {
  const void* data;
  size_t length;
  void (*data_deallocator)(void* data, size_t length);
} TF_Buffer;

// As in c_api.h: output `index` of operation `oper`.
typedef struct TF_Output {
  TF_Operation* oper;
  int index;
} TF_Output;
}

namespace gantry::serving {

// TF_DataType values (tf_datatype.h; the same numbers as types.proto's DataType).
enum TfDataTypeValue : int {
  kTfFloat = 1,
  kTfDouble = 2,
  kTfInt32 = 3,
  kTfUint8 = 4,
  kTfInt16 = 5,
  kTfInt8 = 6,
  kTfString = 7,
  kTfInt64 = 9,
  kTfBool = 10,
  kTfUint16 = 17,
  kTfHalf = 19,
  kTfUint32 = 22,
  kTfUint64 = 23,
};

struct TensorFlowCApi {
  const char* (*TF_Version)();
  TF_Status* (*TF_NewStatus)();
  void (*TF_DeleteStatus)(TF_Status*);
  int (*TF_GetCode)(const TF_Status*);  // TF_Code; 0 is TF_OK
  const char* (*TF_Message)(const TF_Status*);
  TF_Buffer* (*TF_NewBuffer)();
  void (*TF_DeleteBuffer)(TF_Buffer*);
  TF_SessionOptions* (*TF_NewSessionOptions)();
  void (*TF_SetConfig)(TF_SessionOptions*, const void* proto, size_t proto_len, TF_Status*);
  void (*TF_DeleteSessionOptions)(TF_SessionOptions*);
  TF_Graph* (*TF_NewGraph)();
  void (*TF_DeleteGraph)(TF_Graph*);
  TF_Operation* (*TF_GraphOperationByName)(TF_Graph*, const char* oper_name);
  TF_Session* (*TF_LoadSessionFromSavedModel)(const TF_SessionOptions*,
                                              const TF_Buffer* run_options, const char* export_dir,
                                              const char* const* tags, int tags_len, TF_Graph*,
                                              TF_Buffer* meta_graph_def, TF_Status*);
  void (*TF_CloseSession)(TF_Session*, TF_Status*);
  void (*TF_DeleteSession)(TF_Session*, TF_Status*);
  void (*TF_SessionRun)(TF_Session*, const TF_Buffer* run_options, const TF_Output* inputs,
                        TF_Tensor* const* input_values, int ninputs, const TF_Output* outputs,
                        TF_Tensor** output_values, int noutputs,
                        const TF_Operation* const* target_opers, int ntargets,
                        TF_Buffer* run_metadata, TF_Status*);
  TF_Tensor* (*TF_AllocateTensor)(int dtype, const int64_t* dims, int num_dims, size_t len);
  void (*TF_DeleteTensor)(TF_Tensor*);
  int (*TF_TensorType)(const TF_Tensor*);
  int (*TF_NumDims)(const TF_Tensor*);
  int64_t (*TF_Dim)(const TF_Tensor*, int dim_index);
  size_t (*TF_TensorByteSize)(const TF_Tensor*);
  void* (*TF_TensorData)(const TF_Tensor*);
  int64_t (*TF_TensorElementCount)(const TF_Tensor*);
};

// Opens `library` (libtensorflow_cc.so.2) with RTLD_NOW | RTLD_LOCAL (RTLD_GLOBAL was seen to
// crash: its symbols would then bind the process's other libraries) and resolves the table.
// FailedPrecondition naming the file and dlerror() when it cannot be opened or lacks a
// function. The library stays loaded for the life of the process.
Result<const TensorFlowCApi*> LoadTensorFlowCApi(const fs::path& library);

// Deletes a TF_Status (etc.) through the table when it goes out of scope.
struct TfStatusDeleter {
  const TensorFlowCApi* api;
  void operator()(TF_Status* s) const { api->TF_DeleteStatus(s); }
};
using TfStatusPtr = std::unique_ptr<TF_Status, TfStatusDeleter>;
struct TfTensorDeleter {
  const TensorFlowCApi* api;
  void operator()(TF_Tensor* t) const { api->TF_DeleteTensor(t); }
};
using TfTensorPtr = std::unique_ptr<TF_Tensor, TfTensorDeleter>;

}  // namespace gantry::serving

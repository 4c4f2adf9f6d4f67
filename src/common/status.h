// Status and Result<T>: how every Gantry module reports success or failure.
//
// A Status is a code plus a human-readable message. Codes follow Abseil's canonical set so
// that one mapping each turns them into HTTP statuses, CLI exit codes and Python exceptions.
// Thread-safe: values are immutable once built.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace gantry {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

// Returns the code's canonical name, e.g. "InvalidArgument".
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; kUnknown for names it does not know.
StatusCode StatusCodeFromName(std::string_view name);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message".
  std::string ToString() const;
  // Returns a copy whose message is "prefix: message".
  Status WithPrefix(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}
inline Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status CancelledError(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }

// Result<T> holds either a T or a non-OK Status. [[nodiscard]], as Status is: a dropped
// Result is a dropped error (the build fails on one; `(void)` with a comment says why not).
namespace internal {
// What RETURN_IF_ERROR and ASSIGN_OR_RETURN return: converts to the Status or the
// Result<T> (holding the error) that the enclosing function returns.
struct Propagated {
  Status status;
  operator Status() const { return status; }  // NOLINT: implicit by design
};
}  // namespace internal

template <typename T>
class [[nodiscard]] Result : public std::expected<T, Status> {
  using Base = std::expected<T, Status>;

 public:
  using Base::Base;
  Result(const Base& b) : Base(b) {}        // NOLINT: implicit, from std::expected's own operations
  Result(Base&& b) : Base(std::move(b)) {}  // NOLINT: implicit by design
  // An error passed up by RETURN_IF_ERROR / ASSIGN_OR_RETURN.
  Result(internal::Propagated p)  // NOLINT: implicit by design
      : Base(std::unexpected<Status>(std::move(p.status))) {}
};

// Lets `return SomeError(...)` work in functions that return Result<T>.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.has_value() ? Status::Ok() : r.error();
}
}  // namespace internal

}  // namespace gantry

#define GANTRY_CONCAT_INNER(a, b) a##b
#define GANTRY_CONCAT(a, b) GANTRY_CONCAT_INNER(a, b)

// Returns the status from the enclosing function when `expr` (a Status or Result) failed.
// Works in functions returning Status or Result<T>.
#define RETURN_IF_ERROR(expr)                                                       \
  do {                                                                              \
    ::gantry::Status gantry_status_ = ::gantry::internal::AsStatus((expr));         \
    if (!gantry_status_.ok()) return ::gantry::internal::Propagate(gantry_status_); \
  } while (0)

// ASSIGN_OR_RETURN(auto x, ComputeResult()) declares x from the value or returns the error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(GANTRY_CONCAT(gantry_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                              \
  auto tmp = (expr);                                                       \
  if (!tmp.has_value()) return ::gantry::internal::Propagate(tmp.error()); \
  lhs = std::move(*tmp)

namespace gantry::internal {
inline Propagated Propagate(const Status& s) { return Propagated{s}; }
}  // namespace gantry::internal

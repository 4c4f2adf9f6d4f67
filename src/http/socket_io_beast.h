// Glue between SocketIo and Beast's synchronous stream concepts, shared by the workspace
// server's and the client's streams (each keeps its own deadline policy): buffer sequences
// to what SocketIo takes, and SocketIo's outcomes to Beast error codes. Internal to src/http.
#pragma once

#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

#include "http/socket_io.h"

namespace gantry::http {

// The first non-empty buffer of a mutable sequence (empty when there is none).
template <class MutableBuffers>
boost::asio::mutable_buffer FirstNonEmpty(const MutableBuffers& buffers) {
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers); ++it) {
    boost::asio::mutable_buffer b = *it;
    if (b.size() > 0) return b;
  }
  return {};
}

// Up to kMaxIov non-empty buffers of a const sequence as iovecs; how many.
inline constexpr int kMaxIov = 16;
template <class ConstBuffers>
int GatherIovec(const ConstBuffers& buffers, iovec (&iov)[kMaxIov]) {
  int count = 0;
  for (auto it = boost::asio::buffer_sequence_begin(buffers);
       it != boost::asio::buffer_sequence_end(buffers) && count < kMaxIov; ++it) {
    boost::asio::const_buffer b = *it;
    if (b.size() > 0) iov[count++] = iovec{const_cast<void*>(b.data()), b.size()};
  }
  return count;
}

// `o` as a Beast error: none, `timeout` (each side names its own), end of file, or the
// system's error (a connection reset when TLS failed without one).
inline boost::beast::error_code ErrorFor(const SocketIo::Outcome& o,
                                         boost::beast::error_code timeout) {
  switch (o.kind) {
    case SocketIo::Kind::kOk:
      return {};
    case SocketIo::Kind::kTimeout:
      return timeout;
    case SocketIo::Kind::kEof:
      return boost::asio::error::eof;
    case SocketIo::Kind::kFailed:
      break;
  }
  return o.error != 0 ? boost::beast::error_code(o.error, boost::system::system_category())
                      : boost::beast::error_code(boost::asio::error::connection_reset);
}

// The throwing read_some/write_some that Beast's stream concepts also ask for, from a
// Derived's error_code forms. Derived says `using ThrowingStreamForms::read_some;` (and
// write_some) so that its own overloads do not hide these.
template <class Derived>
class ThrowingStreamForms {
 public:
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    boost::beast::error_code ec;
    size_t n = static_cast<Derived*>(this)->read_some(buffers, ec);
    if (ec) throw boost::beast::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    boost::beast::error_code ec;
    size_t n = static_cast<Derived*>(this)->write_some(buffers, ec);
    if (ec) throw boost::beast::system_error(ec);
    return n;
  }
};

}  // namespace gantry::http

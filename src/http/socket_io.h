// SocketIo: bytes over one connected socket, plain or TLS, every call bounded by a deadline;
// TlsContext: the OpenSSL configuration its TLS connections share. Internal to src/http: the
// workspace server (http_server.cc) and client (http_client.cc) put Beast's HTTP on top, with
// their own deadline policies; OpenSSL is included by socket_io.cc alone.
//
// TLS is 1.2 or later. A server context holds a certificate chain and its key; a client
// context verifies the server's chain against a CA file (or the system's trusted CAs) and
// the certificate's name against the host the client asked for (a DNS name or an IP
// address). A self-signed certificate given as the CA file is trusted as it is, and so is
// any certificate of a chain given there (partial chains are accepted), so that "the
// server's certificate file" is always a valid --ca-file.
//
// Thread-compatible: one SocketIo per connection, used by one thread; a TlsContext is
// thread-safe once made.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace gantry::http {

// When a call must give up; nullopt: never.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

class TlsContext {
 public:
  // For a server: the PEM certificate chain and private key. InvalidArgument naming the file
  // that cannot be read or used, or saying that the key does not belong to the certificate.
  static Result<std::shared_ptr<TlsContext>> ForServer(const std::string& cert_file,
                                                       const std::string& key_file);
  // For a client: trusts the CAs (or certificates) in the PEM `ca_file`, or the system's
  // trusted CAs when it is "". InvalidArgument naming a CA file that cannot be read.
  static Result<std::shared_ptr<TlsContext>> ForClient(const std::string& ca_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* native() const { return ctx_; }
  const std::string& ca_file() const { return ca_file_; }

 private:
  TlsContext(SSL_CTX* ctx, std::string ca_file) : ctx_(ctx), ca_file_(std::move(ca_file)) {}
  SSL_CTX* ctx_;
  std::string ca_file_;
};

class SocketIo {
 public:
  enum class Kind { kOk, kTimeout, kEof, kFailed };
  struct Outcome {
    size_t bytes = 0;
    Kind kind = Kind::kOk;
    int error = 0;  // errno for kFailed when the system said why; 0 for a TLS failure
  };

  // `fd` stays owned by the caller; it is switched to non-blocking mode.
  explicit SocketIo(int fd);
  ~SocketIo();
  SocketIo(const SocketIo&) = delete;
  SocketIo& operator=(const SocketIo&) = delete;

  // Server side of the TLS handshake. FailedPrecondition when the client sent plain HTTP
  // instead (its first byte is a letter: a request line), DeadlineExceeded on a timeout,
  // Unavailable with OpenSSL's reason otherwise.
  Status AcceptTls(const TlsContext& context, Deadline deadline);
  // Client side: verifies the chain and that the certificate names `host`. Unavailable with
  // the reason (e.g. "certificate verify failed: self-signed certificate") otherwise.
  Status ConnectTls(const TlsContext& context, const std::string& host, Deadline deadline);
  bool tls() const { return ssl_ != nullptr; }
  int fd() const { return fd_; }

  // Reads up to `size` (> 0) bytes: bytes > 0 with kOk, or why none came.
  Outcome Read(char* data, size_t size, Deadline deadline);
  // Writes a prefix of the buffers: bytes > 0 with kOk, or why none went.
  Outcome Write(const iovec* iov, int count, Deadline deadline);
  // Ends the sending side: TLS close_notify (not waiting for the peer's), then shutdown(2).
  void CloseWrite();

 private:
  // Runs SSL_accept or SSL_connect to completion.
  Status Handshake(int (*step)(SSL*), const TlsContext& context, Deadline deadline);
  // Waits until `events` are ready on the socket: kOk, kTimeout or kFailed.
  Outcome Wait(short events, Deadline deadline);
  // The TLS call's result `ret` as an Outcome, after waiting when TLS wants more I/O: kOk
  // with bytes 0 means "call again".
  Outcome AfterTls(int ret, size_t done, Deadline deadline);

  const int fd_;
  SSL* ssl_ = nullptr;
};

}  // namespace gantry::http

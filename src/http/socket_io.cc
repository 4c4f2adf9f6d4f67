#include "http/socket_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>

namespace gantry::http {

namespace {

using Clock = std::chrono::steady_clock;

// The oldest queued OpenSSL error as text (then the queue is emptied), or `fallback`.
std::string OpenSslReason(const std::string& fallback = "unknown TLS error") {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : fallback;
}

// Milliseconds until `deadline` for poll(2): -1 for none, 0 once passed.
int PollTimeout(Deadline deadline) {
  if (!deadline) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, std::numeric_limits<int>::max()));
}

bool Readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

bool IsIpAddress(const std::string& host) {
  unsigned char scratch[16];
  return ::inet_pton(AF_INET, host.c_str(), scratch) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), scratch) == 1;
}

// TLS records carry at most 16 KiB: smaller pieces of a write are gathered into one record.
constexpr size_t kRecord = 16 * 1024;

}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::ForServer(const std::string& cert_file,
                                                          const std::string& key_file) {
  for (const auto& [flag, file] : {std::pair{"--tls-cert", &cert_file}, {"--tls-key", &key_file}}) {
    if (file->empty()) return Err(InvalidArgumentError(std::string(flag) + " is missing"));
    if (!Readable(*file)) {
      return Err(InvalidArgumentError(std::string("cannot read ") + flag + " " + *file + ": " +
                                      std::strerror(errno)));
    }
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Err(InternalError("cannot make a TLS context: " + OpenSslReason()));
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, ""));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char kSessionContext[] = "gantry";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return Err(InvalidArgumentError("--tls-cert " + cert_file +
                                    " is not a PEM certificate: " + OpenSslReason()));
  }
  const bool key_used = SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  const bool key_mismatch =
      !key_used && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
  if (!key_used && !key_mismatch) {
    return Err(InvalidArgumentError("--tls-key " + key_file +
                                    " is not a PEM private key: " + OpenSslReason()));
  }
  if (key_mismatch || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Err(InvalidArgumentError("--tls-key " + key_file +
                                    " does not belong to the certificate in " + cert_file));
  }
  return out;
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForClient(const std::string& ca_file) {
  if (!ca_file.empty() && !Readable(ca_file)) {
    return Err(
        InvalidArgumentError("cannot read the CA file " + ca_file + ": " + std::strerror(errno)));
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return Err(InternalError("cannot make a TLS context: " + OpenSslReason()));
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, ca_file));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return Err(InvalidArgumentError((ca_file.empty()
                                         ? std::string("cannot load the system's trusted CAs")
                                         : "the CA file " + ca_file + " holds no PEM certificate") +
                                    ": " + OpenSslReason()));
  }
  X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SocketIo::SocketIo(int fd) : fd_(fd) {
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

SocketIo::~SocketIo() {
  if (ssl_) SSL_free(ssl_);
}

SocketIo::Outcome SocketIo::Wait(short events, Deadline deadline) {
  while (true) {
    pollfd p{fd_, events, 0};
    int ready = ::poll(&p, 1, PollTimeout(deadline));
    if (ready > 0) return {};
    if (ready < 0 && errno != EINTR) return {0, Kind::kFailed, errno};
    if (deadline && Clock::now() >= *deadline) return {0, Kind::kTimeout, 0};
  }
}

SocketIo::Outcome SocketIo::AfterTls(int ret, size_t done, Deadline deadline) {
  if (ret == 1) return {done, Kind::kOk, 0};
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Wait(POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
      return Wait(POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN:
      return {0, Kind::kEof, 0};
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == EINTR) return {};
      if (saved_errno == 0) return {0, Kind::kEof, 0};
      return {0, Kind::kFailed, saved_errno};
    default:
      ERR_clear_error();
      return {0, Kind::kFailed, 0};
  }
}

Status SocketIo::AcceptTls(const TlsContext& context, Deadline deadline) {
  // A client speaking plain HTTP to this port starts with a request line, where a TLS client
  // starts with a handshake record (byte 0x16).
  while (true) {
    Outcome ready = Wait(POLLIN, deadline);
    if (ready.kind == Kind::kTimeout) {
      return DeadlineExceededError("the TLS handshake did not start in time");
    }
    if (ready.kind != Kind::kOk) return UnavailableError("the connection failed");
    unsigned char first = 0;
    ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK);
    if (n == 0) return UnavailableError("the client closed the connection");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return UnavailableError(std::string("the connection failed: ") + std::strerror(errno));
    }
    if (std::isalpha(first)) {
      return FailedPreconditionError("this server speaks HTTPS; plain HTTP came in");
    }
    break;
  }
  ssl_ = SSL_new(context.native());
  if (!ssl_) return InternalError("cannot start TLS: " + OpenSslReason());
  SSL_set_fd(ssl_, fd_);
  return Handshake(SSL_accept, context, deadline);
}

Status SocketIo::ConnectTls(const TlsContext& context, const std::string& host, Deadline deadline) {
  ssl_ = SSL_new(context.native());
  if (!ssl_) return InternalError("cannot start TLS: " + OpenSslReason());
  SSL_set_fd(ssl_, fd_);
  // The certificate must name the host asked for: an IP address against its IP entries, a
  // name against its DNS entries (and SNI tells the server which name was asked for).
  if (IsIpAddress(host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
  } else {
    SSL_set1_host(ssl_, host.c_str());
    SSL_set_tlsext_host_name(ssl_, host.c_str());
  }
  return Handshake(SSL_connect, context, deadline);
}

Status SocketIo::Handshake(int (*step)(SSL*), const TlsContext& context, Deadline deadline) {
  const bool client = step == SSL_connect;
  while (true) {
    ERR_clear_error();
    errno = 0;
    int ret = step(ssl_);
    if (ret == 1) return Status::Ok();
    const int err = SSL_get_error(ssl_, ret);
    const std::string reason = OpenSslReason("");
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ||
        (err == SSL_ERROR_SYSCALL && errno == EINTR)) {
      Outcome ready = Wait(err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline);
      if (ready.kind == Kind::kOk) continue;
      if (ready.kind == Kind::kTimeout) return DeadlineExceededError("the TLS handshake timed out");
      return UnavailableError("the TLS handshake failed: " +
                              std::string(std::strerror(ready.error)));
    }
    const long verify = SSL_get_verify_result(ssl_);
    if (client && verify != X509_V_OK) {
      return UnavailableError("the server's certificate is not trusted: " +
                              std::string(X509_verify_cert_error_string(verify)) +
                              (context.ca_file().empty()
                                   ? " (no CA file given: pass --ca-file or set GANTRY_CA_FILE)"
                                   : " (checked against " + context.ca_file() + ")"));
    }
    if (!reason.empty()) return UnavailableError("the TLS handshake failed: " + reason);
    return UnavailableError(client ? "the TLS handshake failed: the server closed the connection "
                                     "(is it serving plain HTTP?)"
                                   : "the TLS handshake failed: the client closed the connection");
  }
}

SocketIo::Outcome SocketIo::Read(char* data, size_t size, Deadline deadline) {
  while (true) {
    if (ssl_) {
      size_t got = 0;
      ERR_clear_error();
      errno = 0;
      int ret = SSL_read_ex(ssl_, data, size, &got);
      Outcome o = AfterTls(ret, got, deadline);
      if (o.kind != Kind::kOk || o.bytes > 0) return o;
      continue;
    }
    ssize_t n = ::recv(fd_, data, size, 0);
    if (n > 0) return {static_cast<size_t>(n), Kind::kOk, 0};
    if (n == 0) return {0, Kind::kEof, 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, Kind::kFailed, errno};
    Outcome o = Wait(POLLIN, deadline);
    if (o.kind != Kind::kOk) return o;
  }
}

SocketIo::Outcome SocketIo::Write(const iovec* iov, int count, Deadline deadline) {
  while (true) {
    if (ssl_) {
      // One record: the first buffer when it is large, else as many as fill kRecord.
      const char* from = static_cast<const char*>(iov[0].iov_base);
      size_t size = iov[0].iov_len;
      char gathered[kRecord];
      if (size < kRecord && count > 1) {
        size = 0;
        for (int i = 0; i < count && size < kRecord; ++i) {
          size_t take = std::min(iov[i].iov_len, kRecord - size);
          std::memcpy(gathered + size, iov[i].iov_base, take);
          size += take;
        }
        from = gathered;
      }
      size_t sent = 0;
      ERR_clear_error();
      errno = 0;
      int ret = SSL_write_ex(ssl_, from, size, &sent);
      Outcome o = AfterTls(ret, sent, deadline);
      if (o.kind != Kind::kOk || o.bytes > 0) return o;
      continue;
    }
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
    if (n >= 0) return {static_cast<size_t>(n), Kind::kOk, 0};
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return {0, Kind::kFailed, errno};
    Outcome o = Wait(POLLOUT, deadline);
    if (o.kind != Kind::kOk) return o;
  }
}

void SocketIo::CloseWrite() {
  if (ssl_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_);  // queues and tries to send close_notify; never waits
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_WR);
}

}  // namespace gantry::http

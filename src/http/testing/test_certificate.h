// A self-signed certificate and its key, made with OpenSSL for tests of TLS: PEM files in a
// folder the caller owns. Thread-compatible.
#pragma once

#include <string>
#include <vector>

namespace gantry::http::testing {

struct TestCertificate {
  std::string cert_file;  // PEM certificate (also a valid CA file for it)
  std::string key_file;   // PEM private key (P-256)
};

// Writes NAME.crt and NAME.key into `folder`, the certificate naming `names` in its subject
// alternative names (an entry that parses as an IP address is an IP entry, others DNS).
// Aborts the test program on an OpenSSL failure.
TestCertificate MakeTestCertificate(const std::string& folder, const std::string& name,
                                    const std::vector<std::string>& names);

}  // namespace gantry::http::testing

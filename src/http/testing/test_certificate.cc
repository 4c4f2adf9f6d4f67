#include "http/testing/test_certificate.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace gantry::http::testing {

namespace {

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "MakeTestCertificate: %s failed\n", what);
  std::abort();
}

void AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

}  // namespace

TestCertificate MakeTestCertificate(const std::string& folder, const std::string& name,
                                    const std::vector<std::string>& names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "EVP_EC_gen");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  std::string san;
  for (const std::string& n : names) {
    unsigned char scratch[16];
    bool ip =
        inet_pton(AF_INET, n.c_str(), scratch) == 1 || inet_pton(AF_INET6, n.c_str(), scratch) == 1;
    san += (san.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  AddExtension(cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, NID_subject_alt_name, san);
  Check(X509_sign(cert, key, EVP_sha256()) > 0, "X509_sign");

  TestCertificate out{folder + "/" + name + ".crt", folder + "/" + name + ".key"};
  FILE* f = std::fopen(out.cert_file.c_str(), "w");
  Check(f != nullptr && PEM_write_X509(f, cert) == 1, "writing the certificate");
  std::fclose(f);
  f = std::fopen(out.key_file.c_str(), "w");
  Check(f != nullptr && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "writing the key");
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace gantry::http::testing

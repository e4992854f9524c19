// Owning handles for the OpenSSL objects Lodestone uses, and OpenSSL's error queue as text, for
// the implementation files of libraries that call OpenSSL (this one, the TLS identity code in
// services/rpc). OpenSSL's types are only forward-declared: including this header does not
// include OpenSSL.
#ifndef LODESTONE_SERVICES_CRYPTO_OPENSSL_HANDLES_H_
#define LODESTONE_SERVICES_CRYPTO_OPENSSL_HANDLES_H_

#include <memory>
#include <string>
#include <string_view>

// OpenSSL's BIO, X509, EVP_PKEY, EVP_MD_CTX and GENERAL_NAMES.
struct bio_st;
struct x509_st;
struct evp_pkey_st;
struct evp_md_ctx_st;
struct stack_st_GENERAL_NAME;

namespace lodestone::crypto {

// Frees each type with its OpenSSL free function (null is fine).
struct OpenSslFree {
  void operator()(bio_st* bio) const;
  void operator()(x509_st* cert) const;
  void operator()(evp_pkey_st* key) const;
  void operator()(evp_md_ctx_st* ctx) const;
  void operator()(stack_st_GENERAL_NAME* names) const;
};
using BioPtr = std::unique_ptr<bio_st, OpenSslFree>;
using X509Ptr = std::unique_ptr<x509_st, OpenSslFree>;
using PkeyPtr = std::unique_ptr<evp_pkey_st, OpenSslFree>;
using MdCtxPtr = std::unique_ptr<evp_md_ctx_st, OpenSslFree>;
using GeneralNamesPtr = std::unique_ptr<stack_st_GENERAL_NAME, OpenSslFree>;

// A read-only memory BIO over `bytes`, which must outlive it; null if OpenSSL cannot allocate or
// `bytes` is larger than an int.
BioPtr MemoryBio(std::string_view bytes);

// The oldest error in this thread's OpenSSL error queue as text ("no detail" if none). The queue
// is cleared either way, so that an old failure never shows up in an unrelated later call.
std::string TakeOpenSslError();

}  // namespace lodestone::crypto

#endif  // LODESTONE_SERVICES_CRYPTO_OPENSSL_HANDLES_H_

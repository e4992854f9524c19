#include "services/crypto/openssl_handles.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>

namespace lodestone::crypto {

void OpenSslFree::operator()(bio_st* bio) const { BIO_free(bio); }
void OpenSslFree::operator()(x509_st* cert) const { X509_free(cert); }
void OpenSslFree::operator()(evp_pkey_st* key) const { EVP_PKEY_free(key); }
void OpenSslFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }
void OpenSslFree::operator()(stack_st_GENERAL_NAME* names) const { GENERAL_NAMES_free(names); }

BioPtr MemoryBio(std::string_view bytes) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_error();
  ERR_clear_error();
  if (code == 0) return "no detail";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

}  // namespace lodestone::crypto

#include "services/crypto/ed25519.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace lodestone::crypto {
namespace {

const unsigned char* Bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Never asks for a passphrase (OpenSSL would otherwise prompt on the terminal).
int NoPassphrase(char*, int, int, void*) { return -1; }

// The checks every PEM input shares: bounded size and the expected block marker.
absl::Status CheckPem(std::string_view pem, absl::string_view what, const char* marker) {
  if (pem.size() > kMaxKeyPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " has ", pem.size(),
                                                   " bytes, more than the ", kMaxKeyPemBytes,
                                                   " a PEM key may have"));
  }
  if (pem.find(marker) == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " holds no PEM block ", marker));
  }
  return absl::OkStatus();
}

// The raw public key of an Ed25519 EVP_PKEY; INVALID_ARGUMENT naming `what` for another
// algorithm.
absl::StatusOr<std::string> RawPublicKey(EVP_PKEY* key, absl::string_view what) {
  if (EVP_PKEY_is_a(key, "ED25519") != 1) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " holds a key of type ",
                                                   type == nullptr ? "unknown" : type,
                                                   ", not Ed25519"));
  }
  std::string raw(kEd25519PublicKeyBytes, '\0');
  size_t size = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &size) != 1 ||
      size != kEd25519PublicKeyBytes) {
    return absl::InternalError(
        absl::StrCat("cannot read the Ed25519 public key: ", TakeOpenSslError()));
  }
  return raw;
}

const EVP_MD* Sha256Method() {
  // Fetched once: an implicit fetch per digest is slow in OpenSSL 3. Never freed.
  static const EVP_MD* const kMethod = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return kMethod;
}

}  // namespace

SigningKey::SigningKey(PkeyPtr key, std::string public_key)
    : key_(std::move(key)), public_key_(std::move(public_key)) {}
SigningKey::SigningKey(SigningKey&& other) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&& other) noexcept = default;
SigningKey::~SigningKey() = default;

absl::StatusOr<SigningKey> SigningKey::FromPem(std::string_view pem) {
  constexpr absl::string_view kWhat = "Ed25519 signing key";
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        "the Ed25519 signing key is encrypted; give it unencrypted (no passphrase is asked for)");
  }
  if (auto status = CheckPem(pem, kWhat, "-----BEGIN PRIVATE KEY-----"); !status.ok()) {
    return status;
  }
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the Ed25519 signing key is not a valid PEM private key (", TakeOpenSslError(), ")"));
  }
  auto public_key = RawPublicKey(key.get(), kWhat);
  if (!public_key.ok()) return public_key.status();
  return SigningKey(std::move(key), *std::move(public_key));
}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot generate an Ed25519 key: ", TakeOpenSslError()));
  }
  auto public_key = RawPublicKey(key.get(), "generated key");
  if (!public_key.ok()) return public_key.status();
  return SigningKey(std::move(key), *std::move(public_key));
}

std::string SigningKey::PrivateKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || key_ == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return std::string();
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string SigningKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || key_ == nullptr || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    ERR_clear_error();
    return std::string();
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

std::string SigningKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureBytes, '\0');
  size_t size = signature.size();
  if (ctx == nullptr || key_ == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     Bytes(message), message.size()) != 1 ||
      size != kEd25519SignatureBytes) {
    ERR_clear_error();
    return std::string();
  }
  return signature;
}

absl::StatusOr<std::string> PublicKeyFromPem(std::string_view pem) {
  constexpr absl::string_view kWhat = "Ed25519 public key";
  if (auto status = CheckPem(pem, kWhat, "-----BEGIN PUBLIC KEY-----"); !status.ok()) return status;
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the Ed25519 public key is not a valid PEM public key (", TakeOpenSslError(), ")"));
  }
  return RawPublicKey(key.get(), kWhat);
}

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  if (public_key.size() != kEd25519PublicKeyBytes || signature.size() != kEd25519SignatureBytes) {
    return false;
  }
  PkeyPtr key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key), public_key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool valid = key != nullptr && ctx != nullptr &&
                     EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
                     EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                                      message.size()) == 1;
  if (!valid) ERR_clear_error();
  return valid;
}

std::string KeyId(std::string_view public_key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const EVP_MD* sha256 = Sha256Method();
  if (sha256 == nullptr ||
      EVP_Digest(public_key.data(), public_key.size(), digest, &size, sha256, nullptr) != 1 ||
      size < 16) {
    std::abort();  // OpenSSL without SHA-256: nothing of the ledger can work either
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

}  // namespace lodestone::crypto

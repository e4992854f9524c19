// Ed25519 signatures (RFC 8032, pure Ed25519: no pre-hash, no context) over OpenSSL 3: a signing
// key loaded from PEM, verification against a raw 32-byte public key, and a short key id. The
// bytes that are signed are the caller's business (this module never sees an event).
#ifndef LODESTONE_SERVICES_CRYPTO_ED25519_H_
#define LODESTONE_SERVICES_CRYPTO_ED25519_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/crypto/openssl_handles.h"

namespace lodestone::crypto {

inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// A PEM text longer than this is refused (an Ed25519 key in PEM is about 120 bytes).
inline constexpr size_t kMaxKeyPemBytes = size_t{64} << 10;

// An Ed25519 private key. Immutable once loaded: Sign and PublicKey may be called from any
// number of threads at once. Movable, not copyable; a moved-from key may only be destroyed or
// assigned to.
class SigningKey {
 public:
  // A PKCS#8 "-----BEGIN PRIVATE KEY-----" block holding an Ed25519 key, unencrypted (as made by
  // `openssl genpkey -algorithm ed25519`). INVALID_ARGUMENT for anything else (no PEM, garbled,
  // encrypted, another algorithm, larger than kMaxKeyPemBytes); no passphrase is ever asked for.
  static absl::StatusOr<SigningKey> FromPem(std::string_view pem);

  // A new random key (OpenSSL's CSPRNG). INTERNAL only if OpenSSL fails.
  static absl::StatusOr<SigningKey> Generate();

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  ~SigningKey();

  // The kEd25519SignatureBytes-byte signature of `message`. Ed25519 signing is deterministic:
  // the same key and message always give the same signature. Empty only if OpenSSL fails to
  // allocate (a valid key never makes signing fail otherwise).
  std::string Sign(std::string_view message) const;

  // PKCS#8 PEM of the private key, unencrypted (what FromPem reads), and SubjectPublicKeyInfo
  // PEM of the public key (what PublicKeyFromPem reads). Empty only if OpenSSL fails.
  std::string PrivateKeyPem() const;
  std::string PublicKeyPem() const;

  // The raw kEd25519PublicKeyBytes-byte public key (RFC 8032 encoding).
  std::string PublicKey() const { return public_key_; }

 private:
  SigningKey(PkeyPtr key, std::string public_key);

  PkeyPtr key_;
  std::string public_key_;
};

// The raw kEd25519PublicKeyBytes-byte key of a "-----BEGIN PUBLIC KEY-----" block
// (SubjectPublicKeyInfo) holding an Ed25519 key, as `openssl pkey -pubout` writes it.
// INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> PublicKeyFromPem(std::string_view pem);

// True exactly when `signature` is a valid Ed25519 signature of `message` under the raw public
// key: false for a key or signature of the wrong size, a key that is not a curve point, or any
// changed byte. Thread-safe; keeps no state between calls.
bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature);

// A short, stable name of a public key for logs, events and lookups: the lowercase hex of the
// first 16 bytes of SHA-256 of the given bytes (32 hex digits). Any bytes are hashed as given;
// callers pass a raw kEd25519PublicKeyBytes-byte key.
std::string KeyId(std::string_view public_key);

}  // namespace lodestone::crypto

#endif  // LODESTONE_SERVICES_CRYPTO_ED25519_H_

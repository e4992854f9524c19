// Signing wire events as one attester (docs/write-model.md, "Keys and signatures"): an Ed25519
// key read from PEM (services/crypto) and a detached signature over the bytes the ledger
// verifies (SignedMessage). Used by lodectl append and lodestone-loadgen.
#ifndef LODESTONE_SERVICES_CODEC_EVENT_SIGNER_H_
#define LODESTONE_SERVICES_CODEC_EVENT_SIGNER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lodestone/v1/events.pb.h"

namespace lodestone::crypto {
class SigningKey;
}  // namespace lodestone::crypto

namespace lodestone::codec {

// Immutable once loaded: Sign may run on any number of threads at once.
class EventSigner {
 public:
  // `path`: an unencrypted PKCS#8 Ed25519 private key in PEM (`lodectl keygen`, `openssl genpkey
  // -algorithm ed25519`). NOT_FOUND for an unreadable file, INVALID_ARGUMENT for a bad key
  // (crypto::SigningKey::FromPem's reason) or an empty attester.
  static absl::StatusOr<EventSigner> Load(const std::string& path, std::string attester);
  EventSigner(EventSigner&&) noexcept;
  EventSigner& operator=(EventSigner&&) noexcept;
  ~EventSigner();

  // Sets attested_by to the attester when empty, and the signature (key id, 64 bytes) over
  // SignedMessage of the event as the ledger decodes it. An event that does not decode is left
  // unsigned: the ledger refuses it for what is wrong with it.
  void Sign(v1::Event& event) const;

  const std::string& key_id() const { return key_id_; }
  const std::string& attester() const { return attester_; }
  // The raw 32-byte public key (what SigningKeyRegistered carries).
  const std::string& public_key() const { return public_key_; }

 private:
  EventSigner(crypto::SigningKey key, std::string attester);
  std::unique_ptr<crypto::SigningKey> key_;
  std::string public_key_;
  std::string key_id_;
  std::string attester_;
};

}  // namespace lodestone::codec

#endif  // LODESTONE_SERVICES_CODEC_EVENT_SIGNER_H_

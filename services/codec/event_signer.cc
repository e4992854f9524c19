#include "services/codec/event_signer.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"

namespace lodestone::codec {

absl::StatusOr<EventSigner> EventSigner::Load(const std::string& path, std::string attester) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read signing key ", path));
  auto key = crypto::SigningKey::FromPem(text.str());
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing key ", path, ": ", std::string(key.status().message())));
  }
  if (attester.empty()) {
    return absl::InvalidArgumentError(
        "signing needs the attester: --attester=PARTY, or --tls_cert with a party identity");
  }
  return EventSigner(*std::move(key), std::move(attester));
}

EventSigner::EventSigner(crypto::SigningKey key, std::string attester)
    : key_(std::make_unique<crypto::SigningKey>(std::move(key))),
      public_key_(key_->PublicKey()),
      key_id_(crypto::KeyId(public_key_)),
      attester_(std::move(attester)) {}

EventSigner::EventSigner(EventSigner&&) noexcept = default;
EventSigner& EventSigner::operator=(EventSigner&&) noexcept = default;
EventSigner::~EventSigner() = default;

void EventSigner::Sign(v1::Event& event) const {
  if (event.attested_by().empty()) event.set_attested_by(attester_);
  event.clear_signature();
  auto decoded = EventFromProto(event);
  if (!decoded.ok()) return;
  auto* signature = event.mutable_signature();
  signature->set_key_id(key_id_);
  signature->set_signature(key_->Sign(SignedMessage(*decoded)));
}

}  // namespace lodestone::codec

// lodectl keygen and event signing (docs/security.md, "Signatures"): a party's Ed25519 key is
// made here, registered by the administrator or a registrar as a SigningKeyRegistered event, and
// then signs every event the party appends with `lodectl append --signing_key`.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "services/codec/event_codec.h"
#include "services/crypto/ed25519.h"
#include "services/lodectl/lodectl.h"

namespace lodestone::lodectl {

int Keygen(const Options& options, const std::string& party, std::ostream& out) {
  if (options.key_out.empty()) {
    std::cerr << "lodectl: keygen needs --key_out=FILE (the private key, written with mode 0600)\n";
    return kUsage;
  }
  auto key = crypto::SigningKey::Generate();
  if (!key.ok()) {
    std::cerr << "lodectl: keygen: " << key.status().message() << "\n";
    return kFailure;
  }
  const std::string pem = key->PrivateKeyPem();
  // Created private (0600) and never overwritten: a key file is replaced by hand or not at all.
  const int fd = ::open(options.key_out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "lodectl: keygen: cannot create " << options.key_out << ": "
              << std::strerror(errno) << " (an existing key file is never overwritten)\n";
    return kInvalidInput;
  }
  const bool written = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size());
  if (::close(fd) != 0 || !written) {
    std::cerr << "lodectl: keygen: cannot write " << options.key_out << "\n";
    return kFailure;
  }
  const std::string key_id = crypto::KeyId(key->PublicKey());
  v1::Event event;
  event.set_event_id(absl::StrCat("key-", party, "-", key_id.substr(0, 16)));
  *event.mutable_event_time() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(absl::Now()));
  event.set_subject("party/" + party);
  event.set_actor(options.actor);
  auto* registered = event.mutable_signing_key_registered();
  registered->set_party_id(party);
  registered->set_key_id(key_id);
  registered->set_public_key(key->PublicKey());
  if (!options.replaces_key_id.empty()) registered->set_replaces_key_id(options.replaces_key_id);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(event, &json);
  // The registration, one NDJSON line for `lodectl append` by the administrator or a registrar.
  out << json << "\n";
  std::cerr << "lodectl: key " << key_id << " of " << party << " written to " << options.key_out
            << "; append the line above as " << options.actor << " to register it\n";
  return kOk;
}

}  // namespace lodestone::lodectl

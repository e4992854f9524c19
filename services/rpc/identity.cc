#include "services/rpc/identity.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"
#include "services/crypto/openssl_handles.h"
#include "services/domain/rules.h"
#include "services/domain/string_view_compat.h"

namespace lodestone::rpc {
namespace {

using domain::ToAbsl;

// At most this many URIs, each cut to kMaxQuotedBytes, are quoted in a message.
constexpr size_t kMaxQuotedUris = 4;
constexpr size_t kMaxQuotedBytes = 160;

std::string Quote(std::string_view text) {
  std::string quoted = absl::CHexEscape(ToAbsl(text.substr(0, kMaxQuotedBytes)));
  if (text.size() > kMaxQuotedBytes) quoted += "...";
  return absl::StrCat("'", quoted, "'");
}

std::string QuoteAll(const std::vector<std::string_view>& uris) {
  std::vector<std::string> quoted;
  for (size_t i = 0; i < uris.size() && i < kMaxQuotedUris; ++i) quoted.push_back(Quote(uris[i]));
  if (uris.size() > kMaxQuotedUris) quoted.push_back("...");
  return absl::StrJoin(quoted, ", ");
}

std::string_view View(const grpc::string_ref& ref) { return {ref.data(), ref.size()}; }

// The URI SANs of `cert`; UNAUTHENTICATED if its subjectAltName extension is repeated or garbled.
absl::StatusOr<std::vector<std::string>> UriSans(X509* cert) {
  int critical = -1;
  crypto::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  std::vector<std::string> uris;
  if (names == nullptr) {
    if (critical == -1) return uris;  // no subjectAltName extension
    crypto::TakeOpenSslError();
    return absl::UnauthenticatedError(
        critical == -2 ? "the client certificate has more than one subjectAltName extension"
                       : "the client certificate's subjectAltName extension cannot be parsed");
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name == nullptr || name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return uris;
}

// The caller a Lodestone identity URI names.
absl::StatusOr<Caller> CallerFromUri(std::string_view uri) {
  Caller caller;
  std::string_view id;
  if (uri.starts_with(kPartyUriPrefix)) {
    caller.kind = Caller::Kind::kParty;
    id = uri.substr(kPartyUriPrefix.size());
  } else if (uri.starts_with(kNodeUriPrefix)) {
    caller.kind = Caller::Kind::kNode;
    id = uri.substr(kNodeUriPrefix.size());
  } else {
    return absl::UnauthenticatedError(absl::StrCat(
        "the client certificate's URI SAN ", Quote(uri), " is not urn:lodestone:party:<id> or ",
        "urn:lodestone:node:<id> (kinds and prefix are lower case)"));
  }
  if (!domain::IsWellFormedId(id)) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate's URI SAN ", Quote(uri), " has a malformed ",
                     ToAbsl(CallerKindName(caller.kind)), " id: ids are 1 to ", domain::kMaxIdBytes,
                     " bytes of [A-Za-z0-9._:/-]"));
  }
  caller.id = std::string(id);
  return caller;
}

// Whether the connection of `auth` is TLS; UNAUTHENTICATED for a transport that is neither TLS
// nor plain text (it would need its own way of naming callers).
absl::StatusOr<bool> IsTls(const grpc::AuthContext* auth) {
  if (auth == nullptr) return false;
  if (!auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) return true;
  const auto types = auth->FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (types.empty()) return false;
  const std::string_view type = View(types.front());
  if (type == GRPC_SSL_TRANSPORT_SECURITY_TYPE || type == GRPC_TLS_TRANSPORT_SECURITY_TYPE) {
    return true;
  }
  if (type == "insecure" || type == "local") return false;
  return absl::UnauthenticatedError(
      absl::StrCat("the transport security ", Quote(type), " does not name callers"));
}

}  // namespace

std::string_view CallerKindName(Caller::Kind kind) {
  switch (kind) {
    case Caller::Kind::kParty:
      return "party";
    case Caller::Kind::kNode:
      return "node";
    case Caller::Kind::kLocalAdmin:
      return "local-admin";
  }
  return "unknown";
}

absl::StatusOr<Caller> CallerFromCertificatePem(std::string_view pem) {
  crypto::BioPtr bio = crypto::MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  crypto::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate cannot be parsed (", crypto::TakeOpenSslError(), ")"));
  }
  auto uris = UriSans(cert.get());
  if (!uris.ok()) return uris.status();
  std::vector<std::string_view> claims;
  for (const std::string& uri : *uris) {
    if (absl::StartsWithIgnoreCase(ToAbsl(uri), ToAbsl(kIdentityUriPrefix))) claims.push_back(uri);
  }
  if (claims.empty()) {
    const std::vector<std::string_view> others(uris->begin(), uris->end());
    return absl::UnauthenticatedError(absl::StrCat(
        "the client certificate names no caller: it needs one URI SAN "
        "urn:lodestone:party:<id> or urn:lodestone:node:<id>",
        others.empty() ? " and has no URI SAN" : absl::StrCat(" and has only ", QuoteAll(others))));
  }
  if (claims.size() > 1) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate names ", claims.size(),
                                                   " callers (", QuoteAll(claims),
                                                   "); it must name exactly one"));
  }
  return CallerFromUri(claims.front());
}

bool IsLoopbackPeer(std::string_view peer) {
  if (peer.starts_with("unix:") || peer.starts_with("unix-abstract:")) return true;
  if (peer.starts_with("ipv4:")) {
    const std::string_view host_port = peer.substr(5);
    const size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return false;
    const std::string host(host_port.substr(0, colon));
    in_addr address;
    return ::inet_pton(AF_INET, host.c_str(), &address) == 1 &&
           (ntohl(address.s_addr) >> 24) == 127;
  }
  if (peer.starts_with("ipv6:[")) {
    const std::string_view rest = peer.substr(6);
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return false;
    const std::string host(rest.substr(0, close));
    in6_addr address;
    if (::inet_pton(AF_INET6, host.c_str(), &address) != 1) return false;
    return IN6_IS_ADDR_LOOPBACK(&address) ||
           (IN6_IS_ADDR_V4MAPPED(&address) && address.s6_addr[12] == 127);
  }
  return false;
}

absl::StatusOr<Caller> CallerFromContext(const grpc::ServerContextBase& context,
                                         const IdentityOptions& options) {
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  auto tls = IsTls(auth.get());
  if (!tls.ok()) return tls.status();
  if (*tls) {
    const auto certs = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (certs.empty()) {
      return absl::UnauthenticatedError(
          "the caller presented no client certificate (a TLS server without a client CA asks "
          "for none, and then names no caller)");
    }
    if (certs.size() > 1) {
      return absl::UnauthenticatedError(
          "the TLS connection reports more than one peer certificate");
    }
    return CallerFromCertificatePem(View(certs.front()));
  }
  const std::string peer = context.peer();
  if (!options.allow_local_admin) {
    return absl::UnauthenticatedError(
        absl::StrCat("a plain-text caller (", peer,
                     ") has no identity: this server names callers only by "
                     "TLS client certificates"));
  }
  if (!options.plaintext_admin_from_any_address && !IsLoopbackPeer(peer)) {
    return absl::UnauthenticatedError(
        absl::StrCat("a plain-text caller from ", peer,
                     " is not on loopback: only local callers are the administrator without TLS"));
  }
  return Caller{Caller::Kind::kLocalAdmin, ""};
}

absl::StatusOr<IdentityOptions> ProgramIdentityOptions(bool tls,
                                                       std::string_view plaintext_callers) {
  IdentityOptions options;
  if (plaintext_callers != "loopback" && plaintext_callers != "any") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--plaintext_callers must be loopback or any, got '", std::string(plaintext_callers), "'"));
  }
  if (tls) return options;  // callers are named by their certificates
  options.allow_local_admin = true;
  options.plaintext_admin_from_any_address = plaintext_callers == "any";
  return options;
}

}  // namespace lodestone::rpc

#include "services/rpc/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "services/crypto/openssl_handles.h"

namespace lodestone::rpc {
namespace {

using crypto::BioPtr;
using crypto::MemoryBio;
using crypto::PkeyPtr;
using crypto::X509Ptr;

constexpr absl::string_view kCertWhat = "TLS certificate";
constexpr absl::string_view kKeyWhat = "TLS private key";
constexpr absl::string_view kCaWhat = "TLS CA certificates";

std::string TimeText(const ASN1_TIME* time) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : "?";
}

// Never asks for a passphrase (OpenSSL would otherwise prompt on the terminal).
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    const std::string message =
        absl::StrCat("cannot read the ", what, " ", path, ": ", std::strerror(error));
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::FailedPreconditionError(message);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat the ", what, " ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " ", path, " is not a regular file"));
  }
  if (static_cast<size_t>(info.st_size) > kMaxPemFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " ", path, " has ", info.st_size,
                                                   " bytes, more than the ", kMaxPemFileBytes,
                                                   " a PEM file may have"));
  }
  std::string contents;
  char chunk[8192];
  while (contents.size() <= kMaxPemFileBytes) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the ", what, " ", path, ": ", std::strerror(errno)));
    }
    if (n == 0) break;
    contents.append(chunk, static_cast<size_t>(n));
  }
  if (contents.size() > kMaxPemFileBytes) {  // grew while being read
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " ", path, " has more than ", kMaxPemFileBytes, " bytes"));
  }
  if (contents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " ", path, " is empty"));
  }
  return contents;
}

size_t CountOccurrences(absl::string_view text, absl::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

// Every "-----BEGIN CERTIFICATE-----" block of `pem` parsed; at least one.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const std::string& pem,
                                                       const std::string& path,
                                                       absl::string_view what) {
  const size_t blocks = CountOccurrences(pem, "-----BEGIN CERTIFICATE-----");
  if (blocks == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " ", path, " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  std::vector<X509Ptr> certs;
  for (size_t i = 0; i < blocks; ++i) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", what, " ", path, ": certificate ", i + 1, " of ", blocks,
                       " is not a valid PEM certificate (", crypto::TakeOpenSslError(), ")"));
    }
    certs.push_back(std::move(cert));
  }
  return certs;
}

absl::StatusOr<PkeyPtr> ParsePrivateKey(const std::string& pem, const std::string& path) {
  if (pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
      pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kKeyWhat, " ", path,
                     " is encrypted; give it unencrypted (no passphrase is asked for)"));
  }
  if (pem.find("PRIVATE KEY-----") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kKeyWhat, " ", path,
                     " holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)"));
  }
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return absl::ResourceExhaustedError("BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("the ", kKeyWhat, " ", path,
                                                   " is not a valid PEM private key (",
                                                   crypto::TakeOpenSslError(), ")"));
  }
  return key;
}

absl::Status CheckValidNow(X509* cert, const std::string& path) {
  const ASN1_TIME* not_before = X509_get0_notBefore(cert);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert);
  if (X509_cmp_current_time(not_after) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kCertWhat, " ", path, " expired on ", TimeText(not_after)));
  }
  if (X509_cmp_current_time(not_before) > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kCertWhat, " ", path, " is not valid before ", TimeText(not_before)));
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const TlsMaterial& material) {
  // See tls.h for why a CA means REQUIRE_AND_VERIFY.
  grpc::SslServerCredentialsOptions options(
      material.ca_certs.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = material.ca_certs;
  options.pem_key_cert_pairs.push_back({material.private_key, material.cert_chain});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MakeClientCredentials(const TlsMaterial& material) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = material.ca_certs;
  options.pem_private_key = material.private_key;
  options.pem_cert_chain = material.cert_chain;
  return grpc::SslCredentials(options);
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(files.cert.empty()
                                          ? "a TLS private key needs its certificate"
                                          : "a TLS certificate needs its private key");
  }
  TlsMaterial material;
  if (!files.cert.empty()) {
    auto cert_pem = ReadPemFile(files.cert, kCertWhat);
    if (!cert_pem.ok()) return cert_pem.status();
    auto certs = ParseCertificates(*cert_pem, files.cert, kCertWhat);
    if (!certs.ok()) return certs.status();
    auto key_pem = ReadPemFile(files.key, kKeyWhat);
    if (!key_pem.ok()) return key_pem.status();
    auto key = ParsePrivateKey(*key_pem, files.key);
    if (!key.ok()) return key.status();
    X509* leaf = certs->front().get();
    if (X509_check_private_key(leaf, key->get()) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("the ", kKeyWhat, " ", files.key,
                       " does not belong to the first certificate of ", files.cert));
    }
    if (auto status = CheckValidNow(leaf, files.cert); !status.ok()) return status;
    material.cert_chain = *std::move(cert_pem);
    material.private_key = *std::move(key_pem);
  }
  if (!files.ca.empty()) {
    auto ca_pem = ReadPemFile(files.ca, kCaWhat);
    if (!ca_pem.ok()) return ca_pem.status();
    auto certs = ParseCertificates(*ca_pem, files.ca, kCaWhat);
    if (!certs.ok()) return certs.status();
    material.ca_certs = *std::move(ca_pem);
  }
  return material;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const TlsFiles& files) {
  if (files.cert.empty() || files.key.empty()) {
    return absl::InvalidArgumentError("a TLS server needs a certificate and its private key");
  }
  auto material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  auto credentials = MakeServerCredentials(*material);
  if (credentials == nullptr) return absl::InternalError("gRPC refused the TLS server material");
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const TlsFiles& files) {
  auto material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  auto credentials = MakeClientCredentials(*material);
  if (credentials == nullptr) return absl::InternalError("gRPC refused the TLS client material");
  return credentials;
}

absl::StatusOr<ProgramTransport> ProgramTransportFromFlags(const TlsFiles& files) {
  ProgramTransport transport;
  if (files.cert.empty() && files.key.empty() && files.ca.empty()) {
    transport.server = grpc::InsecureServerCredentials();
    transport.client = grpc::InsecureChannelCredentials();
    transport.description = "plain text (no TLS)";
    return transport;
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(files.cert.empty()
                                          ? "--tls_key is set but --tls_cert is not: give both"
                                          : "--tls_cert is set but --tls_key is not: give both");
  }
  if (files.cert.empty()) {
    return absl::InvalidArgumentError(
        "--tls_ca is set without --tls_cert and --tls_key: TLS needs this program's own "
        "certificate and key");
  }
  auto material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  transport.tls = true;
  transport.server = MakeServerCredentials(*material);
  transport.client = MakeClientCredentials(*material);
  if (transport.server == nullptr || transport.client == nullptr) {
    return absl::InternalError("gRPC refused the TLS material");
  }
  transport.description =
      files.ca.empty()
          ? absl::StrCat("TLS with certificate ", files.cert,
                         ", client certificates not requested, outgoing calls trust the default "
                         "roots")
          : absl::StrCat("TLS with certificate ", files.cert,
                         ", client certificates required and verified against ", files.ca);
  return transport;
}

}  // namespace lodestone::rpc

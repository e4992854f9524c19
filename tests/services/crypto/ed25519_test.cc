// Ed25519 (services/crypto/ed25519.h): the RFC 8032 section 7.1 vectors, round trips, tampering
// and wrong sizes, malformed PEM, and interoperation with keys and signatures of the openssl CLI.
#include "services/crypto/ed25519.h"

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/rpc/test_certs.h"
#include "tests/support/temp_dir.h"

namespace lodestone::crypto {
namespace {

using ::testing::HasSubstr;

// PKCS#8 DER of an Ed25519 private key is this fixed prefix followed by the 32-byte seed.
constexpr char kPkcs8Prefix[] = "302e020100300506032b657004220420";

std::string Unhex(const std::string& hex) { return absl::HexStringToBytes(hex); }

std::string PemFromSeed(const std::string& seed_hex) {
  return "-----BEGIN PRIVATE KEY-----\n" + absl::Base64Escape(Unhex(kPkcs8Prefix + seed_hex)) +
         "\n-----END PRIVATE KEY-----\n";
}

struct Vector {
  const char* seed;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
constexpr Vector kRfc8032Vectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d8c387b2eaeb4302aeeb00d291612bb0c00"},
};

SigningKey KeyFromSeed(const std::string& seed_hex) {
  auto key = SigningKey::FromPem(PemFromSeed(seed_hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

std::string Flipped(std::string bytes, size_t at) {
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  return bytes;
}

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Vector& vector : kRfc8032Vectors) {
    SCOPED_TRACE(vector.seed);
    const SigningKey key = KeyFromSeed(vector.seed);
    const std::string message = Unhex(vector.message);
    EXPECT_EQ(absl::BytesToHexString(key.PublicKey()), vector.public_key);
    const std::string signature = key.Sign(message);
    EXPECT_EQ(absl::BytesToHexString(signature), vector.signature);
    EXPECT_TRUE(VerifySignature(Unhex(vector.public_key), message, Unhex(vector.signature)));
  }
}

TEST(Ed25519Test, RoundTripIsDeterministic) {
  SigningKey key = KeyFromSeed(kRfc8032Vectors[0].seed);
  const std::string message = "LotExtracted ndfeb-jp-magnet-2025a at facility mine-1";
  const std::string signature = key.Sign(message);
  ASSERT_EQ(signature.size(), kEd25519SignatureBytes);
  EXPECT_EQ(key.Sign(message), signature);
  EXPECT_TRUE(VerifySignature(key.PublicKey(), message, signature));
  // A long message with every byte value.
  std::string binary;
  for (int i = 0; i < 70000; ++i) binary.push_back(static_cast<char>(i % 256));
  EXPECT_TRUE(VerifySignature(key.PublicKey(), binary, key.Sign(binary)));
  // A moved key still signs.
  SigningKey moved = std::move(key);
  EXPECT_TRUE(VerifySignature(moved.PublicKey(), message, moved.Sign(message)));
}

TEST(Ed25519Test, AnyFlippedByteIsRejected) {
  const SigningKey key = KeyFromSeed(kRfc8032Vectors[1].seed);
  const std::string message = "ShipmentDispatched shp-1 from fac-a to fac-b";
  const std::string signature = key.Sign(message);
  const std::string public_key = key.PublicKey();
  ASSERT_TRUE(VerifySignature(public_key, message, signature));
  for (size_t i = 0; i < message.size(); ++i) {
    EXPECT_FALSE(VerifySignature(public_key, Flipped(message, i), signature)) << "message " << i;
  }
  for (size_t i = 0; i < signature.size(); ++i) {
    EXPECT_FALSE(VerifySignature(public_key, message, Flipped(signature, i))) << "signature " << i;
  }
  for (size_t i = 0; i < public_key.size(); ++i) {
    EXPECT_FALSE(VerifySignature(Flipped(public_key, i), message, signature)) << "key " << i;
  }
  // Another party's key, and a message with a byte appended or removed.
  EXPECT_FALSE(VerifySignature(Unhex(kRfc8032Vectors[0].public_key), message, signature));
  EXPECT_FALSE(VerifySignature(public_key, message + '\0', signature));
  EXPECT_FALSE(VerifySignature(public_key, message.substr(1), signature));
}

TEST(Ed25519Test, WrongSizesAreRejected) {
  const SigningKey key = KeyFromSeed(kRfc8032Vectors[0].seed);
  const std::string message = "m";
  const std::string signature = key.Sign(message);
  const std::string public_key = key.PublicKey();
  EXPECT_FALSE(VerifySignature("", message, signature));
  EXPECT_FALSE(VerifySignature(public_key.substr(0, 31), message, signature));
  EXPECT_FALSE(VerifySignature(public_key + '\0', message, signature));
  EXPECT_FALSE(VerifySignature(public_key, message, ""));
  EXPECT_FALSE(VerifySignature(public_key, message, signature.substr(0, 63)));
  EXPECT_FALSE(VerifySignature(public_key, message, signature + '\0'));
  EXPECT_FALSE(VerifySignature(public_key, message, std::string(64, '\0')));
  EXPECT_FALSE(VerifySignature(std::string(32, '\0'), message, std::string(64, '\0')));
}

TEST(Ed25519Test, GeneratedKeysAreDistinctAndRoundTripThroughPem) {
  auto a = SigningKey::Generate();
  auto b = SigningKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->PublicKey(), b->PublicKey());
  auto reloaded = SigningKey::FromPem(a->PrivateKeyPem());
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->PublicKey(), a->PublicKey());
  EXPECT_EQ(reloaded->Sign("m"), a->Sign("m"));
  auto public_key = PublicKeyFromPem(a->PublicKeyPem());
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  EXPECT_EQ(*public_key, a->PublicKey());
  EXPECT_TRUE(VerifySignature(*public_key, "m", a->Sign("m")));
  EXPECT_FALSE(VerifySignature(b->PublicKey(), "m", a->Sign("m")));
}

TEST(Ed25519Test, KeyIdIsShortStableAndLowercaseHex) {
  // SHA-256 of the RFC 8032 TEST 1 public key, first 16 bytes.
  EXPECT_EQ(KeyId(Unhex(kRfc8032Vectors[0].public_key)), "21fe31dfa154a261626bf854046fd227");
  EXPECT_EQ(KeyId(Unhex(kRfc8032Vectors[1].public_key)), "39f713d0a644253f04529421b9f51b9b");
  EXPECT_EQ(KeyId(KeyFromSeed(kRfc8032Vectors[0].seed).PublicKey()),
            KeyId(Unhex(kRfc8032Vectors[0].public_key)));
}

TEST(Ed25519Test, ConcurrentVerificationAndSigning) {
  const SigningKey key = KeyFromSeed(kRfc8032Vectors[0].seed);
  const std::string public_key = key.PublicKey();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string message = std::to_string(t) + "/" + std::to_string(i);
        const std::string signature = key.Sign(message);
        if (!VerifySignature(public_key, message, signature)) ++failures;
        if (VerifySignature(public_key, message + "x", signature)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Ed25519Test, MalformedPemIsRefused) {
  auto status = SigningKey::FromPem("").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("holds no PEM block -----BEGIN PRIVATE KEY-----"));
  status = SigningKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
               .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not a valid PEM private key"));
  status = SigningKey::FromPem(std::string(kMaxKeyPemBytes + 1, 'A')).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("more than"));
  // A public key where the private key should be, and the reverse.
  status =
      SigningKey::FromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("holds no PEM block -----BEGIN PRIVATE KEY-----"));
  auto public_key = PublicKeyFromPem(PemFromSeed(kRfc8032Vectors[0].seed));
  EXPECT_EQ(public_key.status().code(), absl::StatusCode::kInvalidArgument);
  public_key = PublicKeyFromPem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  EXPECT_EQ(public_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(public_key.status().message(), HasSubstr("not a valid PEM public key"));
}

// Keys and signatures of /usr/bin/openssl (the way operators will make party keys).
class Ed25519CliTest : public ::testing::Test {
 protected:
  bool Openssl(const std::vector<std::string>& args) {
    std::string error;
    const bool ok = testing::pki_internal::RunOpenssl(dir_.path(), args, &error);
    EXPECT_TRUE(ok) << error;
    return ok;
  }
  std::string Read(const std::string& name) {
    return testing::pki_internal::ReadText(dir_.Sub(name));
  }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(testing::pki_internal::WriteText(dir_.Sub(name), text));
  }

  testing::TempDir dir_;
};

TEST_F(Ed25519CliTest, InteroperatesWithTheOpensslCli) {
  ASSERT_TRUE(Openssl({"genpkey", "-algorithm", "ed25519", "-out", "party.key"}));
  ASSERT_TRUE(Openssl({"pkey", "-in", "party.key", "-pubout", "-out", "party.pub"}));
  auto key = SigningKey::FromPem(Read("party.key"));
  ASSERT_TRUE(key.ok()) << key.status();
  auto public_key = PublicKeyFromPem(Read("party.pub"));
  ASSERT_TRUE(public_key.ok()) << public_key.status();
  EXPECT_EQ(*public_key, key->PublicKey());
  EXPECT_EQ(KeyId(*public_key).size(), 32u);

  // openssl signs, we verify.
  const std::string message = "an event's canonical bytes";
  Write("message", message);
  ASSERT_TRUE(Openssl(
      {"pkeyutl", "-sign", "-rawin", "-inkey", "party.key", "-in", "message", "-out", "cli.sig"}));
  const std::string cli_signature = Read("cli.sig");
  EXPECT_TRUE(VerifySignature(*public_key, message, cli_signature));
  EXPECT_EQ(cli_signature, key->Sign(message));  // deterministic, so byte-identical
  // We sign, openssl verifies.
  Write("ours.sig", key->Sign(message));
  EXPECT_TRUE(Openssl({"pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", "party.pub", "-in",
                       "message", "-sigfile", "ours.sig"}));
}

TEST_F(Ed25519CliTest, OtherAlgorithmsAndEncryptedKeysAreRefused) {
  ASSERT_TRUE(Openssl({"genpkey", "-algorithm", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                       "-out", "ec.key"}));
  ASSERT_TRUE(Openssl({"pkey", "-in", "ec.key", "-pubout", "-out", "ec.pub"}));
  auto status = SigningKey::FromPem(Read("ec.key")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("holds a key of type EC, not Ed25519"));
  status = PublicKeyFromPem(Read("ec.pub")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("not Ed25519"));
  ASSERT_TRUE(Openssl({"genpkey", "-algorithm", "ed448", "-out", "ed448.key"}));
  EXPECT_THAT(SigningKey::FromPem(Read("ed448.key")).status().message(),
              HasSubstr("type ED448, not Ed25519"));

  ASSERT_TRUE(Openssl({"genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:secret",
                       "-out", "encrypted.key"}));
  status = SigningKey::FromPem(Read("encrypted.key")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is encrypted"));
}

}  // namespace
}  // namespace lodestone::crypto

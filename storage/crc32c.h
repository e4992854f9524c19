// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven (slicing-by-8). The same
// function as iSCSI, ext4 and RocksDB's block checksums: Value("123456789") == 0xE3069283.
// Internal to storage/ (Abseil 20220623 has no crc32c).
#ifndef LODESTONE_STORAGE_CRC32C_H_
#define LODESTONE_STORAGE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace lodestone::storage::crc32c {

// Extends `crc` (the CRC-32C of some bytes A) to the CRC-32C of A || data.
uint32_t Extend(uint32_t crc, std::string_view data);

inline uint32_t Value(std::string_view data) { return Extend(0, data); }

}  // namespace lodestone::storage::crc32c

#endif  // LODESTONE_STORAGE_CRC32C_H_

// A RocksDB file system for crash tests: it passes every call to the file system below, keeps
// track of what a power cut would lose, and can simulate one, a full disk, or a dead disk.
//
// What it models (the pattern of RocksDB's FaultInjectionTestFS; our own implementation):
// - Data appended to a file is durable only once the file is synced (Sync or Fsync; RangeSync
//   and Flush are not enough). A power cut truncates every file written since the last cut to
//   the size it had at its last sync.
// - A file created (or replaced by a rename or a truncating open) is durable only once its
//   directory is synced. A power cut deletes a new file whose directory was not synced since,
//   and gives a replaced file its previous contents back.
// - A cut can be armed to happen at the n-th mutating call (append, sync, close, create,
//   rename, delete, directory sync): from that call on every mutating call fails with an I/O
//   error and changes nothing, as if the machine had lost power at that instant. Reads keep
//   working (the process is gone; nobody reads).
// - A full disk: while set, appends and file creation fail with NoSpace (ENOSPC) and write
//   nothing; syncs of what was already written succeed.
// Not modelled: a deleted file coming back after a cut, torn (partially persisted) unsynced
// writes, bit rot (tests flip bytes themselves). Syncs are not passed down: durability is what
// this class says it is, so crash tests do not pay for real fsyncs.
//
// For tests and crash drills only. Thread-safe.
#ifndef LODESTONE_STORAGE_FAULT_INJECTION_FS_H_
#define LODESTONE_STORAGE_FAULT_INJECTION_FS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace lodestone::storage {

class FaultInjectionFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultInjectionFileSystem(
      std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());
  ~FaultInjectionFileSystem() override;

  static const char* kClassName() { return "LodestoneFaultInjectionFileSystem"; }
  const char* Name() const override { return kClassName(); }

  // Power cuts. ArmCut(n): the n-th mutating call from now (n >= 1) and every later one fail.
  // CutNow(): the power goes now. IsCut(): whether it went. Neither touches the files: call
  // LosePower() once everything using the file system is closed.
  void ArmCut(uint64_t mutating_calls);
  void CutNow();
  bool IsCut() const;
  // Applies the cut: unsynced data and undurable directory entries are lost, as on the next
  // boot. Then the power is back (a new epoch: everything on disk now counts as durable).
  // Without a cut before, it also simulates one first. Returns the first error of the file
  // system below (the files are then in an unknown state).
  rocksdb::IOStatus LosePower();

  // A full disk while `full`: appends and creations fail with NoSpace.
  void SetDiskFull(bool full);

  // Figures for the tests' reports.
  uint64_t mutating_calls() const;  // since construction
  uint64_t bytes_dropped() const;   // by LosePower, since construction
  uint64_t files_dropped() const;   // deleted or restored by LosePower, since construction

  // rocksdb::FileSystem
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* file,
                                    rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* file,
                                       rocksdb::IODebugContext* debug) override;
  // Not supported (this project's RocksDB options never recycle files or open them
  // read-write): NotSupported, rather than writes the bookkeeping would miss.
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* file,
                                      rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus NewRandomRWFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* file,
                                    rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* directory,
                                 rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus RenameFile(const std::string& source, const std::string& target,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus LinkFile(const std::string& source, const std::string& target,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus CreateDir(const std::string& name, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& name, const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus DeleteDir(const std::string& name, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* debug) override;
  // 0 while the disk is full, else what the file system below says.
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* free_bytes, rocksdb::IODebugContext* debug) override;
  rocksdb::IOStatus Truncate(const std::string& name, size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override;

  class TrackedFile;
  class TrackedDirectory;

 private:
  struct FileState {
    uint64_t size = 0;         // bytes written, as the file system below holds them
    uint64_t synced_size = 0;  // of which durable
  };
  // How to undo a change of a directory entry not yet made durable by a directory sync:
  // nullopt when there was no file (delete it), else the entry's durable contents.
  using Undo = std::optional<std::string>;

  // Counts a mutating call; the error it must fail with (a cut, a full disk), if any. mu_ held.
  rocksdb::IOStatus Mutate(bool writes_data);
  // The durable contents of `name` now: nullopt when absent. mu_ held.
  Undo DurableContents(const std::string& name);
  // Remembers how to undo a change of `name`'s directory entry (keeps an earlier undo). mu_ held.
  void RecordEntryChange(const std::string& name, Undo previous);
  rocksdb::IOStatus OpenTracked(const std::string& name, bool reopen,
                                const rocksdb::FileOptions& options,
                                std::unique_ptr<rocksdb::FSWritableFile>* file,
                                rocksdb::IODebugContext* debug);
  rocksdb::IOStatus RestoreFile(const std::string& name, const std::string& contents);
  rocksdb::IOStatus TruncateBelow(const std::string& name, uint64_t size);

  mutable std::mutex mu_;  // serialises every mutating call with the bookkeeping
  bool cut_ = false;
  uint64_t cut_countdown_ = 0;  // 0: not armed
  bool disk_full_ = false;
  uint64_t mutating_calls_ = 0;
  uint64_t bytes_dropped_ = 0;
  uint64_t files_dropped_ = 0;
  // Files written in this epoch, by name (shared with their open handles).
  std::map<std::string, std::shared_ptr<FileState>> files_;
  // Directory -> entry name -> how to undo its change.
  std::map<std::string, std::map<std::string, Undo>> unsynced_entries_;
};

// An Env for RocksDB over `file_system` (as rocksdb::NewCompositeEnv) whose sleeps last at most
// a millisecond: after a failed flush or compaction RocksDB waits a second before it retries
// (and closing the database waits for that), which a crash test meets at every power cut. What
// is durable does not depend on it; the clock still tells the real time.
std::unique_ptr<rocksdb::Env> NewFaultInjectionEnv(
    std::shared_ptr<FaultInjectionFileSystem> file_system);

}  // namespace lodestone::storage

#endif  // LODESTONE_STORAGE_FAULT_INJECTION_FS_H_

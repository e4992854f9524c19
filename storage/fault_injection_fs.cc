#include "storage/fault_injection_fs.h"

#include <algorithm>
#include <utility>

namespace lodestone::storage {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;

std::string DirectoryOf(const std::string& name) {
  const size_t slash = name.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : name.substr(0, slash);
}

std::string WithoutTrailingSlashes(std::string name) {
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  return name;
}

IOStatus PowerCutError() { return IOStatus::IOError("simulated power cut: the disk is gone"); }

}  // namespace

// A writable file whose appends and syncs are counted and tracked.
class FaultInjectionFileSystem::TrackedFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultInjectionFileSystem* fs,
              std::shared_ptr<FileState> state)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), state_(std::move(state)) {}

  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  IODebugContext* debug) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/true);
    if (status.ok()) status = target()->Append(data, options, debug);
    if (status.ok()) state_->size += data.size();
    return status;
  }
  IOStatus Append(const rocksdb::Slice& data, const IOOptions& options,
                  const rocksdb::DataVerificationInfo& /*info*/, IODebugContext* debug) override {
    return Append(data, options, debug);
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* debug) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/true);
    if (status.ok()) status = target()->PositionedAppend(data, offset, options, debug);
    if (status.ok()) {
      state_->size = std::max<uint64_t>(state_->size, offset + data.size());
      state_->synced_size = std::min(state_->synced_size, offset);  // overwritten bytes
    }
    return status;
  }
  IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const IOOptions& options,
                            const rocksdb::DataVerificationInfo& /*info*/,
                            IODebugContext* debug) override {
    return PositionedAppend(data, offset, options, debug);
  }
  IOStatus Truncate(uint64_t size, const IOOptions& options, IODebugContext* debug) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/false);
    if (status.ok()) status = target()->Truncate(size, options, debug);
    if (status.ok()) {
      state_->size = size;
      state_->synced_size = std::min(state_->synced_size, size);
    }
    return status;
  }
  // Durability comes from this class's bookkeeping: syncs are not passed down.
  IOStatus Sync(const IOOptions& /*options*/, IODebugContext* /*debug*/) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/false);
    if (status.ok()) state_->synced_size = state_->size;
    return status;
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* debug) override {
    return Sync(options, debug);
  }
  IOStatus RangeSync(uint64_t /*offset*/, uint64_t /*bytes*/, const IOOptions& /*options*/,
                     IODebugContext* /*debug*/) override {
    std::lock_guard lock(fs_->mu_);
    return fs_->Mutate(/*writes_data=*/false);  // a hint: makes nothing durable
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* debug) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/false);
    if (status.ok()) status = target()->Flush(options, debug);
    return status;
  }
  // The file below is always closed (its descriptor released); after a cut the call fails.
  IOStatus Close(const IOOptions& options, IODebugContext* debug) override {
    std::lock_guard lock(fs_->mu_);
    const IOStatus status = fs_->Mutate(/*writes_data=*/false);
    const IOStatus closed = target()->Close(options, debug);
    return status.ok() ? closed : status;
  }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::shared_ptr<FileState> state_;
};

// A directory whose syncs make its changed entries durable.
class FaultInjectionFileSystem::TrackedDirectory : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDirectory(std::unique_ptr<rocksdb::FSDirectory> directory, FaultInjectionFileSystem* fs,
                   std::string name)
      : FSDirectoryWrapper(std::move(directory)), fs_(fs), name_(std::move(name)) {}

  IOStatus Fsync(const IOOptions& /*options*/, IODebugContext* /*debug*/) override {
    std::lock_guard lock(fs_->mu_);
    IOStatus status = fs_->Mutate(/*writes_data=*/false);
    if (status.ok()) fs_->unsynced_entries_.erase(name_);
    return status;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& options, IODebugContext* debug,
                               const rocksdb::DirFsyncOptions& /*dir_options*/) override {
    return Fsync(options, debug);
  }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::string name_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(std::move(base)) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::ArmCut(uint64_t mutating_calls) {
  std::lock_guard lock(mu_);
  cut_countdown_ = std::max<uint64_t>(mutating_calls, 1);
}

void FaultInjectionFileSystem::CutNow() {
  std::lock_guard lock(mu_);
  cut_ = true;
}

bool FaultInjectionFileSystem::IsCut() const {
  std::lock_guard lock(mu_);
  return cut_;
}

void FaultInjectionFileSystem::SetDiskFull(bool full) {
  std::lock_guard lock(mu_);
  disk_full_ = full;
}

uint64_t FaultInjectionFileSystem::mutating_calls() const {
  std::lock_guard lock(mu_);
  return mutating_calls_;
}

uint64_t FaultInjectionFileSystem::bytes_dropped() const {
  std::lock_guard lock(mu_);
  return bytes_dropped_;
}

uint64_t FaultInjectionFileSystem::files_dropped() const {
  std::lock_guard lock(mu_);
  return files_dropped_;
}

IOStatus FaultInjectionFileSystem::Mutate(bool writes_data) {
  ++mutating_calls_;
  if (cut_) return PowerCutError();
  if (cut_countdown_ > 0 && --cut_countdown_ == 0) {
    cut_ = true;
    return PowerCutError();
  }
  if (writes_data && disk_full_) return IOStatus::NoSpace("simulated full disk");
  return IOStatus::OK();
}

FaultInjectionFileSystem::Undo FaultInjectionFileSystem::DurableContents(const std::string& name) {
  const std::string directory = DirectoryOf(name);
  if (auto dir = unsynced_entries_.find(directory); dir != unsynced_entries_.end()) {
    if (auto entry = dir->second.find(name); entry != dir->second.end()) return entry->second;
  }
  if (!target()->FileExists(name, IOOptions(), nullptr).ok()) return std::nullopt;
  std::string contents;
  if (!rocksdb::ReadFileToString(target(), name, &contents).ok()) return std::nullopt;
  if (auto file = files_.find(name); file != files_.end()) {
    contents.resize(std::min<uint64_t>(contents.size(), file->second->synced_size));
  }
  return contents;
}

void FaultInjectionFileSystem::RecordEntryChange(const std::string& name, Undo previous) {
  unsynced_entries_[DirectoryOf(name)].try_emplace(name, std::move(previous));
}

IOStatus FaultInjectionFileSystem::OpenTracked(const std::string& name, bool reopen,
                                               const rocksdb::FileOptions& options,
                                               std::unique_ptr<rocksdb::FSWritableFile>* file,
                                               IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/true);
  if (!status.ok()) return status;
  const bool existed = target()->FileExists(name, IOOptions(), nullptr).ok();
  Undo previous = existed ? DurableContents(name) : std::nullopt;
  uint64_t size = 0;
  if (reopen && existed) {
    status = target()->GetFileSize(name, IOOptions(), &size, debug);
    if (!status.ok()) return status;
  }
  status = reopen ? target()->ReopenWritableFile(name, options, file, debug)
                  : target()->NewWritableFile(name, options, file, debug);
  if (!status.ok()) return status;
  if (!existed || !reopen) RecordEntryChange(name, std::move(previous));
  std::shared_ptr<FileState>& state = files_[name];
  if (state == nullptr || !reopen) {
    state = std::make_shared<FileState>();
    state->size = size;
    state->synced_size = size;  // a reopened file's earlier bytes count as durable
  }
  *file = std::make_unique<TrackedFile>(std::move(*file), this, state);
  return IOStatus::OK();
}

IOStatus FaultInjectionFileSystem::NewWritableFile(const std::string& name,
                                                   const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* file,
                                                   IODebugContext* debug) {
  return OpenTracked(name, /*reopen=*/false, options, file, debug);
}

IOStatus FaultInjectionFileSystem::ReopenWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* file, IODebugContext* debug) {
  return OpenTracked(name, /*reopen=*/true, options, file, debug);
}

IOStatus FaultInjectionFileSystem::ReuseWritableFile(
    const std::string& /*name*/, const std::string& /*old_name*/,
    const rocksdb::FileOptions& /*options*/, std::unique_ptr<rocksdb::FSWritableFile>* /*file*/,
    IODebugContext* /*debug*/) {
  return IOStatus::NotSupported("FaultInjectionFileSystem does not recycle files");
}

IOStatus FaultInjectionFileSystem::NewRandomRWFile(
    const std::string& /*name*/, const rocksdb::FileOptions& /*options*/,
    std::unique_ptr<rocksdb::FSRandomRWFile>* /*file*/, IODebugContext* /*debug*/) {
  return IOStatus::NotSupported("FaultInjectionFileSystem has no read-write files");
}

IOStatus FaultInjectionFileSystem::NewDirectory(const std::string& name, const IOOptions& options,
                                                std::unique_ptr<rocksdb::FSDirectory>* directory,
                                                IODebugContext* debug) {
  IOStatus status = target()->NewDirectory(name, options, directory, debug);
  if (!status.ok()) return status;
  *directory =
      std::make_unique<TrackedDirectory>(std::move(*directory), this, WithoutTrailingSlashes(name));
  return status;
}

IOStatus FaultInjectionFileSystem::DeleteFile(const std::string& name, const IOOptions& options,
                                              IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  if (!status.ok()) return status;
  Undo previous = DurableContents(name);
  status = target()->DeleteFile(name, options, debug);
  if (!status.ok()) return status;
  files_.erase(name);
  RecordEntryChange(name, std::move(previous));
  return status;
}

IOStatus FaultInjectionFileSystem::RenameFile(const std::string& source, const std::string& target,
                                              const IOOptions& options, IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  if (!status.ok()) return status;
  Undo source_previous = DurableContents(source);
  Undo target_previous = DurableContents(target);
  status = this->target()->RenameFile(source, target, options, debug);
  if (!status.ok()) return status;
  files_.erase(target);
  if (auto file = files_.find(source); file != files_.end()) {
    files_[target] = file->second;
    files_.erase(file);
  }
  RecordEntryChange(source, std::move(source_previous));
  RecordEntryChange(target, std::move(target_previous));
  return status;
}

IOStatus FaultInjectionFileSystem::LinkFile(const std::string& source, const std::string& target,
                                            const IOOptions& options, IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  if (!status.ok()) return status;
  Undo target_previous = DurableContents(target);
  status = this->target()->LinkFile(source, target, options, debug);
  if (status.ok()) RecordEntryChange(target, std::move(target_previous));
  return status;
}

IOStatus FaultInjectionFileSystem::Truncate(const std::string& name, size_t size,
                                            const IOOptions& options, IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  if (status.ok()) status = target()->Truncate(name, size, options, debug);
  if (status.ok()) {
    if (auto file = files_.find(name); file != files_.end()) {
      file->second->size = size;
      file->second->synced_size = std::min<uint64_t>(file->second->synced_size, size);
    }
  }
  return status;
}

IOStatus FaultInjectionFileSystem::CreateDir(const std::string& name, const IOOptions& options,
                                             IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  return status.ok() ? target()->CreateDir(name, options, debug) : status;
}

IOStatus FaultInjectionFileSystem::CreateDirIfMissing(const std::string& name,
                                                      const IOOptions& options,
                                                      IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  return status.ok() ? target()->CreateDirIfMissing(name, options, debug) : status;
}

IOStatus FaultInjectionFileSystem::DeleteDir(const std::string& name, const IOOptions& options,
                                             IODebugContext* debug) {
  std::lock_guard lock(mu_);
  IOStatus status = Mutate(/*writes_data=*/false);
  return status.ok() ? target()->DeleteDir(name, options, debug) : status;
}

IOStatus FaultInjectionFileSystem::GetFreeSpace(const std::string& path, const IOOptions& options,
                                                uint64_t* free_bytes, IODebugContext* debug) {
  {
    std::lock_guard lock(mu_);
    if (disk_full_) {
      *free_bytes = 0;
      return IOStatus::OK();
    }
  }
  return target()->GetFreeSpace(path, options, free_bytes, debug);
}

IOStatus FaultInjectionFileSystem::TruncateBelow(const std::string& name, uint64_t size) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus status = target()->ReopenWritableFile(name, rocksdb::FileOptions(), &file, nullptr);
  if (status.ok()) status = file->Truncate(size, IOOptions(), nullptr);
  if (file != nullptr) {
    const IOStatus closed = file->Close(IOOptions(), nullptr);
    if (status.ok()) status = closed;
  }
  return status;
}

IOStatus FaultInjectionFileSystem::RestoreFile(const std::string& name,
                                               const std::string& contents) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus status = target()->NewWritableFile(name, rocksdb::FileOptions(), &file, nullptr);
  if (status.ok()) status = file->Append(contents, IOOptions(), nullptr);
  if (file != nullptr) {
    const IOStatus closed = file->Close(IOOptions(), nullptr);
    if (status.ok()) status = closed;
  }
  return status;
}

IOStatus FaultInjectionFileSystem::LosePower() {
  std::lock_guard lock(mu_);
  cut_ = true;
  IOStatus first_error;
  auto keep_first = [&](const IOStatus& status) {
    if (first_error.ok() && !status.ok()) first_error = status;
  };
  // Unsynced data first, then the directory entries (which may restore whole files).
  for (const auto& [name, state] : files_) {
    if (state->size == state->synced_size) continue;
    if (!target()->FileExists(name, IOOptions(), nullptr).ok()) continue;
    bytes_dropped_ += state->size - state->synced_size;
    keep_first(TruncateBelow(name, state->synced_size));
  }
  for (const auto& [directory, entries] : unsynced_entries_) {
    for (const auto& [name, undo] : entries) {
      const bool exists = target()->FileExists(name, IOOptions(), nullptr).ok();
      if (!undo.has_value()) {
        if (!exists) continue;
        keep_first(target()->DeleteFile(name, IOOptions(), nullptr));
      } else {
        keep_first(RestoreFile(name, *undo));
      }
      ++files_dropped_;
    }
  }
  files_.clear();
  unsynced_entries_.clear();
  cut_ = false;
  cut_countdown_ = 0;
  return first_error;
}

namespace {

class ShortSleepEnv final : public rocksdb::EnvWrapper {
 public:
  explicit ShortSleepEnv(std::unique_ptr<rocksdb::Env> target)
      : rocksdb::EnvWrapper(std::move(target)) {}
  static const char* kClassName() { return "LodestoneShortSleepEnv"; }
  const char* Name() const override { return kClassName(); }
  void SleepForMicroseconds(int micros) override {
    rocksdb::EnvWrapper::SleepForMicroseconds(std::min(micros, 1000));
  }
};

}  // namespace

std::unique_ptr<rocksdb::Env> NewFaultInjectionEnv(
    std::shared_ptr<FaultInjectionFileSystem> file_system) {
  return std::make_unique<ShortSleepEnv>(rocksdb::NewCompositeEnv(std::move(file_system)));
}

}  // namespace lodestone::storage

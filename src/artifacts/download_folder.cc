#include "artifacts/download_folder.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <random>

#include "common/files.h"

namespace gantry::artifacts {
namespace {

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string Errno(int e) { return std::strerror(e); }

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string TempName() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return ".gantry-download-" + std::to_string(::getpid()) + "-" + std::to_string(salt) + "-" +
         std::to_string(counter++);
}

std::string BaseName(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
}

}  // namespace

bool HasReservedPart(std::string_view path) {
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view part = path.substr(start, end == std::string_view::npos ? end : end - start);
    if (EqualsIgnoringCase(part, ".git") || EqualsIgnoringCase(part, ".gantry")) return true;
    if (end == std::string_view::npos) return false;
    start = end + 1;
  }
}

Result<DownloadFolder> DownloadFolder::Open(fs::path root, const Tree& tree,
                                            DownloadFolderOptions options) {
  RETURN_IF_ERROR(tree.CheckLinks());
  // What lstat says of each folder on the way, so shared prefixes are looked at once.
  enum class Kind { kMissing, kFolder, kLink, kOther };
  std::map<std::string, Kind, std::less<>> seen;
  auto kind_of = [&](const std::string& rel) {
    auto it = seen.find(rel);
    if (it != seen.end()) return it->second;
    struct stat st;
    Kind k = Kind::kMissing;
    if (::lstat((root / rel).c_str(), &st) == 0) {
      k = S_ISLNK(st.st_mode) ? Kind::kLink : S_ISDIR(st.st_mode) ? Kind::kFolder : Kind::kOther;
    }
    seen.emplace(rel, k);
    return k;
  };
  for (const TreeEntry& e : tree.entries()) {
    const std::string& path = e.path;
    if (HasReservedPart(path)) {
      return Err(InvalidArgumentError("refusing to download '" + path +
                                      "': downloads never write into .git or .gantry"));
    }
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string folder = path.substr(0, slash);
      Kind k = kind_of(folder);
      if (k == Kind::kMissing) break;
      if (k == Kind::kLink) {
        return Err(InvalidArgumentError("refusing to download '" + path +
                                        "': " + (root / folder).string() +
                                        " is a symlink, and downloads never write through one"));
      }
      if (k == Kind::kOther) {
        return Err(AlreadyExistsError("cannot download '" + path + "': " +
                                      (root / folder).string() + " is a file, not a folder"));
      }
    }
    Kind k = kind_of(path);
    if (k == Kind::kFolder) {
      return Err(AlreadyExistsError("cannot download '" + path + "': " + (root / path).string() +
                                    " is a folder"));
    }
    if (k != Kind::kMissing && !options.overwrite) {
      return Err(AlreadyExistsError((root / path).string() + " already exists; pass " +
                                    options.overwrite_hint + " to replace it"));
    }
  }
  RETURN_IF_ERROR(MakeDirs(root));
  return DownloadFolder(std::move(root), std::move(options));
}

Result<int> DownloadFolder::OpenParent(std::string_view rel) {
  int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Err(InternalError("cannot open " + root_.string() + ": " + Errno(errno)));
  size_t start = 0;
  for (size_t slash = rel.find('/'); slash != std::string_view::npos;
       start = slash + 1, slash = rel.find('/', start)) {
    std::string part(rel.substr(start, slash - start));
    if (::mkdirat(fd, part.c_str(), 0755) != 0 && errno != EEXIST) {
      int e = errno;
      ::close(fd);
      return Err(InternalError("cannot create folder " + (root_ / rel.substr(0, slash)).string() +
                               ": " + Errno(e)));
    }
    int next = ::openat(fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    ::close(fd);
    if (next < 0) {
      std::string where = (root_ / rel.substr(0, slash)).string();
      if (e == ELOOP || e == ENOTDIR) {
        return Err(InvalidArgumentError("refusing to download '" + std::string(rel) +
                                        "': " + where + " is not a folder (a symlink or a file)"));
      }
      return Err(InternalError("cannot open " + where + ": " + Errno(e)));
    }
    fd = next;
  }
  return fd;
}

Status DownloadFolder::Place(int dir, const std::string& tmp, const std::string& name,
                             std::string_view rel) {
  int rc = 0;
  if (options_.overwrite) {
    rc = ::renameat(dir, tmp.c_str(), dir, name.c_str());
  } else {
    // Something may have appeared at `name` since Open() looked: still never replace it.
    rc = ::renameat2(dir, tmp.c_str(), dir, name.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL) {  // A filesystem without RENAME_NOREPLACE.
      struct stat st;
      if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        errno = EEXIST;
      } else {
        rc = ::renameat(dir, tmp.c_str(), dir, name.c_str());
      }
    }
  }
  if (rc == 0) return Status::Ok();
  int e = errno;
  ::unlinkat(dir, tmp.c_str(), 0);
  if (e == EEXIST) {
    return AlreadyExistsError((root_ / rel).string() + " already exists; pass " +
                              options_.overwrite_hint + " to replace it");
  }
  return InternalError("cannot write " + (root_ / rel).string() + ": " + Errno(e));
}

namespace {

// Writes all of `data` to `fd`; 0 or the errno of the failure.
int WriteAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno != EINTR) return errno;
    if (n > 0) off += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

Status DownloadFolder::WriteWith(const TreeEntry& entry, const std::function<int(int)>& fill) {
  ASSIGN_OR_RETURN(int raw_dir, OpenParent(entry.path));
  Fd dir(raw_dir);
  const std::string tmp = TempName();
  int fd =
      ::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return InternalError("cannot create a file in " + (root_ / entry.path).parent_path().string() +
                         ": " + Errno(errno));
  }
  int e = fill(fd);
  // fchmod, not open's mode: the umask must not strip bits the tree recorded, and the mask
  // keeps setuid, setgid and sticky bits out whatever the tree says.
  if (e == 0 && ::fchmod(fd, static_cast<mode_t>(entry.mode & 0777)) != 0) e = errno;
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e != 0) {
    ::unlinkat(dir.get(), tmp.c_str(), 0);
    return InternalError("cannot write " + (root_ / entry.path).string() + ": " + Errno(e));
  }
  return Place(dir.get(), tmp, BaseName(entry.path), entry.path);
}

Status DownloadFolder::WriteFile(const TreeEntry& entry, std::string_view data) {
  return WriteWith(entry, [&](int fd) { return WriteAll(fd, data); });
}

Status DownloadFolder::CopyFile(const TreeEntry& entry, const fs::path& source) {
  int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return InternalError("cannot read " + source.string() + ": " + Errno(errno));
  Fd closer(in);
  return WriteWith(entry, [&](int fd) {
    char buf[1 << 16];
    while (true) {
      ssize_t n = ::read(in, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno;
      if (n == 0) return 0;
      if (int e = WriteAll(fd, std::string_view(buf, static_cast<size_t>(n))); e != 0) return e;
    }
  });
}

Status DownloadFolder::WriteLink(const TreeEntry& entry) {
  ASSIGN_OR_RETURN(int raw_dir, OpenParent(entry.path));
  Fd dir(raw_dir);
  const std::string tmp = TempName();
  if (::symlinkat(entry.link.c_str(), dir.get(), tmp.c_str()) != 0) {
    return InternalError("cannot create the link " + (root_ / entry.path).string() + ": " +
                         Errno(errno));
  }
  return Place(dir.get(), tmp, BaseName(entry.path), entry.path);
}

}  // namespace gantry::artifacts

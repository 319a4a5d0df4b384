#ifndef _WIN32  // Windows: win/doorbell-win.cc
#include "doorbell.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace fastpath {

static std::string FifoPath(const std::string& dir, int side) {
  return dir + (side == 0 ? "/0" : "/1");
}

// ".../fastpath-shm-<pid>-XXXXXX" (the creator's pid in decimal, 1 to 10 digits), or the older
// ".../fastpath-shm-XXXXXX".
bool ValidDoorbellDir(const std::string& dir) {
  const std::string tag = "/fastpath-shm-";
  if (dir.size() < 1 + tag.size() + 6 || dir.size() > 4000 || dir[0] != '/') return false;
  if (dir.find("/../") != std::string::npos || dir.find("/./") != std::string::npos) return false;
  size_t slash = dir.rfind('/');
  if (dir.compare(slash, tag.size(), tag) != 0) return false;
  size_t rest = dir.size() - slash - tag.size();
  if (rest != 6) {
    // "<pid>-" before the six mkdtemp characters.
    size_t digits = rest - 7;
    if (rest < 8 || digits > 10 || dir[dir.size() - 7] != '-') return false;
    for (size_t i = slash + tag.size(); i < dir.size() - 7; i++) {
      if (dir[i] < '0' || dir[i] > '9') return false;
    }
  }
  for (size_t i = dir.size() - 6; i < dir.size(); i++) {
    char c = dir[i];
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) return false;
  }
  return true;
}

Doorbells::~Doorbells() {
  Close();
}

// Opens one FIFO for both ends without blocking and checks what was opened is ours.
static int OpenFifo(const std::string& path, OsError* err) {
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    SetErrno(err, "open", path);
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    SetErrno(err, "fstat", path);
  } else if (!S_ISFIFO(st.st_mode)) {
    SetError(err, "EPERM", path + " is not a FIFO");
  } else if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0600) {
    SetError(err, "EPERM", path + " is not owned by this uid with mode 600");
  } else {
    return fd;
  }
  close(fd);
  return -1;
}

bool Doorbells::Create(const std::string& base, OsError* err) {
  if (base.empty() || base[0] != '/') return SetError(err, "EINVAL", "doorbell base directory must be absolute");
  std::string tmpl = base;
  while (tmpl.size() > 1 && tmpl.back() == '/') tmpl.pop_back();
  // The pid lets a later server of the same uid remove the directory if this process dies before
  // the peer attached (see sweepStaleShm in tier.ts).
  tmpl += "/fastpath-shm-" + std::to_string(getpid()) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return SetErrno(err, "mkdtemp", tmpl);  // mkdtemp makes it 0700
  dir_ = buf.data();
  unlinked_ = false;
  for (int s = 0; s < 2; s++) {
    std::string p = FifoPath(dir_, s);
    if (mkfifo(p.c_str(), 0600) != 0 || chmod(p.c_str(), 0600) != 0) {
      SetErrno(err, "mkfifo", p);
      Close();
      Unlink();
      return false;
    }
  }
  for (int s = 0; s < 2; s++) {
    fd_[s] = OpenFifo(FifoPath(dir_, s), err);
    if (fd_[s] < 0) {
      Close();
      Unlink();
      return false;
    }
  }
  return true;
}

bool Doorbells::Open(const std::string& dir, OsError* err) {
  if (!ValidDoorbellDir(dir)) return SetError(err, "EBADTOKEN", "invalid doorbell directory in token");
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return SetErrno(err, "lstat", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700) {
    return SetError(err, "EPERM", dir + " is not a directory owned by this uid with mode 700");
  }
  dir_ = dir;
  unlinked_ = false;
  for (int s = 0; s < 2; s++) {
    fd_[s] = OpenFifo(FifoPath(dir_, s), err);
    if (fd_[s] < 0) {
      Close();
      dir_.clear();
      unlinked_ = true;
      return false;
    }
  }
  return true;
}

void Doorbells::Unlink() {
  if (unlinked_ || dir_.empty()) return;
  unlinked_ = true;
  unlink(FifoPath(dir_, 0).c_str());
  unlink(FifoPath(dir_, 1).c_str());
  rmdir(dir_.c_str());  // ENOENT: the peer was first
}

void Doorbells::Close() {
  for (int s = 0; s < 2; s++) {
    if (fd_[s] >= 0) close(fd_[s]);
    fd_[s] = -1;
  }
}

void Doorbells::Ring(int side) const {
  if (fd_[side] < 0) return;
  static const char one = 1;
  for (int i = 0; i < 2; i++) {
    if (write(fd_[side], &one, 1) >= 0 || errno != EINTR) return;
  }
}

void Doorbells::Drain(int side) const {
  if (fd_[side] < 0) return;
  char buf[512];
  for (int i = 0; i < 256; i++) {
    ssize_t n = read(fd_[side], buf, sizeof buf);
    if (n == static_cast<ssize_t>(sizeof buf) || (n < 0 && errno == EINTR)) continue;
    return;  // a short read, EAGAIN or an error: empty enough
  }
}

}  // namespace fastpath
#endif  // !_WIN32

#include "zmesh/app/sandbox.hpp"

#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace zmesh::app {

std::uint64_t raise_file_limit() {
    rlimit r{};
    if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
    auto before = r.rlim_cur;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &r) != 0) r.rlim_cur = before;
    }
    if (r.rlim_cur < 4096)
        spdlog::warn(
            "open files are limited to {} (ulimit -n; hard limit {}): at most about {} "
            "concurrent streams; raise the hard limit (LimitNOFILE= in a systemd unit) for "
            "more",
            r.rlim_cur, r.rlim_max, r.rlim_cur > 128 ? r.rlim_cur - 128 : 0);
    else if (r.rlim_cur != before)
        spdlog::info("open files: limit raised from {} to {}", before, r.rlim_cur);
    return r.rlim_cur;
}
namespace {

// What the running daemon needs: I/O on sockets and files it opens (configuration on
// SIGHUP, DNS files at the exit), timers, memory, threads, signals. Left out on purpose:
// execve, fork (clone without CLONE_THREAD), ptrace, mount, chroot, setuid and friends,
// module loading, keyctl, bpf, process_vm_*, personality.
constexpr const char* kAllowed[] = {"read",
                                    "write",
                                    "readv",
                                    "writev",
                                    "pread64",
                                    "pwrite64",
                                    "close",
                                    "fstat",
                                    "newfstatat",
                                    "statx",
                                    "stat",
                                    "lstat",
                                    "lseek",
                                    "access",
                                    "faccessat",
                                    "faccessat2",
                                    "readlink",
                                    "readlinkat",
                                    "getdents64",
                                    "openat",
                                    "open",
                                    "unlink",
                                    "unlinkat",
                                    "rename",
                                    "renameat",
                                    "renameat2",
                                    "link",
                                    "linkat",
                                    "fsync",
                                    "fdatasync",
                                    "ftruncate",
                                    "mkdir",
                                    "mkdirat",
                                    "fchmod",
                                    "getcwd",
                                    "mmap",
                                    "munmap",
                                    "mremap",
                                    "mprotect",
                                    "madvise",
                                    "brk",
                                    "rt_sigaction",
                                    "rt_sigprocmask",
                                    "rt_sigreturn",
                                    "sigaltstack",
                                    "rt_sigtimedwait",
                                    "ioctl",
                                    "fcntl",
                                    "dup",
                                    "dup2",
                                    "dup3",
                                    "pipe",
                                    "pipe2",
                                    "eventfd2",
                                    "epoll_create1",
                                    "epoll_ctl",
                                    "epoll_wait",
                                    "epoll_pwait",
                                    "poll",
                                    "ppoll",
                                    "select",
                                    "pselect6",
                                    "socket",
                                    "connect",
                                    "accept",
                                    "accept4",
                                    "bind",
                                    "listen",
                                    "getsockname",
                                    "getpeername",
                                    "getsockopt",
                                    "setsockopt",
                                    "sendto",
                                    "recvfrom",
                                    "sendmsg",
                                    "recvmsg",
                                    "sendmmsg",
                                    "recvmmsg",
                                    "shutdown",
                                    "socketpair",
                                    "futex",
                                    "clock_gettime",
                                    "clock_getres",
                                    "clock_nanosleep",
                                    "nanosleep",
                                    "gettimeofday",
                                    "time",
                                    "timerfd_create",
                                    "timerfd_settime",
                                    "timerfd_gettime",
                                    "getrandom",
                                    "getpid",
                                    "gettid",
                                    "getppid",
                                    "getuid",
                                    "geteuid",
                                    "getgid",
                                    "getegid",
                                    "getresuid",
                                    "getresgid",
                                    "tgkill",
                                    "tkill",
                                    "exit",
                                    "exit_group",
                                    "set_robust_list",
                                    "get_robust_list",
                                    "rseq",
                                    "set_tid_address",
                                    "sched_yield",
                                    "sched_getaffinity",
                                    "sched_getparam",
                                    "sched_getscheduler",
                                    "getpriority",
                                    "setpriority",
                                    "membarrier",
                                    "prlimit64",
                                    "getrlimit",
                                    "uname",
                                    "sysinfo",
                                    "restart_syscall",
                                    "getrusage",
                                    "times",
                                    "umask",
                                    "prctl",
                                    "arch_prctl",
                                    "statfs",
                                    "fstatfs",
                                    "sched_get_priority_max",
                                    "sched_get_priority_min",
                                    "wait4",
                                    "epoll_pwait2",
                                    "mlock",
                                    "mlock2",
                                    "munlock",
                                    "fadvise64",
                                    "getitimer",
                                    "setitimer",
                                    "alarm"};

}  // namespace

std::string install_seccomp() {
    std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)),
                                                         seccomp_release);
    if (!ctx) return "seccomp: cannot create a filter";
    if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 1) != 0)
        return "seccomp: this kernel cannot apply a filter to all threads";
    for (const char* name : kAllowed) {
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
        if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, nr, 0); rc != 0)
            return std::string("seccomp: cannot allow ") + name + ": " + std::strerror(-rc);
    }
    // Threads only: clone must carry CLONE_THREAD. clone3 hides its flags in memory the
    // filter cannot read, so it answers ENOSYS and the C library falls back to clone.
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0)
        return "seccomp: cannot add the clone rule";
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
        return "seccomp: cannot add the clone3 rule";
    if (int rc = seccomp_load(ctx.get()); rc != 0)
        return std::string("seccomp: cannot load the filter: ") + std::strerror(-rc);
    return {};
}

std::string drop_privileges(const std::string& user,
                            const std::vector<std::filesystem::path>& owned) {
    if (::geteuid() != 0 || user.empty()) return {};
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr)
        return "security.user: no such user '" + user + "'";
    uid_t uid = pw.pw_uid;
    gid_t gid = pw.pw_gid;
    if (uid == 0) return "security.user: '" + user + "' is root; name an unprivileged user";
    for (const auto& p : owned)
        if (!p.empty() && ::chown(p.c_str(), uid, gid) != 0 && errno != ENOENT)
            return "cannot give " + p.string() + " to " + user + ": " + std::strerror(errno);
    if (::setgroups(0, nullptr) != 0) return std::string("setgroups: ") + std::strerror(errno);
    if (::setresgid(gid, gid, gid) != 0) return std::string("setresgid: ") + std::strerror(errno);
    if (::setresuid(uid, uid, uid) != 0) return std::string("setresuid: ") + std::strerror(errno);
    if (::setuid(0) == 0 || ::geteuid() == 0) return "dropping root failed: root came back";
    return {};
}

}  // namespace zmesh::app

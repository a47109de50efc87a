// The daemon's seccomp allowlist, installed in a forked child: what a compromised node
// would reach for is refused with EPERM, what the node needs keeps working.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "zmesh/app/sandbox.hpp"

namespace {

// Runs `body` in a child after installing the filter; the child's exit code is the
// number of the first failed check (0: all passed).
int in_sandboxed_child(int (*body)()) {
    pid_t pid = ::fork();
    if (pid == 0) {
        if (!zmesh::app::install_seccomp().empty()) ::_exit(100);
        ::_exit(body());
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 200 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

TEST(Sandbox, ForbiddenSyscallsAreRefused) {
    int rc = in_sandboxed_child([]() -> int {
        char arg0[] = "/bin/false";  // exits 1: an exec that got through fails the check
        char* argv[] = {arg0, nullptr};
        errno = 0;
        if (::execve("/bin/false", argv, nullptr) != -1 || errno != EPERM) return 1;
        errno = 0;
        pid_t child = ::fork();  // clone without CLONE_THREAD
        if (child == 0) ::_exit(0);
        if (child != -1 || errno != EPERM) return 2;
        errno = 0;
        if (::setuid(0) != -1 || errno != EPERM) return 3;
        if (::chroot("/") != -1 || errno != EPERM) return 4;
        return 0;
    });
    EXPECT_EQ(rc, 0) << "check " << rc << " failed (100: the filter did not install)";
}

TEST(Sandbox, WhatTheNodeNeedsStillWorks) {
    int rc = in_sandboxed_child([]() -> int {
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return 1;
        ::close(fd);
        bool ran = false;
        std::thread t([&] { ran = true; });  // threads: clone with CLONE_THREAD
        t.join();
        if (!ran) return 2;
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return 3;
        if (::write(p[1], "x", 1) != 1) return 4;
        return 0;
    });
    EXPECT_EQ(rc, 0) << "check " << rc << " failed";
}

}  // namespace

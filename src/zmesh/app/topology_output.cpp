#include "zmesh/app/topology_output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <utility>

extern char** environ;

namespace zmesh::app {
namespace {

constexpr std::size_t kMaxSvgBytes = std::size_t{256} << 20;
constexpr std::size_t kMaxStderrBytes = 4096;

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

// A writer into a pipe whose reader died gets EPIPE, not a signal that ends the CLI.
class IgnoreSigpipe {
  public:
    IgnoreSigpipe() {
        struct sigaction sa {};
        sa.sa_handler = SIG_IGN;
        ::sigemptyset(&sa.sa_mask);
        ::sigaction(SIGPIPE, &sa, &old_);
    }
    ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

  private:
    struct sigaction old_ {};
};

std::string first_line(const std::string& s) {
    auto line = s.substr(0, s.find('\n'));
    return line.empty() ? std::string("no message") : line;
}

}  // namespace

Rendered render_svg(std::string_view dot_text, const std::string& program) {
    Rendered r;
    std::array<int, 2> in{-1, -1}, out{-1, -1}, err{-1, -1};
    if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0 ||
        ::pipe2(err.data(), O_CLOEXEC) != 0) {
        for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
            if (fd >= 0) ::close(fd);
        r.error = std::string("cannot run Graphviz: ") + std::strerror(errno);
        return r;
    }
    Fd to_child(in[1]), from_child(out[0]), errors(err[0]);
    Fd child_in(in[0]), child_out(out[1]), child_err(err[1]);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, child_in.get(), STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, child_out.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, child_err.get(), STDERR_FILENO);
    std::string arg0 = program, arg1 = "-Tsvg";
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    child_in.reset();
    child_out.reset();
    child_err.reset();
    if (rc != 0) {
        r.error = rc == ENOENT ? "Graphviz's '" + program +
                                     "' is not installed (apt-get install graphviz), or use "
                                     "--format dot or json"
                               : "cannot run " + program + ": " + std::strerror(rc);
        return r;
    }

    // Feed and drain at once: dot may write before it has read everything.
    IgnoreSigpipe quiet;
    ::fcntl(to_child.get(), F_SETFL, O_NONBLOCK);
    std::string stderr_text;
    std::size_t written = 0;
    if (dot_text.empty()) to_child.reset();
    bool out_open = true, err_open = true, too_big = false;
    char buf[65536];
    while (out_open || err_open) {
        std::array<pollfd, 3> fds{{{from_child.get(), POLLIN, 0},
                                   {errors.get(), POLLIN, 0},
                                   {to_child.get(), POLLOUT, 0}}};
        if (!out_open) fds[0].fd = -1;
        if (!err_open) fds[1].fd = -1;
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[2].revents != 0) {
            auto n = ::write(to_child.get(), dot_text.data() + written, dot_text.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == dot_text.size())
                to_child.reset();  // done, or dot stopped reading (its status says why)
        }
        for (int k : {0, 1}) {
            if (fds[k].revents == 0) continue;
            auto n = ::read(fds[k].fd, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                (k == 0 ? out_open : err_open) = false;
                continue;
            }
            if (k == 0 && r.svg.size() + static_cast<std::size_t>(n) > kMaxSvgBytes) {
                too_big = true;
                out_open = false;
            } else if (k == 0) {
                r.svg.append(buf, static_cast<std::size_t>(n));
            } else if (stderr_text.size() < kMaxStderrBytes) {
                stderr_text.append(buf, static_cast<std::size_t>(n));
            }
        }
        if (too_big) break;
    }
    to_child.reset();
    from_child.reset();
    errors.reset();
    if (too_big) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (too_big) {
        r.error = "Graphviz's SVG is larger than 256 MiB";
    } else if (WIFSIGNALED(status)) {
        r.error = program + " was killed by signal " + std::to_string(WTERMSIG(status));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        r.error = program + " failed (exit " + std::to_string(WEXITSTATUS(status)) +
                  "): " + first_line(stderr_text);
    } else if (r.svg.empty()) {
        r.error = program + " wrote no SVG";
    }
    if (!r.error.empty()) r.svg.clear();
    return r;
}

std::string write_file_atomically(const std::string& path, std::string_view text) {
    namespace fs = std::filesystem;
    fs::path target(path);
    if (target.filename().empty()) return path + " names a directory, not a file";
    fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    std::string tmp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
    Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.get() < 0) return "cannot write in " + dir.string() + ": " + std::strerror(errno);
    auto fail = [&](const std::string& what) {
        std::string why = what + " " + tmp + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return why;
    };
    // 0644 whatever the umask: the picture is for sharing, not a secret.
    if (::fchmod(fd.get(), 0644) != 0) return fail("cannot chmod");
    for (std::size_t done = 0; done < text.size();) {
        auto n = ::write(fd.get(), text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail("cannot write");
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return fail("cannot sync");
    if (::close(fd.release()) != 0) return fail("cannot close");
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string why = "cannot replace " + path + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return why;
    }
    return {};
}

}  // namespace zmesh::app

/* apiary's in-namespace reaper, in C: the same protocol as REAPER_SOURCE in reaper.py.
 *
 *   reaper CONTROL_FD REPORT_FD NPROC COMMAND [ARG...]
 *
 * Forks COMMAND in a new session (signal mask emptied, SIGPIPE and SIGXFSZ back to their
 * default, RLIMIT_NPROC set when NPROC > 0) and waits for it. A byte or end-of-file on
 * CONTROL_FD kills the command's session and, when this is PID 2 under PID 1 (bwrap's
 * layout, so surely a PID namespace), every other process it can. It then writes
 * "<wait status> <maxrss KiB> <utime s> <stime s>\n" to REPORT_FD and exits the way the
 * command did: killed by the same signal, or with the same exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MS 50

static int number(const char *text) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < 0 || value > 1 << 30) {
        fprintf(stderr, "apiary sandbox: reaper: bad argument %s\n", text);
        _exit(126);
    }
    return (int)value;
}

static void run_command(int nproc, char **argv) {
    sigset_t none;
    char message[512];
    int len;
    setsid();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    if (nproc > 0) { /* counted per user namespace: bounds this command's tree alone */
        struct rlimit limit = {(rlim_t)nproc, (rlim_t)nproc};
        setrlimit(RLIMIT_NPROC, &limit);
    }
    execvp(argv[0], argv);
    len = snprintf(message, sizeof message, "apiary sandbox: cannot execute %s: %s\n",
                   argv[0], strerror(errno));
    if (len > 0)
        (void)!write(2, message, (size_t)len < sizeof message ? (size_t)len : sizeof message - 1);
    _exit(errno == ENOENT ? 127 : 126);
}

static int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

static void stop_everything(pid_t pid) {
    kill(pid, SIGKILL); /* before its setsid() the command's group does not exist yet */
    kill(-pid, SIGKILL);
    if (getpid() == 2 && getppid() == 1)
        kill(-1, SIGKILL);
}

/* Wait for the command, killing it when apiary asks (a byte) or goes away (EOF). */
static int wait_command(pid_t pid, int control, struct rusage *usage) {
    struct pollfd fds[2] = {{control, POLLIN, 0}, {open_pidfd(pid), POLLIN, 0}};
    int status;
    for (;;) {
        int ready = poll(fds, 2, fds[1].fd >= 0 ? -1 : POLL_MS);
        if (ready < 0 && errno != EINTR)
            fds[1].fd = -1; /* cannot wait on the pidfd: poll instead */
        if (ready > 0 && fds[0].fd >= 0 && fds[0].revents) {
            fds[0].fd = -1;
            stop_everything(pid);
        }
        pid_t done = wait4(pid, &status, WNOHANG, usage);
        if (done == pid)
            return status;
        if (done < 0 && errno != EINTR) {
            memset(usage, 0, sizeof *usage);
            return 126 << 8;
        }
    }
}

static void report(int fd, int status, const struct rusage *usage) {
    char line[160];
    int len = snprintf(line, sizeof line, "%d %ld %ld.%06ld %ld.%06ld\n", status,
                       usage->ru_maxrss, (long)usage->ru_utime.tv_sec,
                       (long)usage->ru_utime.tv_usec, (long)usage->ru_stime.tv_sec,
                       (long)usage->ru_stime.tv_usec);
    if (len > 0)
        (void)!write(fd, line, (size_t)len);
}

static void exit_like(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        struct rlimit no_core = {0, 0};
        sigset_t only;
        setrlimit(RLIMIT_CORE, &no_core); /* the command's core matters, not the reaper's */
        signal(sig, SIG_DFL);
        sigemptyset(&only);
        sigaddset(&only, sig);
        sigprocmask(SIG_UNBLOCK, &only, NULL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

int main(int argc, char **argv) {
    struct rusage usage;
    int control, report_fd, nproc, status;
    pid_t pid;
    if (argc < 5) {
        fprintf(stderr, "apiary sandbox: reaper: usage: reaper CONTROL REPORT NPROC COMMAND...\n");
        return 126;
    }
    control = number(argv[1]);
    report_fd = number(argv[2]);
    nproc = number(argv[3]);
    fcntl(control, F_SETFD, FD_CLOEXEC);
    fcntl(report_fd, F_SETFD, FD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN); /* a report nobody reads is an error to ignore, not a death */
    pid = fork();
    if (pid == 0)
        run_command(nproc, argv + 4);
    if (pid < 0) {
        fprintf(stderr, "apiary sandbox: reaper: cannot fork: %s\n", strerror(errno));
        return 126;
    }
    status = wait_command(pid, control, &usage);
    report(report_fd, status, &usage);
    exit_like(status);
    return 126;
}

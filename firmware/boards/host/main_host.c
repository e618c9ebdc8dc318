/*
 * main_host.c - theraloop-host: the firmware's management plane (SMP over serial, the
 * same core code as on the device) on a PC, for host tools and tests without an emulator.
 *
 *   theraloop-host          serve SMP on stdin/stdout (for pipes; logs go to stderr)
 *   theraloop-host --pty    open a pseudo-terminal, print {"pty": "/dev/pts/N"} as one
 *                           line on stdout, and serve SMP on it (smpclient, mcumgr, the
 *                           theraloop CLI connect to that path like to a serial port)
 *   theraloop-host --pty --links
 *                           also the AFE and stimulator links on ptys of their own:
 *                           {"pty": ..., "afe": ..., "stim": ...}; AFE frames written to
 *                           "afe" drive the control loop, its STIM_SET frames come out of
 *                           "stim" (and STATUS frames written there go back to it)
 *
 * A reset or fault requested over SMP reboots the core virtually (new uptime, reset reason
 * "software" or "fault"). Exits with status 0 on SIGINT, SIGTERM or end of input.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "platform_host.h"
#include "theraloop/app.h"
#include "theraloop/platform.h"
#include "theraloop/version.h"

/* The main loop wakes at least this often to run tl_app_poll. */
#define POLL_INTERVAL_MS 10

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR and the loop sees g_stop */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
        return -1;
    }
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    return sigaction(SIGPIPE, &ign, NULL); /* a closed reader shows up as EPIPE */
}

/* Raw 8-bit mode: no echo, no line editing, no CR/NL translation, no signals. */
static int make_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return -1;
    }
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                             IXOFF);
    t.c_oflag &= ~(tcflag_t)OPOST;
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    t.c_cflag |= (tcflag_t)CS8;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

/* Open a pty pair. Returns the master; *slave_keep is a descriptor of the slave side that
 * stays open so clients can connect, disconnect and reconnect without the master seeing a
 * hang-up. */
static int open_pty(char *path, size_t path_cap, int *slave_keep)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) {
        perror("theraloop-host: posix_openpt");
        return -1;
    }
    if (grantpt(master) != 0 || unlockpt(master) != 0) {
        perror("theraloop-host: grantpt/unlockpt");
        close(master);
        return -1;
    }
    const char *name = ptsname(master);
    if (name == NULL || strlen(name) >= path_cap) {
        fprintf(stderr, "theraloop-host: ptsname failed\n");
        close(master);
        return -1;
    }
    memcpy(path, name, strlen(name) + 1u);
    int slave = open(path, O_RDWR | O_NOCTTY);
    if (slave < 0 || make_raw(slave) != 0) {
        perror("theraloop-host: pty slave");
        if (slave >= 0) {
            close(slave);
        }
        close(master);
        return -1;
    }
    int flags = fcntl(master, F_GETFL);
    if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) != 0) {
        perror("theraloop-host: fcntl");
        close(slave);
        close(master);
        return -1;
    }
    *slave_keep = slave;
    return master;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: theraloop-host [--pty [--links]]\n"
            "  Serve the theraloop management plane (SMP over serial) on stdin/stdout,\n"
            "  or with --pty on a new pseudo-terminal whose path is printed as\n"
            "  {\"pty\": \"/dev/pts/N\"} on stdout.\n"
            "  --links    also the AFE and stimulator links on ptys (\"afe\", \"stim\")\n"
            "  --version  print the firmware version and exit\n");
}

int main(int argc, char **argv)
{
    int use_pty = 0;
    int use_links = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--pty") == 0) {
            use_pty = 1;
        } else if (strcmp(argv[i], "--links") == 0) {
            use_links = 1;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("theraloop-host %s (%s)\n", TL_VERSION_STRING, TL_SOURCE_REVISION);
            return 0;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (install_signals() != 0) {
        perror("theraloop-host: sigaction");
        return 1;
    }

    if (use_links && !use_pty) {
        usage(stderr);
        return 2;
    }
    int in_fd = STDIN_FILENO;
    int slave_keep = -1;
    int afe_fd = -1;
    int stim_fd = -1;
    int afe_keep = -1;
    int stim_keep = -1;
    if (use_pty) {
        char path[128];
        int master = open_pty(path, sizeof(path), &slave_keep);
        if (master < 0) {
            return 1;
        }
        in_fd = master;
        tl_host_set_cli_fd(master);
        if (use_links) {
            char afe_path[128];
            char stim_path[128];
            afe_fd = open_pty(afe_path, sizeof(afe_path), &afe_keep);
            stim_fd = open_pty(stim_path, sizeof(stim_path), &stim_keep);
            if (afe_fd < 0 || stim_fd < 0) {
                return 1;
            }
            tl_host_set_stim_fd(stim_fd);
            printf("{\"pty\": \"%s\", \"afe\": \"%s\", \"stim\": \"%s\"}\n", path, afe_path,
                   stim_path);
        } else {
            printf("{\"pty\": \"%s\"}\n", path);
        }
        fflush(stdout);
    } else {
        tl_host_set_cli_fd(STDOUT_FILENO);
    }

    tl_host_boot(TL_RESET_POWER_ON);
    tl_app_init();
    fprintf(stderr, "theraloop-host %s (%s): boot (%s)\n", TL_VERSION_STRING,
            TL_SOURCE_REVISION, tl_reset_reason_name(tl_platform_reset_reason()));

    int status = 0;
    uint8_t buf[512];
    while (!g_stop) {
        struct pollfd p[3] = {
            {.fd = in_fd, .events = POLLIN, .revents = 0},
            {.fd = afe_fd, .events = POLLIN, .revents = 0},
            {.fd = stim_fd, .events = POLLIN, .revents = 0},
        };
        int r = poll(p, use_links ? 3u : 1u, POLL_INTERVAL_MS);
        if (r < 0 && errno != EINTR) {
            perror("theraloop-host: poll");
            status = 1;
            break;
        }
        if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            ssize_t n = read(in_fd, buf, sizeof(buf));
            if (n > 0) {
                tl_app_cli_input(buf, (size_t)n);
            } else if (n == 0) {
                break; /* end of input */
            } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                perror("theraloop-host: read");
                status = 1;
                break;
            }
        }
        for (int k = 1; use_links && r > 0 && k < 3; k++) {
            if ((p[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
                continue;
            }
            ssize_t n = read(p[k].fd, buf, sizeof(buf));
            /* (a pty whose client left reads -1/EIO until one opens it again) */
            if (n > 0 && k == 1) {
                tl_app_afe_input(buf, (size_t)n);
            } else if (n > 0) {
                tl_app_stim_input(buf, (size_t)n);
            }
        }
        tl_app_poll();
        tl_reset_reason_t why;
        if (tl_host_take_reboot(&why)) {
            tl_host_boot(why);
            tl_app_init();
            fprintf(stderr, "theraloop-host: reboot (%s)\n", tl_reset_reason_name(why));
        }
    }

    if (use_pty) {
        close(slave_keep);
        close(in_fd);
    }
    if (use_links) {
        close(afe_keep);
        close(stim_keep);
        close(afe_fd);
        close(stim_fd);
    }
    return status;
}

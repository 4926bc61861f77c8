// SPDX-License-Identifier: GPL-2.0
/*
 * kecho-as: run a command as an unprivileged user inside a cgroup, as an
 * attacker on a shared host would be.
 *
 *   kecho-as UID CGROUP_DIR COMMAND [ARGS...]
 *
 * Moves itself into CGROUP_DIR (a cgroup v2 directory), drops every
 * supplementary group, takes UID as its user and group, and execs
 * COMMAND. busybox has no setpriv --reuid.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "kecho-as: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	char path[4096], pid[32];
	char *end;
	unsigned long uid;
	int fd, n;

	if (argc < 4) {
		fprintf(stderr, "usage: kecho-as UID CGROUP_DIR COMMAND [ARGS...]\n");
		return 2;
	}
	errno = 0;
	uid = strtoul(argv[1], &end, 10);
	if (errno || *end || !*argv[1] || uid == 0 || uid > 65535) {
		fprintf(stderr, "kecho-as: bad uid: %s\n", argv[1]);
		return 2;
	}
	n = snprintf(path, sizeof(path), "%s/cgroup.procs", argv[2]);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		fprintf(stderr, "kecho-as: cgroup path too long\n");
		return 2;
	}
	fd = open(path, O_WRONLY);
	if (fd < 0)
		die(path);
	n = snprintf(pid, sizeof(pid), "%d", getpid());
	if (write(fd, pid, n) != n)
		die(path);
	close(fd);
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		die("setuid");
	execvp(argv[3], argv + 3);
	die(argv[3]);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * mem-squeeze: hold the machine's free memory between the page allocator's
 * min and low watermarks, for the benchmark's cells under a RAM squeeze.
 *
 * A hog reads MemFree every 2 ms, maps and touches memory while free
 * memory is above the target and unmaps some as soon as it is below: the
 * kernel's own allocations (skbs, page fragments, slabs) then meet the
 * watermarks as on a host whose memory is all in use. Below the low
 * watermark every allocation leaves the allocator's fast path and wakes
 * kswapd (which, finding nothing to reclaim, soon gives up until a direct
 * reclaim succeeds); one that finds a zone at its min watermark reclaims
 * directly, and atomic ones take from the reserves below it. The guest has no swap, so nothing the hog holds can be
 * reclaimed: when the kernel needs pages faster than the hog returns them,
 * the OOM killer runs, and the hog's oom_score_adj of 1000 makes it the
 * one killed. A supervisor, which holds no memory to speak of, counts that
 * and starts a new hog.
 *
 * The target, in MemFree: halfway between what the hog's allocations
 * cannot take at the min watermark and at the low one, summed over the
 * zones (/proc/zoneinfo): a zone serves them down to its watermark plus
 * its protection against the highest zone (lowmem_reserve: the lower
 * zones keep pages for allocations that need them), or not at all if it
 * has less free than that at the start; plus --above KiB (default 0).
 * Held at the min watermark itself, the OOM killer takes the hog every
 * few seconds and the refill, not the squeeze, is what a run measures.
 * The hog grows by half its distance to the target at most, and not for
 * 50 ms after it had to give memory back, so as not to overshoot; it runs
 * SCHED_FIFO, so that a busy CPU does not delay a release (a kernel
 * allocation that finds nothing to reclaim soon calls the OOM killer).
 * It holds MemFree within a chunk above the target.
 *
 * --ready-fd N: one byte is written to N when MemFree first reaches the
 * target, so that a benchmark can start measuring once the hog is full.
 * MEM_SQUEEZE_CPU=N in the environment runs it on CPU N (by default it
 * runs where it was started).
 * On SIGTERM or SIGINT the hog is killed and one line is printed:
 *   mem-squeeze: target KiB, hogs killed, MemFree KiB min / mean over the
 *   2 ms samples, MiB held at most, CPU seconds the hogs used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		(1UL << 20)	/* bytes mapped or unmapped at once */
#define PERIOD_NS	2000000L	/* between two reads of MemFree */
#define MAX_GROW	64		/* chunks mapped per period, at most */
#define GROW_PAUSE	25		/* periods without growing after a release */

/* Shared by the supervisor and its hogs, so a killed hog's figures stay. */
struct squeeze_stats {
	_Atomic uint64_t samples, free_sum_kib, free_min_kib, held_max;
	atomic_bool ready;
};

static volatile sig_atomic_t stop;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mem-squeeze: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The value of "NAME:" in /proc/meminfo, in KiB, read through @fd. */
static uint64_t meminfo_kib(int fd, const char *name)
{
	char buf[4096], *p;
	ssize_t n;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		die("/proc/meminfo: %s", n ? strerror(errno) : "empty");
	buf[n] = '\0';
	p = strstr(buf, name);
	if (!p)
		die("/proc/meminfo: no %s", name);
	return strtoull(p + strlen(name), NULL, 10);
}

/* A zone's pages the hog cannot take: see the top. */
static unsigned long long zone_floor(unsigned long long free,
				     unsigned long long min,
				     unsigned long long prot)
{
	return free < min + prot ? free : min + prot;
}

/* The target without --above, in KiB: see the top. */
static uint64_t reserve_kib(void)
{
	unsigned long long free = 0, min = 0, low = 0, prot = 0, sum = 0, v;
	bool zone = false, any = false;
	char line[512], *p;
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		die("/proc/zoneinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Node ", 5)) {
			if (zone)
				sum += zone_floor(free, min, prot) +
				       zone_floor(free, low, prot);
			zone = true;
			free = min = low = prot = 0;
		} else if (sscanf(line, " pages free %llu", &v) == 1) {
			free = v;
		} else if (sscanf(line, " min %llu", &v) == 1) {
			min = v;
			any = true;
		} else if (sscanf(line, " low %llu", &v) == 1) {
			low = v;
		} else if ((p = strstr(line, "protection: ("))) {
			/* The last entry: against the highest zone. */
			char *last = strrchr(p, ',');

			prot = strtoull(last ? last + 1 : p + 13, NULL, 10);
		}
	}
	if (zone)
		sum += zone_floor(free, min, prot) + zone_floor(free, low, prot);
	fclose(f);
	if (!any)
		die("/proc/zoneinfo: no min watermark");
	return sum / 2 * (sysconf(_SC_PAGESIZE) / 1024);
}

static void atomic_min(_Atomic uint64_t *v, uint64_t x)
{
	uint64_t old = atomic_load(v);

	while (x < old && !atomic_compare_exchange_weak(v, &old, x))
		;
}

static void atomic_max(_Atomic uint64_t *v, uint64_t x)
{
	uint64_t old = atomic_load(v);

	while (x > old && !atomic_compare_exchange_weak(v, &old, x))
		;
}

/* The hog: never returns; killed by the supervisor or the OOM killer. */
static void __attribute__((noreturn))
hog(uint64_t target_kib, struct squeeze_stats *st, int ready_fd)
{
	const struct sched_param fifo = { .sched_priority = 1 };
	struct timespec next, now;
	size_t held = 0, max;
	unsigned int pause = 0;
	void **chunks;
	int fd;

	/* A supervisor killed outright must not leave a hog behind. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		exit(1);
	fd = open("/proc/self/oom_score_adj", O_WRONLY);
	if (fd < 0 || write(fd, "1000", 4) != 4)
		die("/proc/self/oom_score_adj: %s", strerror(errno));
	close(fd);
	if (sched_setscheduler(0, SCHED_FIFO, &fifo))
		die("SCHED_FIFO: %s", strerror(errno));
	fd = open("/proc/meminfo", O_RDONLY);
	if (fd < 0)
		die("/proc/meminfo: %s", strerror(errno));
	max = meminfo_kib(fd, "MemTotal:") * 1024 / CHUNK;
	chunks = calloc(max, sizeof(*chunks));
	if (!chunks)
		die("out of memory");
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		uint64_t free_kib = meminfo_kib(fd, "MemFree:");
		size_t n;

		atomic_fetch_add(&st->samples, 1);
		atomic_fetch_add(&st->free_sum_kib, free_kib);
		atomic_min(&st->free_min_kib, free_kib);
		if (free_kib < target_kib) {
			/* One chunk more than the shortfall, at once. */
			n = (target_kib - free_kib) * 1024 / CHUNK + 1;
			while (n-- && held)
				munmap(chunks[--held], CHUNK);
			pause = GROW_PAUSE;
		} else if (pause) {
			pause--;
		} else {
			n = (free_kib - target_kib) * 1024 / CHUNK;
			if (n > 1)
				n /= 2;
			if (n > MAX_GROW)
				n = MAX_GROW;
			while (n-- && held < max) {
				void *p = mmap(NULL, CHUNK,
					       PROT_READ | PROT_WRITE,
					       MAP_PRIVATE | MAP_ANONYMOUS |
					       MAP_POPULATE, -1, 0);

				if (p == MAP_FAILED)
					break;
				chunks[held++] = p;
			}
			atomic_max(&st->held_max, held);
		}
		if (ready_fd >= 0 && free_kib < target_kib + CHUNK / 1024 &&
		    !atomic_exchange(&st->ready, true) &&
		    write(ready_fd, "", 1) != 1)
			die("--ready-fd: %s", strerror(errno));
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* Behind (a slow MAP_POPULATE): no burst of samples after. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec ||
		    (now.tv_sec == next.tv_sec && now.tv_nsec > next.tv_nsec))
			next = now;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
}

int main(int argc, char **argv)
{
	struct squeeze_stats *st;
	uint64_t target_kib, above = 0, samples;
	const char *cpu = getenv("MEM_SQUEEZE_CPU");
	unsigned int killed = 0;
	struct rusage ru;
	int ready_fd = -1;
	struct sigaction sa = { .sa_handler = on_signal };
	const struct timespec poll = { .tv_nsec = 10000000L };
	char *end;
	pid_t pid;

	for (int i = 1; i < argc; i += 2) {
		unsigned long long v;

		if (i + 1 == argc || (strcmp(argv[i], "--above") &&
				      strcmp(argv[i], "--ready-fd"))) {
			fputs("usage: mem-squeeze [--above KIB] [--ready-fd N]\n",
			      stderr);
			return 2;
		}
		errno = 0;
		v = strtoull(argv[i + 1], &end, 10);
		if (errno || end == argv[i + 1] || *end || v > 1ULL << 30)
			die("%s %s: a number, 0..%llu", argv[i], argv[i + 1],
			    1ULL << 30);
		if (!strcmp(argv[i], "--above"))
			above = v;
		else
			ready_fd = v;
	}
	if (cpu) {
		cpu_set_t set;
		int n = atoi(cpu);

		CPU_ZERO(&set);
		CPU_SET(n, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("MEM_SQUEEZE_CPU=%s: %s", cpu, strerror(errno));
	}
	target_kib = reserve_kib() + above;
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	atomic_store(&st->free_min_kib, UINT64_MAX);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL))
		die("sigaction: %s", strerror(errno));
	while (!stop) {
		int status;

		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			hog(target_kib, st, ready_fd);
		}
		/* Polled, so that a signal between two checks is not lost. */
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG);

			if (r < 0 && errno != EINTR)
				die("waitpid: %s", strerror(errno));
			if (r == pid)
				break;
			if (stop) {
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
			nanosleep(&poll, NULL);
		}
		if (stop)
			break;
		/* Anything but the OOM killer's SIGKILL is a failure. */
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			die("the hog ended (status %#x)", status);
		killed++;
	}
	samples = atomic_load(&st->samples);
	if (getrusage(RUSAGE_CHILDREN, &ru))
		die("getrusage: %s", strerror(errno));
	printf("mem-squeeze: target %llu KiB, hogs killed %u, MemFree KiB min %llu mean %llu, MiB held at most %llu, hog CPU s %.2f\n",
	       (unsigned long long)target_kib, killed,
	       samples ? (unsigned long long)atomic_load(&st->free_min_kib) :
	       0ULL,
	       samples ? (unsigned long long)(atomic_load(&st->free_sum_kib) /
					      samples) : 0ULL,
	       (unsigned long long)(atomic_load(&st->held_max) * CHUNK >> 20),
	       ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	return 0;
}

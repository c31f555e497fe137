/* wake.c - what one wake-up of a sleeping thread costs in CPU time, by how
 * long it slept (issue 17 item 2: a daemon delivering 80 msg/s wakes its
 * threads a few dozen times a second).
 *
 * Not a test. For each sleep length it runs one thread that sleeps that
 * long on a condition variable, again and again, and prints the thread's
 * CPU time (schedstat run time, and utime + stime of getrusage) over the
 * wake-ups: the kernel's work for the timer, the wake-up and the switch,
 * and whatever the machine charges for them (on a virtual machine, often
 * most of it). The program's own work between sleeps is a clock read.
 *
 *   build/tests/bench/bench_wake [total seconds per length, default 2]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double thread_run_us(void)
{
	unsigned long long ns = 0;
	FILE *f = fopen("/proc/thread-self/schedstat", "r");

	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return (double)ns / 1e3;
}

static double thread_rusage_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

typedef struct run {
	long sleep_ms;
	int n;
	double sched_us, rusage_us;
} run;

static void *sleeper(void *arg)
{
	run *r = arg;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	pthread_condattr_t ca;
	double s0, u0;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_mutex_lock(&mu);
	s0 = thread_run_us();
	u0 = thread_rusage_us();
	for (int i = 0; i < r->n; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += r->sleep_ms % 1000 * 1000000L;
		ts.tv_sec += r->sleep_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	r->sched_us = (thread_run_us() - s0) / r->n;
	r->rusage_us = (thread_rusage_us() - u0) / r->n;
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
	return NULL;
}

int main(int argc, char **argv)
{
	static const long lengths[] = {1, 10, 50, 100, 180, 250};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;

	if (secs <= 0)
		secs = 2.0;
	printf("sleep_ms wakeups cpu_us_per_wakeup(schedstat) "
	       "cpu_us_per_wakeup(rusage)\n");
	for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		run r = {.sleep_ms = lengths[i]};
		pthread_t t;

		r.n = (int)(secs * 1000 / (double)r.sleep_ms);
		if (r.n < 4)
			r.n = 4;
		if (pthread_create(&t, NULL, sleeper, &r) != 0)
			return 1;
		pthread_join(t, NULL);
		printf("%8ld %7d %28.1f %26.1f\n", r.sleep_ms, r.n, r.sched_us,
		       r.rusage_us);
	}
	return 0;
}

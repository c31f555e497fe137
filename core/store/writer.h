/* writer.h - the single store writer thread: group commit of every write
 *
 * Jobs from any thread are queued; the writer thread takes all waiting jobs,
 * runs them inside ONE transaction, commits, then calls each job's done
 * callback (on the writer thread; see wa_writer_run_here for the one
 * exception). So many concurrent requests share one
 * fsync. If the batch fails, it is rolled back and each job is retried in a
 * transaction of its own, so one bad job cannot fail the others.
 */
#ifndef WA_WRITER_H
#define WA_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct wa_writer wa_writer;

/* The work of one job, run inside the batch's transaction. Return 0, or -1
 * with err filled (the job then fails; others are unaffected). */
typedef int (*wa_writer_fn)(wa_store *s, void *ud, char *err, size_t err_len);
/* Called once per job after COMMIT (rc 0) or on failure (rc -1, err). Runs
 * on the thread that ran the group (the writer's, but for
 * wa_writer_run_here): be quick, do not call back into the writer sync. */
typedef void (*wa_writer_done)(void *ud, int rc, const char *err);

/* queue_max bounds waiting jobs (back-pressure). NULL with err on failure. */
wa_writer *wa_writer_create(wa_store *store, size_t queue_max, char *err,
                            size_t err_len);

/* Queue fn; done(done_ud, rc, err) follows after commit. Returns 0, or -1
 * at once when the queue is full or the writer is stopping (nothing runs,
 * done is not called). */
int wa_writer_submit(wa_writer *w, wa_writer_fn fn, void *ud,
                     wa_writer_done done, void *done_ud);

/* Queue fn and block until it is committed. Returns fn's rc (or -1 when
 * the queue is full / stopping, with err filled). Not from the writer
 * thread itself. Ignores queue_max (internal callers must not be shed). */
int wa_writer_run(wa_writer *w, wa_writer_fn fn, void *ud, char *err,
                  size_t err_len);

/* wa_writer_run with an asynchronous job (first, when not NULL) just
 * ahead of fn in the same step: a writer woken by the first cannot commit
 * it alone before fn arrives, so both share a transaction (issue 17:
 * outcomes and the next claim). first is queued past queue_max, as
 * wa_writer_run's job is; when the writer is stopping neither runs and
 * first_done gets -1.
 *
 * When nothing is queued, no group is under way and none ended in the
 * last WA_WRITER_HERE_IDLE_US, the two run on the calling thread instead,
 * the writer thread kept off the store meanwhile: the writer would only
 * wake to run them while the caller waits (two thread wake-ups per call;
 * the claimer's, several a second at a low rate). A writer busy lately is
 * left to run them: jobs arriving while it wakes join the same commit
 * (measured: claims run here between the groups of 20,000 accepts a
 * second split those commits and cost a quarter of the accepts). So fn,
 * first_done and the commit hook may run on the calling thread: call it
 * holding no lock they take. */
int wa_writer_run_here(wa_writer *w, wa_writer_fn first, void *first_ud,
                       wa_writer_done first_done, void *first_done_ud,
                       wa_writer_fn fn, void *ud, char *err, size_t err_len);

#define WA_WRITER_HERE_IDLE_US 10000
/* How long the writer must have idled for wa_writer_run_here to run on its
 * caller (default WA_WRITER_HERE_IDLE_US; tests set it). */
void wa_writer_set_here_idle(wa_writer *w, int64_t us);

/* Called after every successful commit, on the thread that committed
 * (the writer's, or a wa_writer_run_here caller's). */
void wa_writer_on_commit(wa_writer *w, void (*hook)(void *ud), void *ud);

/* Jobs waiting now; *writing (when not NULL) gets the jobs of the group
 * commit under way. */
size_t wa_writer_depth(wa_writer *w, size_t *writing);

/* Statistics: batches committed, jobs committed (for metrics). */
void wa_writer_counts(wa_writer *w, unsigned long long *batches,
                      unsigned long long *jobs);

/* Run and answer what is queued, then stop the thread. From then on
 * submit and run refuse at once (-1), so threads still holding the writer
 * (HTTP handlers during shutdown) stay safe until wa_writer_destroy. Call
 * from one thread; a second call does nothing. Accepts NULL. */
void wa_writer_stop(wa_writer *w);

/* wa_writer_stop if not done yet, then free. Accepts NULL. */
void wa_writer_destroy(wa_writer *w);

#endif

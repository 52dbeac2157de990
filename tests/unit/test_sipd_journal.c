//  test_sipd_journal — unit tests for sipd_journal against a fake cdrd (a
//  cm_service on an inproc endpoint in the same zloop): append and ack,
//  compaction, replay after restart, resend after lost replies, segment
//  rollover, torn journal lines, permanent rejection, bad input; pending
//  CDRs are read back from the segment files (edited on disk to prove it),
//  at the offsets replay recorded, and a line that cannot be read back
//  keeps its CDR pending.
//
//  With arguments the binary is instead a CDR feeder for the integration
//  test t0400 (sipd's journal without the rest of sipd):
//      test_sipd_journal --feed SPOOL ENDPOINT COUNT RATE
//  appends CDRs feed-000000 .. feed-<COUNT-1> at RATE per second through a
//  real sipd_journal to cdrd at ENDPOINT, and exits 0 once all are
//  appended and acknowledged (1 after 60 s). SPOOL.progress remembers the
//  next index, so a feeder killed with SIGKILL and started again goes on
//  where it stopped (the journal replays what was not yet acked).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_journal.h"
#include "cm_log.h"
#include "cm_service.h"

#include <dirent.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  Fake cdrd: counts requests, acks unless told to drop or reject.
typedef struct {
    int requests;           //  cdr requests seen
    int drop_first;         //  leave this many requests unanswered
    bool reject;            //  answer error retry:false
    zhashx_t *seen;         //  uniqueid -> count (owned)
    zhashx_t *src;          //  uniqueid -> src of the last request (owned)
} fake_t;

typedef struct {
    char dir[64];           //  temporary spool directory
    char endpoint[64];      //  inproc endpoint of the fake cdrd
    zloop_t *loop;
    cm_service_t *service;
    fake_t fake;
    sipd_journal_t *journal;
} fixture_t;

static int
s_on_cdr (cm_service_t *service, zframe_t *routing_id, cm_msg_t *request,
          void *arg)
{
    fake_t *fake = (fake_t *) arg;
    fake->requests++;
    const char *uniqueid = cm_msg_get_str (request, "uniqueid");
    const char *src = cm_msg_get_str (request, "src");
    if (uniqueid && src)
        zhashx_update (fake->src, uniqueid, (void *) src);
    if (fake->drop_first > 0) {
        fake->drop_first--;
        return 0;
    }
    if (fake->reject) {
        json_t *body = json_pack ("{s:s, s:b}", "error", "bad cdr", "retry", 0);
        cm_msg_t *reply = cm_msg_reply (request, "error", &body);
        cm_service_reply (service, routing_id, &reply);
        return 0;
    }
    size_t count = (size_t) zhashx_lookup (fake->seen, uniqueid);
    zhashx_update (fake->seen, uniqueid, (void *) (count + 1));
    json_t *body = json_pack ("{s:s}", "uniqueid", uniqueid);
    cm_msg_t *reply = cm_msg_reply (request, "ack", &body);
    cm_service_reply (service, routing_id, &reply);
    return 0;
}

static int
s_stop (zloop_t *loop, int timer_id, void *arg)
{
    return -1;
}

static int
s_setup (void **state)
{
    static int counter = 0;
    fixture_t *f = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (f->dir, sizeof f->dir, "/tmp/test_journal.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->endpoint, sizeof f->endpoint, "inproc://cdrd-%d-%d",
              (int) getpid (), counter++);
    f->loop = zloop_new ();
    f->fake.seen = zhashx_new ();
    f->fake.src = zhashx_new ();
    zhashx_set_duplicator (f->fake.src, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (f->fake.src, (zhashx_destructor_fn *) zstr_free);
    cm_log_set_level (CM_LOG_ERROR);
    //  Run the loop once: zloop_timer_end on a loop that never ran defers
    //  the removal to the next run, after due timers have fired (czmq
    //  4.2.1), which would call a destroyed object's timer.
    zloop_timer (f->loop, 1, 1, s_stop, NULL);
    zloop_start (f->loop);
    *state = f;
    return 0;
}

static void
s_start_fake (fixture_t *f)
{
    char error[128];
    f->service = cm_service_new ("cdrd", f->endpoint, f->loop, error,
                                 sizeof error);
    assert_non_null (f->service);
    cm_service_on (f->service, "cdr", s_on_cdr, &f->fake);
}

static void
s_rm_rf (const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return;
    struct dirent *de;
    char path[512];
    while ((de = readdir (d)))
        if (de->d_name[0] != '.') {
            snprintf (path, sizeof path, "%s/%s", dir, de->d_name);
            unlink (path);
        }
    closedir (d);
    rmdir (dir);
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    sipd_journal_destroy (&f->journal);
    cm_service_destroy (&f->service);
    zloop_destroy (&f->loop);
    zhashx_destroy (&f->fake.seen);
    zhashx_destroy (&f->fake.src);
    s_rm_rf (f->dir);
    free (f);
    return 0;
}

static cm_cdr_t *
s_cdr (int n)
{
    char id[32];
    snprintf (id, sizeof id, "cdr-%d", n);
    cm_cdr_t *cdr = cm_cdr_new (id);
    cm_cdr_set_start_time (cdr, 1795703400000LL + n);
    cm_cdr_set_end_time (cdr, 1795703410000LL + n);
    cm_cdr_set_src (cdr, "100");
    cm_cdr_set_dst (cdr, "101");
    cm_cdr_set_dialed (cdr, "101");
    cm_cdr_set_disposition (cdr, CM_CDR_BUSY);
    cm_cdr_set_sip_code (cdr, 486);
    cm_cdr_set_cause (cdr, 17);
    cm_cdr_set_call_tag (cdr, 203);
    cm_cdr_set_released_by (cdr, CM_CDR_CALLEE);
    return cdr;
}

//  Run the loop until the journal has nothing pending and is synced, or
//  timeout_ms passes. Returns true when drained.
typedef struct {
    sipd_journal_t *journal;
    int64_t deadline;
} s_wait_t;

static int
s_check (zloop_t *loop, int timer_id, void *arg)
{
    s_wait_t *wait = (s_wait_t *) arg;
    if ((sipd_journal_pending (wait->journal) == 0
         && sipd_journal_synced (wait->journal))
        || zclock_mono () > wait->deadline)
        return -1;
    return 0;
}

static bool
s_run_until_drained (fixture_t *f, int timeout_ms)
{
    s_wait_t wait = {f->journal, zclock_mono () + timeout_ms};
    int timer = zloop_timer (f->loop, 10, 0, s_check, &wait);
    zloop_start (f->loop);
    zloop_timer_end (f->loop, timer);
    return sipd_journal_pending (f->journal) == 0;
}

//  Run the loop for ms milliseconds.

static void
s_run_for (fixture_t *f, int ms)
{
    zloop_timer (f->loop, ms, 1, s_stop, NULL);
    zloop_start (f->loop);
}

//  Segment files in the spool, and total lines in them.
static int
s_segments (fixture_t *f, size_t *lines_p, size_t *bytes_p)
{
    DIR *d = opendir (f->dir);
    assert_non_null (d);
    int count = 0;
    size_t lines = 0, bytes = 0;
    struct dirent *de;
    while ((de = readdir (d))) {
        if (strncmp (de->d_name, "cdr-", 4) != 0
            || !strstr (de->d_name, ".journal"))
            continue;
        count++;
        char path[512];
        snprintf (path, sizeof path, "%s/%s", f->dir, de->d_name);
        FILE *file = fopen (path, "r");
        int c;
        while ((c = fgetc (file)) != EOF) {
            bytes++;
            lines += c == '\n';
        }
        fclose (file);
    }
    closedir (d);
    if (lines_p)
        *lines_p = lines;
    if (bytes_p)
        *bytes_p = bytes;
    return count;
}

static void
test_append_ack_compact (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start_fake (f);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    assert_int_equal (sipd_journal_pending (f->journal), 0);
    for (int i = 0; i < 3; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
        assert_null (cdr);
    }
    assert_int_equal (sipd_journal_pending (f->journal), 3);
    //  Written before anything is acked: three C lines.
    size_t lines = 0, bytes = 0;
    assert_int_equal (s_segments (f, &lines, &bytes), 1);
    assert_int_equal (lines, 3);
    assert_true (s_run_until_drained (f, 5000));
    assert_int_equal (sipd_journal_acked (f->journal), 3);
    assert_int_equal (f->fake.requests, 3);
    assert_int_equal (zhashx_size (f->fake.seen), 3);
    //  Compacted: one empty current segment.
    assert_int_equal (s_segments (f, &lines, &bytes), 1);
    assert_int_equal (bytes, 0);
    json_t *status = json_object ();
    sipd_journal_status (f->journal, status);
    assert_int_equal (json_integer_value (json_object_get (status, "cdr_pending")), 0);
    assert_int_equal (json_integer_value (json_object_get (status, "cdr_acked")), 3);
    json_decref (status);
}

static void
test_replay_after_restart (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  cdrd not there yet.
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    for (int i = 0; i < 5; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    s_run_for (f, 50);
    assert_int_equal (sipd_journal_pending (f->journal), 5);
    //  The journal file is readable: five "C {json}" lines.
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000001.journal", f->dir);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char line[2048];
    int n = 0;
    while (fgets (line, sizeof line, file)) {
        assert_memory_equal (line, "C {", 3);
        char error[128];
        cm_cdr_t *cdr = cm_cdr_decode_json (line + 2, error, sizeof error);
        assert_non_null (cdr);
        cm_cdr_destroy (&cdr);
        n++;
    }
    fclose (file);
    assert_int_equal (n, 5);
    sipd_journal_destroy (&f->journal);

    //  "Restart": a new journal replays the five and cdrd now answers.
    s_start_fake (f);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    assert_int_equal (sipd_journal_pending (f->journal), 5);
    assert_true (s_run_until_drained (f, 5000));
    assert_int_equal (zhashx_size (f->fake.seen), 5);
    //  The old segment is gone; only the new, empty one remains.
    assert_int_equal (access (path, F_OK), -1);
    size_t bytes = 99;
    assert_int_equal (s_segments (f, NULL, &bytes), 1);
    assert_int_equal (bytes, 0);
    //  A third start finds nothing to replay.
    sipd_journal_destroy (&f->journal);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_int_equal (sipd_journal_pending (f->journal), 0);
}

static void
test_resend_after_lost_replies (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start_fake (f);
    f->fake.drop_first = 4;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    sipd_journal_set_timing (f->journal, 150, 20, 100);
    for (int i = 0; i < 3; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    assert_true (s_run_until_drained (f, 8000));
    assert_int_equal (zhashx_size (f->fake.seen), 3);
    assert_true (f->fake.requests >= 7);
}

//  While cdrd is away, each retry round sends one probe, not a window of
//  copies that ZeroMQ would queue and deliver later as duplicates.
static void
test_probe_while_away (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    sipd_journal_set_timing (f->journal, 100, 20, 50);
    for (int i = 0; i < 100; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    s_run_for (f, 1500);    //  about ten timeout rounds
    s_start_fake (f);
    //  Generous ack timeout now, so slow runs (valgrind) drain too.
    sipd_journal_set_timing (f->journal, 3000, 20, 50);
    assert_true (s_run_until_drained (f, 8000));
    assert_int_equal (zhashx_size (f->fake.seen), 100);
    //  100 queued at first, one probe per later round, then the 100
    //  again (without probing: about 100 per round, over 1000).
    if (f->fake.requests > 250)
        fail_msg ("%d requests reached cdrd", f->fake.requests);
}

static void
test_partial_ack_replay (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  Hand-written journal: 3 CDRs, one acked, a junk line, a torn tail.
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000007.journal", f->dir);
    FILE *file = fopen (path, "w");
    for (int i = 0; i < 3; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        char *json = cm_cdr_encode_json (cdr);
        fprintf (file, "C %s\n", json);
        free (json);
        cm_cdr_destroy (&cdr);
    }
    fprintf (file, "A cdr-1\nX what is this\nC {\"not\":\"a cdr\"}\n");
    fprintf (file, "C {\"uniqueid\":\"torn");
    fclose (file);
    //  A file with a foreign name is left alone.
    char other[256];
    snprintf (other, sizeof other, "%s/cdr-rejected.jsonl", f->dir);
    file = fopen (other, "w");
    fclose (file);

    s_start_fake (f);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    assert_int_equal (sipd_journal_pending (f->journal), 2);
    assert_true (s_run_until_drained (f, 5000));
    assert_non_null (zhashx_lookup (f->fake.seen, "cdr-0"));
    assert_null (zhashx_lookup (f->fake.seen, "cdr-1"));
    assert_non_null (zhashx_lookup (f->fake.seen, "cdr-2"));
    assert_int_equal (access (path, F_OK), -1);
    //  New segment continues after the highest sequence seen.
    snprintf (path, sizeof path, "%s/cdr-0000000008.journal", f->dir);
    assert_int_equal (access (path, F_OK), 0);
    assert_int_equal (access (other, F_OK), 0);
}

static void
test_segment_rollover (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    int total = SIPD_JOURNAL_SEGMENT_MAX + 10;
    for (int i = 0; i < total; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    size_t lines = 0;
    assert_int_equal (s_segments (f, &lines, NULL), 2);
    assert_int_equal (lines, (size_t) total);
    sipd_journal_destroy (&f->journal);
    s_start_fake (f);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_int_equal (sipd_journal_pending (f->journal), (size_t) total);
    assert_true (s_run_until_drained (f, 20000));
    assert_int_equal (zhashx_size (f->fake.seen), (size_t) total);
    size_t bytes = 99;
    assert_int_equal (s_segments (f, NULL, &bytes), 1);
    assert_int_equal (bytes, 0);
}

static void
test_rejected_is_set_aside (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start_fake (f);
    f->fake.reject = true;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    cm_cdr_t *cdr = s_cdr (1);
    assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    assert_true (s_run_until_drained (f, 5000));
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-rejected.jsonl", f->dir);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char line[2048];
    assert_non_null (fgets (line, sizeof line, file));
    assert_non_null (strstr (line, "\"uniqueid\":\"cdr-1\""));
    fclose (file);
}

static void
test_bad_input (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    cm_cdr_t *cdr = NULL;
    assert_int_equal (sipd_journal_append (f->journal, &cdr), -1);
    //  Incomplete CDR (no times) is refused and freed.
    cdr = cm_cdr_new ("incomplete");
    assert_int_equal (sipd_journal_append (f->journal, &cdr), -1);
    assert_null (cdr);
    cdr = s_cdr (1);
    assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    cdr = s_cdr (1);
    assert_int_equal (sipd_journal_append (f->journal, &cdr), -1);
    assert_int_equal (sipd_journal_pending (f->journal), 1);
    //  An unusable spool directory fails cleanly.
    sipd_journal_t *bad = sipd_journal_new ("/proc/no/such/dir", f->endpoint,
                                            f->loop);
    assert_null (bad);
}

//  Replace every occurrence of from in the file by to (same length), in
//  place, as an operator or a damaged disk might. Returns the count.
static int
s_edit_file (const char *path, const char *from, const char *to)
{
    assert_int_equal (strlen (from), strlen (to));
    FILE *file = fopen (path, "r+");
    assert_non_null (file);
    char text[65536];
    size_t size = fread (text, 1, sizeof text - 1, file);
    text[size] = '\0';
    int count = 0;
    for (char *at = strstr (text, from); at; at = strstr (at + 1, from)) {
        memcpy (at, to, strlen (to));
        count++;
    }
    rewind (file);
    assert_int_equal (fwrite (text, 1, size, file), size);
    fclose (file);
    return count;
}

//  The JSON of a pending CDR is not kept in memory: a resend reads it
//  back from its C line. Edited on disk after the append, the resends
//  carry the edit (with the JSON in memory they would carry "100").
static void
test_resend_reads_journal (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start_fake (f);
    f->fake.drop_first = 5;     //  the first sends, built from the CDRs
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    sipd_journal_set_timing (f->journal, 150, 20, 100);
    for (int i = 0; i < 5; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000001.journal", f->dir);
    assert_int_equal (s_edit_file (path, "\"src\":\"100\"", "\"src\":\"555\""),
                      5);
    assert_true (s_run_until_drained (f, 8000));
    assert_int_equal (zhashx_size (f->fake.seen), 5);
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf (id, sizeof id, "cdr-%d", i);
        const char *src = (const char *) zhashx_lookup (f->fake.src, id);
        assert_non_null (src);
        assert_string_equal (src, "555");
    }
}

//  Write a CDR line as the journal does, with src set to src.
static void
s_write_cdr_line (FILE *file, int n, const char *src)
{
    cm_cdr_t *cdr = s_cdr (n);
    cm_cdr_set_src (cdr, src);
    char *json = cm_cdr_encode_json (cdr);
    fprintf (file, "C %s\n", json);
    free (json);
    cm_cdr_destroy (&cdr);
}

static void
s_assert_src (fixture_t *f, const char *uniqueid, const char *src)
{
    const char *sent = (const char *) zhashx_lookup (f->fake.src, uniqueid);
    assert_non_null (sent);
    assert_string_equal (sent, src);
}

//  Replay records where each pending C line lies, past junk, acked and
//  torn lines of two segments; the resends (cdrd comes up later) read each
//  CDR from there, and a new CDR goes to the new segment.
static void
test_replay_offsets (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000003.journal", f->dir);
    FILE *file = fopen (path, "w");
    fprintf (file, "X junk before\nA cdr-99\n");
    s_write_cdr_line (file, 0, "200");
    s_write_cdr_line (file, 1, "201");
    fprintf (file, "C {\"not\":\"a cdr\"}\n");
    s_write_cdr_line (file, 2, "202");
    fprintf (file, "A cdr-1\n");
    fclose (file);
    snprintf (path, sizeof path, "%s/cdr-0000000004.journal", f->dir);
    file = fopen (path, "w");
    s_write_cdr_line (file, 3, "2033");
    fprintf (file, "C {\"uniqueid\":\"cdr-4\",\"src\":\"to");  //  torn
    fclose (file);

    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    sipd_journal_set_timing (f->journal, 100, 20, 50);
    assert_int_equal (sipd_journal_pending (f->journal), 3);
    cm_cdr_t *cdr = s_cdr (5);
    assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    s_run_for (f, 300);         //  cdrd away: probes time out
    assert_int_equal (sipd_journal_pending (f->journal), 4);
    s_start_fake (f);
    sipd_journal_set_timing (f->journal, 3000, 20, 50);
    assert_true (s_run_until_drained (f, 8000));
    s_assert_src (f, "cdr-0", "200");
    s_assert_src (f, "cdr-2", "202");
    s_assert_src (f, "cdr-3", "2033");
    s_assert_src (f, "cdr-5", "100");
    assert_null (zhashx_lookup (f->fake.seen, "cdr-1"));
    assert_null (zhashx_lookup (f->fake.seen, "cdr-4"));
    assert_int_equal (access (path, F_OK), -1);
    snprintf (path, sizeof path, "%s/cdr-0000000005.journal", f->dir);
    assert_int_equal (access (path, F_OK), 0);
}

//  sipd killed in mid-write: the last line of its segment is cut short.
//  The restart replays the complete lines and skips the torn one.
static void
test_torn_tail_after_crash (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  An endpoint nobody binds: ZeroMQ would deliver these first sends,
    //  queued for the fake's endpoint, once the fake binds it.
    char nobody[80];
    snprintf (nobody, sizeof nobody, "%s-nobody", f->endpoint);
    f->journal = sipd_journal_new (f->dir, nobody, f->loop);
    for (int i = 0; i < 3; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    sipd_journal_destroy (&f->journal);
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000001.journal", f->dir);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (truncate (path, st.st_size - 40), 0);

    s_start_fake (f);
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    assert_non_null (f->journal);
    assert_int_equal (sipd_journal_pending (f->journal), 2);
    assert_true (s_run_until_drained (f, 5000));
    s_assert_src (f, "cdr-0", "100");
    s_assert_src (f, "cdr-1", "100");
    assert_null (zhashx_lookup (f->fake.seen, "cdr-2"));
    assert_int_equal (access (path, F_OK), -1);
}

//  A C line that no longer reads back as its CDR (the file was damaged)
//  keeps that CDR pending without holding up the others; it is tried
//  again later and goes out once the line is right again.
static void
test_unreadable_stays_pending (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    s_start_fake (f);
    f->fake.drop_first = 3;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    sipd_journal_set_timing (f->journal, 150, 20, 100);
    for (int i = 0; i < 3; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-0000000001.journal", f->dir);
    assert_int_equal (s_edit_file (path, "\"cdr-1\"", "\"cdr-X\""), 1);
    s_run_for (f, 1000);
    assert_int_equal (sipd_journal_pending (f->journal), 1);
    assert_non_null (zhashx_lookup (f->fake.seen, "cdr-0"));
    assert_null (zhashx_lookup (f->fake.seen, "cdr-1"));
    assert_non_null (zhashx_lookup (f->fake.seen, "cdr-2"));
    //  Still there, with the A lines appended after it.
    assert_int_equal (s_edit_file (path, "\"cdr-X\"", "\"cdr-1\""), 1);
    assert_true (s_run_until_drained (f, 5000));
    s_assert_src (f, "cdr-1", "100");
    size_t bytes = 99;
    assert_int_equal (s_segments (f, NULL, &bytes), 1);
    assert_int_equal (bytes, 0);
}

//  Resends read CDRs from more old segments than there are cached read
//  descriptors, and leave none open on an unlinked segment.
static void
test_many_segments (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    f->journal = sipd_journal_new (f->dir, f->endpoint, f->loop);
    int total = 6 * SIPD_JOURNAL_SEGMENT_MAX + 5;
    for (int i = 0; i < total; i++) {
        cm_cdr_t *cdr = s_cdr (i);
        assert_int_equal (sipd_journal_append (f->journal, &cdr), 0);
    }
    assert_int_equal (s_segments (f, NULL, NULL), 7);
    s_start_fake (f);
    sipd_journal_set_timing (f->journal, 3000, 20, 50);
    assert_true (s_run_until_drained (f, 30000));
    assert_int_equal (zhashx_size (f->fake.seen), (size_t) total);
    s_assert_src (f, "cdr-0", "100");
    s_assert_src (f, "cdr-5500", "100");
    assert_int_equal (s_segments (f, NULL, NULL), 1);
    //  No descriptor is left on a segment that was unlinked.
    char prefix[512];
    snprintf (prefix, sizeof prefix, "%s/cdr-", f->dir);
    DIR *d = opendir ("/proc/self/fd");
    assert_non_null (d);
    struct dirent *de;
    while ((de = readdir (d))) {
        char link[512], target[512];
        snprintf (link, sizeof link, "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink (link, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strncmp (target, prefix, strlen (prefix)) == 0
                && strstr (target, "(deleted)"))
                fail_msg ("descriptor left on %s", target);
        }
    }
    closedir (d);
}

//  ---------------------------------------------------------------------
//  Feeder mode (integration tests)

typedef struct {
    sipd_journal_t *journal;
    char progress[512];     //  file holding the next index
    int next;               //  next index to append
    int count;              //  total to append
    int per_tick;           //  appended per 10 ms tick
    int64_t deadline;       //  give up after this (zclock_mono)
    int exit_code;          //  result
    int resumed_at;         //  next at start-up when CDRs were replayed,
                            //  else -1
} feeder_t;

static cm_cdr_t *
s_feed_cdr_id (const char *id, int n)
{
    char src[48];
    if (n % 7 == 3)
        snprintf (src, sizeof src, "O'Neil, \"Jo\" %d", n);
    else
        snprintf (src, sizeof src, "1%02d", n % 100);
    cm_cdr_t *cdr = cm_cdr_new (id);
    int64_t start = 1795703400000LL + (int64_t) n * 1000;
    cm_cdr_set_start_time (cdr, start);
    cm_cdr_set_src (cdr, src);
    cm_cdr_set_dst (cdr, "200");
    cm_cdr_set_dialed (cdr, "9200");
    cm_cdr_set_direction (cdr, CM_CDR_OUTBOUND);
    if (n % 2) {
        cm_cdr_set_answer_time (cdr, start + 1500);
        cm_cdr_set_end_time (cdr, start + 61234);
        cm_cdr_set_disposition (cdr, CM_CDR_ANSWERED);
        cm_cdr_set_sip_code (cdr, 200);
        cm_cdr_set_cause (cdr, 16);
        cm_cdr_set_call_tag (cdr, 201);
        cm_cdr_set_released_by (cdr, CM_CDR_CALLEE);
    }
    else {
        cm_cdr_set_end_time (cdr, start + 4000);
        cm_cdr_set_disposition (cdr, CM_CDR_NO_ANSWER);
        cm_cdr_set_sip_code (cdr, 480);
        cm_cdr_set_cause (cdr, 19);
        cm_cdr_set_call_tag (cdr, 204);
    }
    return cdr;
}

static cm_cdr_t *
s_feed_cdr (int n)
{
    char id[32];
    snprintf (id, sizeof id, "feed-%06d", n);
    return s_feed_cdr_id (id, n);
}

static void
s_feed_save_progress (feeder_t *feeder)
{
    char temp[sizeof feeder->progress + 8];
    snprintf (temp, sizeof temp, "%s.tmp", feeder->progress);
    FILE *file = fopen (temp, "w");
    if (!file)
        return;
    fprintf (file, "%d\n", feeder->next);
    if (fclose (file) == 0)
        rename (temp, feeder->progress);
}

static int
s_feed_tick (zloop_t *loop, int timer_id, void *arg)
{
    feeder_t *feeder = (feeder_t *) arg;
    for (int i = 0; i < feeder->per_tick && feeder->next < feeder->count;
         i++) {
        cm_cdr_t *cdr = s_feed_cdr (feeder->next);
        if (sipd_journal_append (feeder->journal, &cdr) != 0) {
            //  Killed between the append and saving progress: the
            //  replayed journal already holds this CDR (refused as a
            //  pending duplicate). Anything else is a failure.
            if (feeder->next != feeder->resumed_at) {
                feeder->exit_code = 1;
                return -1;
            }
            fprintf (stderr, "feeder: %d was journaled already\n",
                     feeder->next);
        }
        feeder->next++;
        //  After the append: a crash in between re-appends one CDR at
        //  most, which cdrd de-duplicates. Written to a temporary file
        //  and renamed: a SIGKILL between truncate and write must not
        //  leave an empty progress file (the feeder would start at 0).
        s_feed_save_progress (feeder);
    }
    if (feeder->next >= feeder->count
        && sipd_journal_pending (feeder->journal) == 0) {
        feeder->exit_code = 0;
        return -1;
    }
    if (zclock_mono () > feeder->deadline) {
        fprintf (stderr, "feeder: timeout with %zu pending, next %d\n",
                 sipd_journal_pending (feeder->journal), feeder->next);
        return -1;
    }
    return 0;
}

static int
s_feeder (int argc, char **argv)
{
    if (argc != 6 || !streq (argv[1], "--feed")) {
        fprintf (stderr, "usage: %s --feed SPOOL ENDPOINT COUNT RATE\n",
                 argv[0]);
        return 2;
    }
    feeder_t feeder = {NULL, "", 0, atoi (argv[4]), atoi (argv[5]) / 100,
                       zclock_mono () + 60000, 1, -1};
    if (feeder.per_tick < 1)
        feeder.per_tick = 1;
    snprintf (feeder.progress, sizeof feeder.progress, "%s.progress",
              argv[2]);
    FILE *file = fopen (feeder.progress, "r");
    if (file) {
        if (fscanf (file, "%d", &feeder.next) != 1)
            feeder.next = 0;
        fclose (file);
    }
    cm_log_init ("feeder", getenv ("FEEDER_DEBUG") ? CM_LOG_DEBUG : CM_LOG_INFO);
    zloop_t *loop = zloop_new ();
    feeder.journal = sipd_journal_new (argv[2], argv[3], loop);
    if (!feeder.journal)
        return 1;
    sipd_journal_set_timing (feeder.journal, 3000, 100, 1000);
    fprintf (stderr, "feeder: starting at %d, %zu replayed\n", feeder.next,
             sipd_journal_pending (feeder.journal));
    feeder.resumed_at = sipd_journal_pending (feeder.journal) ? feeder.next
                                                              : -1;
    zloop_timer (loop, 10, 0, s_feed_tick, &feeder);
    zloop_start (loop);
    fprintf (stderr, "feeder: next %d, acked %" PRIu64 ", pending %zu\n",
             feeder.next, sipd_journal_acked (feeder.journal),
             sipd_journal_pending (feeder.journal));
    sipd_journal_destroy (&feeder.journal);
    zloop_destroy (&loop);
    return feeder.exit_code;
}

//  ---------------------------------------------------------------------
//  Heap mode (the measurement in docs/cdr.md):
//      test_sipd_journal --heap SPOOL COUNT
//  appends CDRs with UUID-sized uniqueids to SPOOL, while no cdrd
//  answers, until COUNT are pending, then replays them in a new journal
//  and prints what that replay added to the heap (glibc mallinfo2, mmapped
//  blocks included) and to VmRSS.

static long
s_vmrss_kb (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (file && fgets (line, sizeof line, file))
        if (sscanf (line, "VmRSS: %ld", &kb) == 1)
            break;
    if (file)
        fclose (file);
    return kb;
}

static size_t
s_heap_bytes (void)
{
    struct mallinfo2 info = mallinfo2 ();
    return info.uordblks + info.hblkhd;
}

static int
s_heap (int argc, char **argv)
{
    if (argc != 4) {
        fprintf (stderr, "usage: %s --heap SPOOL COUNT\n", argv[0]);
        return 2;
    }
    cm_log_init ("heap", CM_LOG_ERROR);
    int count = atoi (argv[3]);
    const char *endpoint = "inproc://heap-nobody";
    zloop_t *loop = zloop_new ();
    sipd_journal_t *journal = sipd_journal_new (argv[2], endpoint, loop);
    if (!journal)
        return 1;
    for (int n = (int) sipd_journal_pending (journal); n < count; n++) {
        char id[40];
        snprintf (id, sizeof id, "%08x-1111-4222-8333-%012d", n, n);
        cm_cdr_t *cdr = s_feed_cdr_id (id, n);
        if (sipd_journal_append (journal, &cdr) != 0)
            return 1;
    }
    sipd_journal_destroy (&journal);
    malloc_trim (0);
    size_t heap = s_heap_bytes ();
    long rss = s_vmrss_kb ();
    journal = sipd_journal_new (argv[2], endpoint, loop);
    if (!journal)
        return 1;
    size_t pending = sipd_journal_pending (journal);
    size_t grown = s_heap_bytes () - heap;
    printf ("replayed %zu pending CDRs: heap +%zu bytes (%.1f per CDR), "
            "VmRSS %ld -> %ld kB\n",
            pending, grown, pending ? (double) grown / (double) pending : 0.0,
            rss, s_vmrss_kb ());
    sipd_journal_destroy (&journal);
    zloop_destroy (&loop);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && streq (argv[1], "--heap"))
        return s_heap (argc, argv);
    if (argc > 1)
        return s_feeder (argc, argv);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_append_ack_compact, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_after_restart, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_resend_after_lost_replies,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_probe_while_away, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_partial_ack_replay, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_segment_rollover, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_rejected_is_set_aside, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_resend_reads_journal, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_offsets, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_torn_tail_after_crash, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_unreadable_stays_pending,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_many_segments, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

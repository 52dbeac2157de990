//  test_sipd_journal — unit tests for sipd_journal against a fake cdrd (a
//  cm_service on an inproc endpoint in the same zloop): append and ack,
//  compaction, replay after restart, resend after lost replies, segment
//  rollover, torn journal lines, permanent rejection, bad input.

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_journal.h"
#include "cm_log.h"
#include "cm_service.h"

#include <dirent.h>
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

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_append_ack_compact, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_replay_after_restart, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_resend_after_lost_replies,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_partial_ack_replay, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_segment_rollover, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_rejected_is_set_aside, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_input, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

//  test_sipd_segreader — unit tests for sipd_segreader: reading the JSON of
//  C lines back from segment files, the checks on what is found there,
//  and the descriptor cache (bounded, least recently used replaced,
//  forget).

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../sipd/sipd_segreader.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];               //  temporary spool directory
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (f->dir, sizeof f->dir, "/tmp/test_segreader.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    DIR *d = opendir (f->dir);
    struct dirent *de;
    char path[512];
    while (d && (de = readdir (d)))
        if (de->d_name[0] != '.') {
            snprintf (path, sizeof path, "%s/%s", f->dir, de->d_name);
            unlink (path);
        }
    if (d)
        closedir (d);
    rmdir (f->dir);
    free (f);
    return 0;
}

//  Write segment seq with the given text.
static void
s_segment (fixture_t *f, uint32_t seq, const char *text)
{
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-%010u.journal", f->dir, seq);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

static void
test_read_lines (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    //  Offsets: line 1 "A x" 0..3, line 2 "C {\"a\":1}" JSON at 6, 7 bytes.
    s_segment (f, 1, "A x\nC {\"a\":1}\nC {\"b\":22}\nC {\"torn\"");
    sipd_segreader_t *reader = sipd_segreader_new (f->dir);
    const char *error = "unset";
    char *text = sipd_segreader_read (reader, 1, 6, 7, &error);
    assert_non_null (text);
    assert_null (error);
    assert_string_equal (text, "{\"a\":1}");
    free (text);
    text = sipd_segreader_read (reader, 1, 16, 8, &error);
    assert_non_null (text);
    assert_string_equal (text, "{\"b\":22}");
    free (text);
    //  Not at a C line, not the whole line, past the end, the torn tail.
    assert_null (sipd_segreader_read (reader, 1, 2, 1, &error));
    assert_string_equal (error, "no C line there");
    assert_null (sipd_segreader_read (reader, 1, 6, 6, &error));
    assert_string_equal (error, "no C line there");
    assert_null (sipd_segreader_read (reader, 1, 0, 7, &error));
    assert_string_equal (error, "no C line there");
    assert_null (sipd_segreader_read (reader, 1, 27, 8, &error));
    assert_string_equal (error, "file ends before the line");
    assert_null (sipd_segreader_read (reader, 1, 4000, 10, &error));
    assert_non_null (error);
    //  A segment that does not exist.
    assert_null (sipd_segreader_read (reader, 9, 6, 7, &error));
    assert_non_null (error);
    assert_int_equal (sipd_segreader_open_count (reader), 1);
    sipd_segreader_destroy (&reader);
    assert_null (reader);
    sipd_segreader_destroy (&reader);
}

static void
test_descriptor_cache (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    for (uint32_t seq = 1; seq <= SIPD_SEGREADER_SLOTS + 2; seq++)
        s_segment (f, seq, "C {}\n");
    sipd_segreader_t *reader = sipd_segreader_new (f->dir);
    const char *error;
    for (uint32_t seq = 1; seq <= SIPD_SEGREADER_SLOTS + 2; seq++) {
        char *text = sipd_segreader_read (reader, seq, 2, 2, &error);
        assert_non_null (text);
        free (text);
        //  Segment 1 is used all along, so it stays open.
        text = sipd_segreader_read (reader, 1, 2, 2, &error);
        assert_non_null (text);
        free (text);
        assert_true (sipd_segreader_open_count (reader)
                     <= SIPD_SEGREADER_SLOTS);
    }
    assert_int_equal (sipd_segreader_open_count (reader),
                      SIPD_SEGREADER_SLOTS);
    //  An open segment unlinked after forget is not read any more.
    char path[512];
    snprintf (path, sizeof path, "%s/cdr-%010u.journal", f->dir, 1u);
    sipd_segreader_forget (reader, 1);
    assert_int_equal (sipd_segreader_open_count (reader),
                      SIPD_SEGREADER_SLOTS - 1);
    unlink (path);
    assert_null (sipd_segreader_read (reader, 1, 2, 2, &error));
    sipd_segreader_forget (reader, 77);     //  not open: nothing happens
    sipd_segreader_destroy (&reader);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_read_lines, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_descriptor_cache, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}

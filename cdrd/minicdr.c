//  minicdr — read, check, filter and convert CDR files.
//
//      minicdr cat [FILTERS] FILE...       CDRs as CSV on stdout
//      minicdr convert [FILTERS] IN OUT.csv
//
//  Inputs: the CSV day files cdrd writes (data_dir/cdr/YYYYMMDD.csv, with
//  or without header), sipd journal segments (spool/cdr-*.journal: every
//  "C <json>" line, acknowledged or not), or "-" for CSV on stdin. The
//  legacy binary .cdr format is not supported yet and is refused with a
//  clear message. Every row is validated (cm_cdr); a bad row is reported
//  as FILE:LINE: reason on stderr and skipped, and the exit status is then
//  1. Output is one header line and one normalised RFC 4180 row per CDR.
//
//  Filters (all optional, combined with AND), on start_time for times:
//      --from TIME   start_time >= TIME     TIME: 2026-11-26 or
//      --to TIME     start_time <  TIME     2026-11-26T14:30:00[.123]Z
//      --src NUMBER  --dst NUMBER  --disposition ANSWERED|BUSY|NO ANSWER|
//                                  CANCELLED|FAILED (case-insensitive)

#include "cm_cdr.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EXIT_BAD_ROWS 1         //  some rows were invalid (or a file)
#define EXIT_USAGE 2            //  bad command line

typedef struct {
    int64_t from;               //  start_time >= from, 0 = none
    int64_t to;                 //  start_time < to, 0 = none
    const char *src;            //  exact src, or NULL
    const char *dst;            //  exact dst, or NULL
    int disposition;            //  cm_cdr_disposition_t or -1
} filter_t;

typedef struct {
    filter_t filter;            //  what to keep
    FILE *out;                  //  CSV output (borrowed)
    size_t rows;                //  rows written
    size_t errors;              //  rows or files refused
} run_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: minicdr cat [FILTERS] FILE...\n"
             "       minicdr convert [FILTERS] IN OUT.csv\n"
             "FILE: CDR CSV (cdrd day file), sipd journal (*.journal), or - "
             "for stdin\n"
             "FILTERS: --from TIME --to TIME (on start_time; TIME is "
             "YYYY-MM-DD or\n"
             "         YYYY-MM-DDTHH:MM:SS[.mmm]Z, UTC), --src N, --dst N,\n"
             "         --disposition ANSWERED|BUSY|\"NO ANSWER\"|CANCELLED|"
             "FAILED\n");
}

//  Parse a filter time: a date (midnight UTC) or a full UTC time with or
//  without milliseconds.
static int
s_parse_time (const char *text, int64_t *ms_p)
{
    char full[CM_CDR_TIME_SIZE + 8];
    size_t n = strlen (text);
    if (n == 10)
        snprintf (full, sizeof full, "%sT00:00:00.000Z", text);
    else if (n == 20 && text[19] == 'Z')
        snprintf (full, sizeof full, "%.19s.000Z", text);
    else
        snprintf (full, sizeof full, "%s", text);
    return cm_cdr_time_parse (full, ms_p);
}

static int
s_parse_disposition (const char *text, int *disposition_p)
{
    for (int d = CM_CDR_ANSWERED; d <= CM_CDR_FAILED; d++) {
        const char *name = cm_cdr_disposition_name ((cm_cdr_disposition_t) d);
        char alt[32];
        snprintf (alt, sizeof alt, "%s", name);
        for (char *p = alt; *p; p++)
            if (*p == ' ')
                *p = '_';
        if (strcasecmp (text, name) == 0 || strcasecmp (text, alt) == 0) {
            *disposition_p = d;
            return 0;
        }
    }
    return -1;
}

static bool
s_keep (const filter_t *filter, const cm_cdr_t *cdr)
{
    int64_t start = cm_cdr_start_time (cdr);
    return (!filter->from || start >= filter->from)
           && (!filter->to || start < filter->to)
           && (!filter->src || streq (filter->src, cm_cdr_src (cdr)))
           && (!filter->dst || streq (filter->dst, cm_cdr_dst (cdr)))
           && (filter->disposition < 0
               || (int) cm_cdr_disposition (cdr) == filter->disposition);
}

static void
s_emit (run_t *run, cm_cdr_t **cdr_p)
{
    if (s_keep (&run->filter, *cdr_p)) {
        char *row = cm_cdr_csv_encode (*cdr_p);
        fprintf (run->out, "%s\n", row);
        free (row);
        run->rows++;
    }
    cm_cdr_destroy (cdr_p);
}

static void
s_bad (run_t *run, const char *name, size_t line, const char *reason)
{
    fprintf (stderr, "%s:%zu: %s\n", name, line, reason);
    run->errors++;
}

static bool
s_has_suffix (const char *name, const char *suffix)
{
    size_t n = strlen (name), s = strlen (suffix);
    return n >= s && strcasecmp (name + n - s, suffix) == 0;
}

//  Journal segment: "C <json>" lines are CDRs; "A <id>" lines are acks.
static void
s_read_journal (run_t *run, const char *name, FILE *file)
{
    char *line = NULL;
    size_t size = 0, lineno = 0;
    ssize_t len;
    while ((len = getline (&line, &size, file)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') {
            s_bad (run, name, lineno, "incomplete last line (torn write)");
            break;
        }
        line[len - 1] = '\0';
        if (line[0] == 'A' && line[1] == ' ')
            continue;
        if (line[0] != 'C' || line[1] != ' ') {
            s_bad (run, name, lineno, "not a journal line (C or A)");
            continue;
        }
        char error[256];
        cm_cdr_t *cdr = cm_cdr_decode_json (line + 2, error, sizeof error);
        if (cdr)
            s_emit (run, &cdr);
        else
            s_bad (run, name, lineno, error);
    }
    free (line);
}

//  CSV: a record may span lines when a quoted field holds a newline;
//  physical lines are joined until the quotes balance.
static void
s_read_csv (run_t *run, const char *name, FILE *file)
{
    char *line = NULL, *record = NULL;
    size_t size = 0, lineno = 0, first_line = 0, rec_len = 0;
    ssize_t len;
    bool first_record = true;
    while ((len = getline (&line, &size, file)) > 0) {
        lineno++;
        if (rec_len == 0)
            first_line = lineno;
        //  Allocation failure aborts (STYLE §4).
        char *grown = (char *) realloc (record, rec_len + (size_t) len + 1);
        assert (grown);
        record = grown;
        memcpy (record + rec_len, line, (size_t) len + 1);
        rec_len += (size_t) len;
        if (!cm_cdr_csv_complete (record))
            continue;
        bool blank = strspn (record, "\r\n") == rec_len;
        if (cm_cdr_csv_is_header (record))
            ;   //  header rows (any file, any place) are skipped
        else if (first_record && strncmp (record, "uniqueid,", 9) == 0)
            s_bad (run, name, first_line,
                   "header does not match the sipserver CDR columns");
        else if (!blank) {
            char error[256];
            cm_cdr_t *cdr = cm_cdr_csv_decode (record, error, sizeof error);
            if (cdr)
                s_emit (run, &cdr);
            else
                s_bad (run, name, first_line, error);
        }
        if (!blank)
            first_record = false;
        rec_len = 0;
    }
    if (rec_len > 0)
        s_bad (run, name, first_line,
               "unterminated quoted field at end of file");
    free (record);
    free (line);
}

static void
s_read (run_t *run, const char *name)
{
    if (s_has_suffix (name, ".cdr")) {
        fprintf (stderr,
                 "minicdr: %s: the legacy binary .cdr format is not "
                 "supported yet\n",
                 name);
        run->errors++;
        return;
    }
    bool is_stdin = streq (name, "-");
    FILE *file = is_stdin ? stdin : fopen (name, "r");
    if (!file) {
        fprintf (stderr, "minicdr: %s: %s\n", name, strerror (errno));
        run->errors++;
        return;
    }
    if (s_has_suffix (name, ".journal"))
        s_read_journal (run, name, file);
    else
        s_read_csv (run, name, file);
    if (ferror (file)) {
        fprintf (stderr, "minicdr: %s: read error\n", name);
        run->errors++;
    }
    if (!is_stdin)
        fclose (file);
}

//  Parse the filter options; returns the index of the first operand, or
//  -1 on a usage error (reported).
static int
s_parse_options (int argc, char **argv, filter_t *filter)
{
    static const struct option options[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"src", required_argument, NULL, 's'},
        {"dst", required_argument, NULL, 'd'},
        {"disposition", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset (filter, 0, sizeof *filter);
    filter->disposition = -1;
    optind = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
            case 'f':
            case 't':
                if (s_parse_time (optarg, c == 'f' ? &filter->from
                                                   : &filter->to)
                    != 0) {
                    fprintf (stderr,
                             "minicdr: --%s %s: expected YYYY-MM-DD or "
                             "YYYY-MM-DDTHH:MM:SS[.mmm]Z\n",
                             c == 'f' ? "from" : "to", optarg);
                    return -1;
                }
                break;
            case 's':
                filter->src = optarg;
                break;
            case 'd':
                filter->dst = optarg;
                break;
            case 'p':
                if (s_parse_disposition (optarg, &filter->disposition)) {
                    fprintf (stderr,
                             "minicdr: --disposition %s: expected ANSWERED, "
                             "BUSY, NO ANSWER, CANCELLED or FAILED\n",
                             optarg);
                    return -1;
                }
                break;
            case 'h':
                s_usage (stdout);
                exit (0);
            default:
                s_usage (stderr);
                return -1;
        }
    }
    return optind;
}

static int
s_cat (int argc, char **argv, const filter_t *filter)
{
    if (argc < 1) {
        fprintf (stderr, "minicdr cat: no FILE given\n");
        return EXIT_USAGE;
    }
    run_t run = {*filter, stdout, 0, 0};
    printf ("%s\n", cm_cdr_csv_header ());
    for (int i = 0; i < argc; i++)
        s_read (&run, argv[i]);
    if (fflush (stdout) != 0) {
        fprintf (stderr, "minicdr: write error: %s\n", strerror (errno));
        return EXIT_BAD_ROWS;
    }
    return run.errors ? EXIT_BAD_ROWS : 0;
}

static int
s_convert (int argc, char **argv, const filter_t *filter)
{
    if (argc != 2) {
        fprintf (stderr, "minicdr convert: expected IN OUT.csv\n");
        return EXIT_USAGE;
    }
    const char *in = argv[0], *out = argv[1];
    if (s_has_suffix (in, ".cdr")) {
        fprintf (stderr,
                 "minicdr: %s: the legacy binary .cdr format is not "
                 "supported yet\n",
                 in);
        return EXIT_BAD_ROWS;
    }
    //  Write a temporary file and rename it, so OUT is never half written.
    char tmp[4096];
    snprintf (tmp, sizeof tmp, "%s.tmp", out);
    FILE *file = fopen (tmp, "w");
    if (!file) {
        fprintf (stderr, "minicdr: %s: %s\n", tmp, strerror (errno));
        return EXIT_BAD_ROWS;
    }
    run_t run = {*filter, file, 0, 0};
    fprintf (file, "%s\n", cm_cdr_csv_header ());
    s_read (&run, in);
    if (fclose (file) != 0 || rename (tmp, out) != 0) {
        fprintf (stderr, "minicdr: %s: %s\n", out, strerror (errno));
        remove (tmp);
        return EXIT_BAD_ROWS;
    }
    fprintf (stderr, "minicdr: %zu CDR(s) written to %s\n", run.rows, out);
    return run.errors ? EXIT_BAD_ROWS : 0;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && streq (argv[1], "--version")) {
        printf ("minicdr %s\n", SIPSERVER_VERSION);
        return 0;
    }
    if (argc > 1 && streq (argv[1], "--help")) {
        s_usage (stdout);
        return 0;
    }
    if (argc < 2 || (!streq (argv[1], "cat") && !streq (argv[1], "convert"))) {
        s_usage (stderr);
        return EXIT_USAGE;
    }
    filter_t filter;
    int first = s_parse_options (argc - 1, argv + 1, &filter);
    if (first < 0)
        return EXIT_USAGE;
    char **operands = argv + 1 + first;
    int count = argc - 1 - first;
    return streq (argv[1], "cat") ? s_cat (count, operands, &filter)
                                  : s_convert (count, operands, &filter);
}

//  cdrd_csv — the daily CSV files data_dir/cdr/YYYYMMDD.csv (DESIGN §5).
//
//  One file per UTC day of the call's start_time, a header row first
//  (cm_cdr_csv_header), one RFC 4180 record per CDR, LF line ends, UTF-8.
//  Rows are appended through stdio buffers; cdrd_csv_flush writes them out
//  and fdatasyncs each file touched, after which they are durable. When a
//  file is opened and does not end with a newline (a write cut short by a
//  crash), the partial last line is removed first.

#ifndef CDRD_CSV_H_INCLUDED
#define CDRD_CSV_H_INCLUDED

#include "cm_cdr.h"

#include <czmq.h>

#include <stdbool.h>

typedef struct _cdrd_csv_t cdrd_csv_t;

//  Write day files into dir (created if needed). Returns NULL when dir
//  cannot be created. Caller owns return value and must destroy it.
cdrd_csv_t *
    cdrd_csv_new (const char *dir);

//  Flush and close all files. NULL-safe; sets *self_p to NULL.
void
    cdrd_csv_destroy (cdrd_csv_t **self_p);

//  Day file name for a time: "<dir>/YYYYMMDD.csv" into buf. Returns buf.
char *
    cdrd_csv_path (cdrd_csv_t *self, int64_t start_time, char *buf,
                   size_t size);

//  Append the CDR's row to its day file (buffered). Returns 0 or -1.
int
    cdrd_csv_append (cdrd_csv_t *self, const cm_cdr_t *cdr);

//  Write out and fdatasync every file appended to since the last flush;
//  files of other days than the newest are closed. Returns 0 or -1.
int
    cdrd_csv_flush (cdrd_csv_t *self);

//  Whether the CDR's day file holds a row with its uniqueid (used after a
//  crash). Returns 1, 0, or -1 when the file cannot be read.
int
    cdrd_csv_contains (cdrd_csv_t *self, const cm_cdr_t *cdr);

//  The uniqueids in the day file of start_time, as a set (keys; values
//  unused); empty when the file does not exist, NULL when it cannot be
//  read. Caller owns return value and must destroy it.
zhashx_t *
    cdrd_csv_ids (cdrd_csv_t *self, int64_t start_time);

#endif
